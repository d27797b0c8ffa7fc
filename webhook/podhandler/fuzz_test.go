package podhandler

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// FuzzAdmissionReview sends arbitrary bodies through the webhook's HTTP
// handling and the pod handler. Nothing panics; no pod is ever refused,
// only requests that do not decode (code 400); and a patch, applied to the
// pod that came in, gives a pod that a second admission leaves alone.
func FuzzAdmissionReview(f *testing.F) {
	seed := func(pod *corev1.Pod, kind string) []byte {
		raw, _ := json.Marshal(pod)
		review := admissionv1.AdmissionReview{
			TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
			Request: &admissionv1.AdmissionRequest{UID: "u", Kind: metav1.GroupVersionKind{Version: "v1", Kind: kind},
				Namespace: pod.Namespace, Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: raw}},
		}
		out, _ := json.Marshal(review)
		return out
	}
	f.Add(seed(podWith("app", claim("bound")), "Pod"))
	f.Add(seed(podWith("app", claim("unbound"), ephemeral("drbd")), "Pod"))
	f.Add(seed(podWith("quiet", claim("bound")), "Pod"))
	f.Add(seed(podWith("app", claim("bound")), "Deployment"))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","object":{"spec":{"volumes":[{"persistentVolumeClaim":{}}]}}}}`))
	f.Add([]byte(`{"request":null}`))
	f.Add([]byte(`not json`))
	reader := fake.NewClientBuilder().WithObjects(clusterObjects()...).Build()
	wh := &admission.Webhook{Handler: newHandler(reader)}
	f.Fuzz(func(t *testing.T, body []byte) {
		resp := post(t, wh, body)
		if resp.Response == nil {
			return
		}
		r := resp.Response
		if !r.Allowed && (r.Result == nil || r.Result.Code != http.StatusBadRequest) {
			t.Fatalf("refused with %+v: only undecodable requests may be refused", r.Result)
		}
		if len(r.Patch) == 0 {
			return
		}
		var review admissionv1.AdmissionReview
		if err := json.Unmarshal(body, &review); err != nil || review.Request == nil {
			t.Fatalf("a patch for a request that does not decode")
		}
		patch, err := jsonpatch.DecodePatch(r.Patch)
		if err != nil {
			t.Fatalf("patch does not decode: %v", err)
		}
		mutated, err := patch.Apply(review.Request.Object.Raw)
		if err != nil {
			t.Fatalf("patch does not apply to the pod that came in: %v", err)
		}
		review.Request.Object.Raw = mutated
		again, err := json.Marshal(review)
		if err != nil {
			t.Fatal(err)
		}
		if second := post(t, wh, again); second.Response == nil || len(second.Response.Patch) != 0 {
			t.Fatalf("a second admission of the mutated pod changed it again: %s", second.Response.Patch)
		}
	})
}

// post sends body to the webhook and decodes its answer, which must be an
// AdmissionReview whatever the body was.
func post(t *testing.T, wh http.Handler, body []byte) admissionv1.AdmissionReview {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/mutate-v1-pod", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	wh.ServeHTTP(rec, req)
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("answer (HTTP %d) is not an AdmissionReview: %v: %q", rec.Code, err, rec.Body.String())
	}
	return out
}
