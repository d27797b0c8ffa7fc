package failover

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
)

// TestReleaseVolumesOutlastsOtherSurvivors checks that releasing a lost
// node's volumes survives the write conflicts of other survivors
// releasing theirs at the same time, more than client-go's default
// retries would.
func TestReleaseVolumesOutlastsOtherSurvivors(t *testing.T) {
	client := fake.NewClientset(testNode(lost, false, "r0", "r1"))
	conflicts := 0
	client.PrependReactor("update", "nodes", func(a clienttesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "status" || conflicts >= 6 {
			return false, nil, nil
		}
		conflicts++
		return true, nil, apierrors.NewConflict(schema.GroupResource{Resource: "nodes"}, lost, nil)
	})
	e := &Executor{Client: client}
	if err := e.ReleaseVolumes(context.Background(), lost, []string{"r0"}); err != nil {
		t.Fatalf("release after %d conflicts: %v", conflicts, err)
	}
	n, err := client.CoreV1().Nodes().Get(context.Background(), lost, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []corev1.UniqueVolumeName{corev1.UniqueVolumeName(UniqueVolumeName("r1"))}; len(n.Status.VolumesInUse) != 1 || n.Status.VolumesInUse[0] != want[0] {
		t.Errorf("volumes in use %v, want only %v", n.Status.VolumesInUse, want)
	}
}

func TestDemoteWithoutDrbdsetupFails(t *testing.T) {
	e := &Executor{Client: fake.NewClientset()}
	if err := e.Do(context.Background(), Action{Kind: Demote, Resource: "r0"}); err == nil {
		t.Error("a demotion without drbdsetup succeeded")
	}
	var got string
	e.ForceSecondary = func(_ context.Context, r string) error { got = r; return nil }
	if err := e.Do(context.Background(), Action{Kind: Demote, Resource: "r0"}); err != nil || got != "r0" {
		t.Errorf("demote = %v, forced %q", err, got)
	}
	if err := e.Do(context.Background(), Action{Kind: "Bogus"}); err == nil {
		t.Error("an unknown action succeeded")
	}
}
