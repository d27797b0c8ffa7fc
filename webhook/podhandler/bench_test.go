package podhandler

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/linstor-ha/linstor-ha/pkg/metadata"
)

// BenchmarkHandle1000Claims handles pod admissions with 1,000 claims and
// volumes in the reader, and reports the p50 and p99 of one request.
func BenchmarkHandle1000Claims(b *testing.B) {
	const claims = 1000
	objs := clusterObjects()
	drbd := "drbd"
	for i := range claims {
		objs = append(objs,
			&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: fmt.Sprintf("data-%d", i)},
				Spec: corev1.PersistentVolumeClaimSpec{VolumeName: fmt.Sprintf("pv-%d", i), StorageClassName: &drbd}},
			&corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("pv-%d", i)}, Spec: corev1.PersistentVolumeSpec{
				PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: metadata.DriverName, VolumeHandle: "r1"}}}})
	}
	h := newHandler(fake.NewClientBuilder().WithObjects(objs...).Build())
	reqs := make([]admission.Request, 100)
	for i := range reqs {
		reqs[i] = request(b, podWith("app", claim(fmt.Sprintf("data-%d", i*10))), admissionv1.Create)
	}
	ctx := context.Background()
	var durations []time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		began := time.Now()
		resp := h.Handle(ctx, reqs[i%len(reqs)])
		durations = append(durations, time.Since(began))
		if len(resp.Patches) == 0 {
			b.Fatal("not mutated")
		}
		i++
	}
	b.StopTimer()
	slices.Sort(durations)
	b.ReportMetric(float64(durations[len(durations)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(durations[len(durations)*99/100].Microseconds()), "p99-µs")
}
