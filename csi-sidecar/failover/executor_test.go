package failover

import (
	"context"
	"net/http"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
)

// TestReleaseVolumesWritesWithoutReading checks that survivors release
// the volumes of one lost node each with one patch and no read, and that
// each removes only its own volumes: two of them releasing at once never
// conflict.
func TestReleaseVolumesWritesWithoutReading(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset(testNode(lost, false, "r0", "r1", "r2"))
	e := &Executor{Client: client}
	for _, handles := range [][]string{{"r0"}, {"r2", "gone"}} {
		if err := e.ReleaseVolumes(ctx, lost, handles); err != nil {
			t.Fatalf("release %v: %v", handles, err)
		}
	}
	for _, a := range client.Actions() {
		if a.GetVerb() != "patch" || a.GetSubresource() != "status" {
			t.Errorf("release made %s %s/%s, want only status patches", a.GetVerb(), a.GetResource().Resource, a.GetSubresource())
		}
	}
	if n := len(client.Actions()); n != 2 {
		t.Errorf("%d calls for two releases, want 2", n)
	}
	n, err := client.CoreV1().Nodes().Get(ctx, lost, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []corev1.UniqueVolumeName{corev1.UniqueVolumeName(UniqueVolumeName("r1"))}; !slices.Equal(n.Status.VolumesInUse, want) {
		t.Errorf("volumes in use %v, want only %v", n.Status.VolumesInUse, want)
	}
	if err := e.ReleaseVolumes(ctx, "deleted-node", []string{"r0"}); err != nil {
		t.Errorf("releasing the volumes of a deleted node: %v", err)
	}
}

// TestSetTaintKeepsATaintAddedSinceTheCacheWasFilled checks that a taint
// written from a cached node that is behind does not drop a taint
// another controller added meanwhile: the patch's test fails, and the
// taints are read again.
func TestSetTaintKeepsATaintAddedSinceTheCacheWasFilled(t *testing.T) {
	ctx := context.Background()
	stale := testNode(lost, false)
	current := stale.DeepCopy()
	current.Spec.Taints = []corev1.Taint{{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoSchedule}}
	client := fake.NewClientset(current)
	failed := false
	client.PrependReactor("patch", "nodes", func(clienttesting.Action) (bool, runtime.Object, error) {
		if failed {
			return false, nil, nil
		}
		// What the API server answers to a JSON patch whose test fails.
		failed = true
		return true, nil, apierrors.NewGenericServerResponse(http.StatusUnprocessableEntity, "", schema.GroupResource{}, "", "testing value /spec/taints failed", 0, false)
	})
	e := &Executor{Client: client, Nodes: func(string) *corev1.Node { return stale }}
	if err := e.Do(ctx, Action{Kind: TaintNode, Node: lost, Taint: "example.com/lost"}); err != nil {
		t.Fatal(err)
	}
	n, err := client.CoreV1().Nodes().Get(ctx, lost, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Spec.Taints) != 2 || n.Spec.Taints[0].Key != corev1.TaintNodeUnreachable || n.Spec.Taints[1].Key != "example.com/lost" {
		t.Errorf("taints %v, want the unreachable taint and ours", n.Spec.Taints)
	}
	if stale.Spec.Taints != nil {
		t.Error("the cached node was changed")
	}
	// Gone again, from a cache that is current: one patch, no read.
	client.ClearActions()
	e.Nodes = func(string) *corev1.Node { return n }
	if err := e.Do(ctx, Action{Kind: UntaintNode, Node: lost, Taint: "example.com/lost"}); err != nil {
		t.Fatal(err)
	}
	if got := mutations(client.Actions()); len(client.Actions()) != 1 || !slices.Equal(got, []string{"patch nodes " + lost}) {
		t.Errorf("untaint made %q in %d calls, want one patch", got, len(client.Actions()))
	}
	if n, _ = client.CoreV1().Nodes().Get(ctx, lost, metav1.GetOptions{}); len(n.Spec.Taints) != 1 {
		t.Errorf("taints %v after the untaint, want the unreachable taint", n.Spec.Taints)
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
