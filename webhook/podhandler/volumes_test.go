package podhandler

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/linstor-ha/linstor-ha/pkg/podvolumes"
)

// annDefaultClass is the annotation the handler's tests mark default
// classes with.
const annDefaultClass = podvolumes.AnnotationDefaultClass

// TestLookupVolumes covers what the handler's table does not: the
// resources collected and the missing objects the reader reports.
func TestLookupVolumes(t *testing.T) {
	objs := clusterObjects()
	objs = append(objs,
		&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "static"}, Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "pv-r1", StorageClassName: ptr.To("")}},
		&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "no-class"}, Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: ptr.To("")}},
		&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "lost-pv"}, Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "pv-gone"}},
		&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "lost-class"}, Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: ptr.To("gone")}},
	)
	c := fake.NewClientBuilder().WithObjects(objs...).Build()
	for _, tc := range []struct {
		name     string
		vols     []corev1.Volume
		wantUses bool
		wantRes  []string
		notFound bool
	}{
		{name: "bound and unbound", vols: []corev1.Volume{claim("bound"), claim("unbound")}, wantUses: true, wantRes: []string{"r1"}},
		{name: `"" class bound to our PV`, vols: []corev1.Volume{claim("static")}, wantUses: true, wantRes: []string{"r1"}},
		{name: `"" class unbound, our class is the default`, vols: []corev1.Volume{claim("no-class")}},
		{name: "missing PV", vols: []corev1.Volume{claim("lost-pv")}, notFound: true},
		{name: "missing class", vols: []corev1.Volume{claim("lost-class")}, notFound: true},
		{name: "missing class of an ephemeral volume", vols: []corev1.Volume{ephemeral("gone")}, notFound: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := lookupVolumes(context.Background(), c, podWith("app", tc.vols...))
			if tc.notFound {
				if !apierrors.IsNotFound(err) {
					t.Fatalf("error %v, want a NotFound", err)
				}
				return
			}
			if err != nil || got.uses != tc.wantUses || len(got.resources) != len(tc.wantRes) ||
				(len(tc.wantRes) > 0 && got.resources[0] != tc.wantRes[0]) {
				t.Errorf("got %+v, %v; want uses %v, resources %v", got, err, tc.wantUses, tc.wantRes)
			}
		})
	}
}
