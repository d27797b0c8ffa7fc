package liveness

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// TestWatchingObserverSeesSilenceFromTheLastRenewal checks that a watching
// observer knows a peer silent from its last renewal on, before anyone
// asks, reads no Lease from the API server to judge it, and proves nothing
// while its watch stops bringing this node's own renewals.
func TestWatchingObserverSeesSilenceFromTheLastRenewal(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	client := fake.NewClientset(leaseOf("node-a", "node-a", start, 1), leaseOf("node-b", "node-b", start, 1))
	leases := client.CoordinationV1().Leases(ns)
	o := NewWatchingObserver(leases, client, ns, "node-b")
	o.Start(ctx)
	for !o.informer.HasSynced() {
		time.Sleep(time.Millisecond)
	}
	var renewing atomic.Bool
	renewing.Store(true)
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		for renewing.Load() {
			l := leaseOf("node-b", "node-b", time.Now(), 1)
			if _, err := leases.Update(ctx, l, metav1.UpdateOptions{}); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()

	time.Sleep(1300 * time.Millisecond)
	now := time.Now()
	v, err := o.Check(ctx, "node-a", now)
	if err != nil || !v.Silent {
		t.Fatalf("a peer unrenewed for longer than its Lease: %+v, %v", v, err)
	}
	if v.SilentSince.Before(start) || !v.SilentSince.Before(now) {
		t.Errorf("silent since %v, want between the start %v and now %v", v.SilentSince, start, now)
	}
	if v, _ := o.Check(ctx, "node-b", now); v.Silent {
		t.Error("a Lease renewed every 50 ms counts as silent")
	}
	for _, a := range client.Actions() {
		if a.GetVerb() == "get" {
			t.Errorf("a watching observer read a Lease from the API server: %v", a)
		}
	}

	// The watch brings no renewal of this node after the peer's last one
	// ran out: it may have stalled in between, so that silence proves
	// nothing.
	renewing.Store(false)
	<-renewed
	if _, err := leases.Update(ctx, leaseOf("node-a", "node-a", time.Now(), 1), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1200 * time.Millisecond)
	if v, _ := o.Check(ctx, "node-a", time.Now()); v.Silent {
		t.Errorf("silence counted without a renewal of this node after it: %+v", v)
	}

	// Retain keeps what was watched: the history before a loss is the
	// point of watching.
	o.Retain(func(string) bool { return false })
	if _, err := leases.Update(ctx, leaseOf("node-b", "node-b", time.Now(), 1), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if v, _ := o.Check(ctx, "node-a", time.Now()); v.Silent {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("silence not seen again once the watch brought this node's renewal")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
