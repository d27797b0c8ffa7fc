package podhandler

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/linstor-ha/linstor-ha/pkg/metadata"
)

// BenchmarkServeStatefulSetPod sends the AdmissionReview the API server
// sent for a StatefulSet pod through controller-runtime's webhook and this
// handler, as the webhook server does: decoding, the lookups, the patch and
// the response's encoding. It is the webhook's CPU cost per pod creation.
func BenchmarkServeStatefulSetPod(b *testing.B) {
	body, err := os.ReadFile("testdata/statefulset-pod-review.json")
	if err != nil {
		b.Fatal(err)
	}
	drbd := "drbd"
	objs := append(clusterObjects(),
		&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "data-db-0"},
			Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "pv-db-0", StorageClassName: &drbd}},
		&corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-db-0"}, Spec: corev1.PersistentVolumeSpec{
			PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: metadata.DriverName, VolumeHandle: "r1"}}}})
	wh := &admission.Webhook{Handler: newHandler(fake.NewClientBuilder().WithObjects(objs...).Build())}
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/mutate-v1-pod", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		wh.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !bytes.Contains(rec.Body.Bytes(), []byte(`"patch"`)) {
			b.Fatalf("not mutated: %d %s", rec.Code, rec.Body)
		}
	}
}
