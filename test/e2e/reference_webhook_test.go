package e2e

import (
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"

	admissionv1 "k8s.io/api/admission/v1"
)

// allowAllWebhook answers every admission with "allowed" and nothing else:
// the least any webhook does, for comparing the cost of calling one.
type allowAllWebhook struct {
	URL    string
	server *http.Server
}

// startAllowAllWebhook serves on loopback with the certificate in certDir,
// over HTTP/1.1 like linstor-ha's webhook.
func startAllowAllWebhook(certDir string) (*allowAllWebhook, error) {
	cert, err := tls.LoadX509KeyPair(filepath.Join(certDir, "tls.crt"), filepath.Join(certDir, "tls.key"))
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	server := &http.Server{
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}},
		Handler:   http.HandlerFunc(allowAll),
	}
	go func() { _ = server.ServeTLS(ln, "", "") }()
	return &allowAllWebhook{URL: "https://" + ln.Addr().String() + "/", server: server}, nil
}

func (w *allowAllWebhook) Close() { _ = w.server.Close() }

func allowAll(w http.ResponseWriter, r *http.Request) {
	var review admissionv1.AdmissionReview
	if err := json.NewDecoder(r.Body).Decode(&review); err != nil || review.Request == nil {
		http.Error(w, "not an admission review", http.StatusBadRequest)
		return
	}
	review.Response = &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: true}
	review.Request = nil
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(&review)
}
