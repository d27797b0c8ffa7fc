package podhandler

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	kjson "sigs.k8s.io/json"

	"github.com/linstor-ha/linstor-ha/webhook/mutation"
)

// TestDecodePodMatchesFullDecode checks, on a pod as the API server sends
// it, that the partial decode yields every member the mutation reads or
// writes exactly as decoding the whole pod does.
func TestDecodePodMatchesFullDecode(t *testing.T) {
	body, err := os.ReadFile("testdata/statefulset-pod-review.json")
	if err != nil {
		t.Fatal(err)
	}
	var review admissionv1.AdmissionReview
	if err := kjson.UnmarshalCaseSensitivePreserveInts(body, &review); err != nil {
		t.Fatal(err)
	}
	raw := review.Request.Object.Raw
	var full corev1.Pod
	if err := kjson.UnmarshalCaseSensitivePreserveInts(raw, &full); err != nil {
		t.Fatal(err)
	}
	got, in, err := decodePod(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := &corev1.Pod{Spec: corev1.PodSpec{
		Volumes: full.Spec.Volumes, SchedulerName: full.Spec.SchedulerName, Tolerations: full.Spec.Tolerations,
		Affinity: full.Spec.Affinity, TopologySpreadConstraints: full.Spec.TopologySpreadConstraints,
	}}
	want.Name, want.GenerateName, want.Namespace = full.Name, full.GenerateName, full.Namespace
	want.Labels, want.Annotations, want.OwnerReferences = full.Labels, full.Annotations, full.OwnerReferences
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("partial decode differs from the full one (-want +got):\n%s", diff)
	}
	if len(got.Spec.Volumes) != 2 || len(got.Spec.Tolerations) != 2 || len(got.OwnerReferences) != 1 {
		t.Errorf("test pod lost members: %d volumes, %d tolerations, %d owners", len(got.Spec.Volumes), len(got.Spec.Tolerations), len(got.OwnerReferences))
	}
	if in != (mutation.Incoming{HadMetadata: true}) {
		t.Errorf("incoming = %+v, want metadata without annotations", in)
	}
}

func TestDecodePod(t *testing.T) {
	for _, tc := range []struct {
		name    string
		raw     string
		want    mutation.Incoming
		wantErr bool
	}{
		{name: "no metadata", raw: `{"spec":{}}`},
		{name: "null metadata", raw: `{"metadata":null}`},
		{name: "empty metadata", raw: `{"metadata":{}}`, want: mutation.Incoming{HadMetadata: true}},
		{name: "empty annotations", raw: `{"metadata":{"annotations":{}}}`, want: mutation.Incoming{HadMetadata: true}},
		{name: "annotations", raw: `{"metadata":{"annotations":{"a":"b"}}}`, want: mutation.Incoming{HadMetadata: true, HadAnnotations: true}},
		// Case-sensitive, as the API server: this is not the metadata.
		{name: "capitalized metadata", raw: `{"Metadata":{"annotations":{"a":"b"}}}`},
		// Members the handler does not read are skipped, not checked.
		{name: "odd containers", raw: `{"spec":{"containers":5}}`},
		{name: "volumes not a list", raw: `{"spec":{"volumes":"x"}}`, wantErr: true},
		{name: "labels not a map", raw: `{"metadata":{"labels":[]}}`, wantErr: true},
		{name: "not JSON", raw: `{"spec":`, wantErr: true},
		{name: "empty", raw: ``, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, in, err := decodePod([]byte(tc.raw))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if in != tc.want {
				t.Errorf("incoming = %+v, want %+v", in, tc.want)
			}
		})
	}
}
