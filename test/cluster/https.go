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

func httpsOK(url string) error {
	resp, err := insecureHealth.Get(url)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return nil
}
