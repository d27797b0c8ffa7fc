package conflict

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/linstor-ha/linstor-ha/pkg/metadata"
)

func labelled(ns, name string, labels map[string]string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: corev1.PodSpec{NodeName: "node-a"}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
}

// TestWatcherFollowsTheOtherActorsPods checks that the watcher sees the
// selected pods in any namespace and no other pod, tells of every change,
// and lets go of a pod once it terminated or is deleted.
func TestWatcherFollowsTheOtherActorsPods(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ha := map[string]string{"app.kubernetes.io/component": "ha-controller", "app.kubernetes.io/name": "piraeus-datastore"}
	client := fake.NewClientset(
		labelled("storage", "ha-controller-x", ha),
		labelled("storage", "linstor-csi-node-x", map[string]string{"app.kubernetes.io/component": "linstor-csi-node"}),
	)
	var changes atomic.Int32
	w, err := New(client, metadata.PiraeusHAControllerSelector, func() { changes.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	w.Start(ctx)
	waitUntil(t, "the watch to sync", w.Synced)
	want := []types.NamespacedName{{Namespace: "storage", Name: "ha-controller-x"}}
	if got := w.Pods(); !slices.Equal(got, want) {
		t.Fatalf("Pods = %v, want %v", got, want)
	}
	if w.Selector() != metadata.PiraeusHAControllerSelector {
		t.Errorf("Selector = %q", w.Selector())
	}

	pods := client.CoreV1().Pods("elsewhere")
	before := changes.Load()
	if _, err := pods.Create(ctx, labelled("elsewhere", "ha-controller-y", ha), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Create(ctx, labelled("elsewhere", "web", map[string]string{"app": "web"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the new pod", func() bool { return len(w.Pods()) == 2 })
	if changes.Load() == before {
		t.Error("no change told for a new pod of the other actor")
	}
	// Only the selected pods count, whatever the cache was sent.
	waitUntil(t, "both pods in the cache", func() bool { return len(w.informer.GetStore().List()) >= 3 })
	if got := w.Pods(); len(got) != 2 {
		t.Errorf("Pods = %v, want the two HA controller pods only", got)
	}

	done := labelled("elsewhere", "ha-controller-y", ha)
	done.Status.Phase = corev1.PodSucceeded
	if _, err := pods.UpdateStatus(ctx, done, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the terminated pod to stop counting", func() bool { return slices.Equal(w.Pods(), want) })
	if err := client.CoreV1().Pods("storage").Delete(ctx, "ha-controller-x", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "no pod left", func() bool { return len(w.Pods()) == 0 })
}

func TestWatcherOff(t *testing.T) {
	w, err := New(fake.NewClientset(labelled("storage", "ha-controller-x", map[string]string{"app.kubernetes.io/component": "ha-controller"})), "", func() {})
	if err != nil || w != nil {
		t.Fatalf("New with an empty selector = %v, %v; want nil, nil", w, err)
	}
	w.Start(context.Background())
	if !w.Synced() || w.Pods() != nil || w.Selector() != "" {
		t.Errorf("a watcher that is off: synced %v, pods %v, selector %q; want synced, none, empty", w.Synced(), w.Pods(), w.Selector())
	}
	if _, err := New(fake.NewClientset(), "app in (", func() {}); err == nil {
		t.Error("New accepted a selector that does not parse")
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
