package e2e

import (
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/linstor-ha/linstor-ha/pkg/metadata"
	"github.com/linstor-ha/linstor-ha/webhook/mutation"
)

// referenceWebhook does the least a webhook can: on /allow it answers
// "allowed", on /patch it answers with a patch fixed in advance. Against
// it, the pod-creation benchmark tells what calling any webhook, and
// applying a patch, costs the API server.
type referenceWebhook struct {
	AllowURL, PatchURL string
	patch              []byte
	server             *http.Server
}

// startReferenceWebhook serves on loopback with the certificate in
// certDir, over HTTP/1.1 like linstor-ha's webhook.
func startReferenceWebhook(certDir string, patch []byte) (*referenceWebhook, error) {
	cert, err := tls.LoadX509KeyPair(filepath.Join(certDir, "tls.crt"), filepath.Join(certDir, "tls.key"))
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	w := &referenceWebhook{AllowURL: "https://" + ln.Addr().String() + "/allow", PatchURL: "https://" + ln.Addr().String() + "/patch", patch: patch}
	w.server = &http.Server{
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}},
		Handler:   w,
	}
	go func() { _ = w.server.ServeTLS(ln, "", "") }()
	return w, nil
}

func (w *referenceWebhook) Close() { _ = w.server.Close() }

func (w *referenceWebhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	var review admissionv1.AdmissionReview
	if err := json.NewDecoder(r.Body).Decode(&review); err != nil || review.Request == nil {
		http.Error(rw, "not an admission review", http.StatusBadRequest)
		return
	}
	resp := &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: true}
	if r.URL.Path == "/patch" {
		resp.PatchType = ptr.To(admissionv1.PatchTypeJSONPatch)
		resp.Patch = w.patch
	}
	review.Response, review.Request = resp, nil
	rw.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(rw).Encode(&review)
}

// claimPodPatch is the patch linstor-ha's webhook, as the test cluster
// configures it, gives a claimPod once the API server's own admission added
// its default tolerations: our scheduler, 30 s tolerations, the annotation.
func claimPodPatch() ([]byte, error) {
	pod := claimPod("app", "p", "data", "")
	pod.Spec.SchedulerName = corev1.DefaultSchedulerName
	for _, key := range []string{corev1.TaintNodeNotReady, corev1.TaintNodeUnreachable} {
		pod.Spec.Tolerations = append(pod.Spec.Tolerations, corev1.Toleration{
			Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)})
	}
	cfg := mutation.Config{SetScheduler: true, SchedulerName: metadata.SchedulerName, SetTolerations: true, TolerationSeconds: 30, SpreadZones: true, PreferDataZones: true}
	changes := mutation.Mutate(pod, mutation.Facts{}, &cfg)
	return json.Marshal(mutation.Patch(pod, changes, mutation.Incoming{HadMetadata: true}))
}
