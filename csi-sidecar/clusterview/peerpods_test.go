package clusterview

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// TestPodsOnWatchesAPeerOnce checks that the pods of a lost peer are
// listed directly until their watch has synced and then read from it
// however often a fail-over asks, that a
// deletion reaches the cache and the controller, and that the watch of a
// peer nobody asks for any more stops.
func TestPodsOnWatchesAPeerOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "db", Name: "pg-0", UID: "u"}, Spec: corev1.PodSpec{NodeName: "node-b"}}
	client := fake.NewClientset(pod)
	var changes atomic.Int32
	v, err := New(client, "node-a", func() { changes.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.PodsOn(ctx, "node-b"); err == nil {
		t.Fatal("PodsOn before Start succeeded")
	}
	v.Start(ctx)
	// The first call lists directly and starts the watch.
	if pods, err := v.PodsOn(ctx, "node-b"); err != nil || len(pods) != 1 {
		t.Fatalf("first PodsOn = %v (%v), want pg-0", pods, err)
	}
	for deadline := time.Now().Add(5 * time.Second); !v.peers.byNode["node-b"].informer.HasSynced(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("node-b's watch never synced")
		}
	}
	client.ClearActions()
	for i := 0; i < 20; i++ {
		pods, err := v.PodsOn(ctx, "node-b")
		if err != nil {
			t.Fatal(err)
		}
		if len(pods) != 1 || pods[0].Name != "pg-0" {
			t.Fatalf("PodsOn = %v, want pg-0", pods)
		}
	}
	for _, a := range client.Actions() {
		if a.GetVerb() == "list" && a.GetResource().Resource == "pods" {
			t.Errorf("a pod list (%v) while node-b's watch is synced", a)
		}
	}
	before := changes.Load()
	if err := client.CoreV1().Pods("db").Delete(ctx, "pg-0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		pods, err := v.PodsOn(ctx, "node-b")
		if err == nil && len(pods) == 0 && changes.Load() > before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the deletion PodsOn = %v (%v), %d changes", pods, err, changes.Load()-before)
		}
	}
	if got := v.peers.watched(); !slices.Equal(got, []string{"node-b"}) {
		t.Fatalf("watched %v, want node-b", got)
	}
	v.peers.sweep(time.Now().Add(peerPodsIdle - time.Second))
	if got := v.peers.watched(); len(got) != 1 {
		t.Errorf("a watch asked for a second short of the idle time was stopped")
	}
	v.peers.sweep(time.Now().Add(peerPodsIdle + time.Second))
	if got := v.peers.watched(); len(got) != 0 {
		t.Errorf("watched %v after the idle time, want none", got)
	}
}
