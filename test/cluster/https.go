package cluster

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"time"
)

// insecureHealth checks health endpoints of components that serve with
// self-signed certificates of their own; only the status code is read.
var insecureHealth = &http.Client{
	Timeout:   2 * time.Second,
	Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // health probe of a local test process
}

// httpsOK checks the health endpoint of a component serving TLS with its
// own certificate.
func httpsOK(url string) error { return healthy(insecureHealth, url) }

// healthy reports an error unless url answers 200.
func healthy(client *http.Client, url string) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return nil
}
