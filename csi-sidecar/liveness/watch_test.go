package liveness

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
)

// countVerb counts the actions of a verb.
func countVerb(actions []clienttesting.Action, verb string) int {
	n := 0
	for _, a := range actions {
		if a.GetVerb() == verb {
			n++
		}
	}
	return n
}

// TestWatchingObserverSeesSilenceFromTheLastRenewal checks that a watching
// observer knows a peer silent from its last renewal on, before anyone
// asks, reads no Lease from the API server to judge it while its watch
// brings this node's own renewals, and reads it once when the watch stops
// bringing them.
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
	// ran out: it may have stalled in between, so that only a read from
	// the API server proves the silence, and a read that fails proves
	// nothing.
	renewing.Store(false)
	<-renewed
	if _, err := leases.Update(ctx, leaseOf("node-a", "node-a", time.Now(), 1), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1200 * time.Millisecond)
	var failReads atomic.Bool
	failReads.Store(true)
	client.PrependReactor("get", "leases", func(clienttesting.Action) (bool, runtime.Object, error) {
		if failReads.Load() {
			return true, nil, errors.New("connection timed out")
		}
		return false, nil, nil
	})
	if v, err := o.Check(ctx, "node-a", time.Now()); v.Silent || err == nil {
		t.Errorf("silence counted without a renewal of this node after it nor a read of the Lease: %+v, %v", v, err)
	}
	failReads.Store(false)
	client.ClearActions()
	if v, err := o.Check(ctx, "node-a", time.Now()); !v.Silent || err != nil {
		t.Errorf("the API server shows the peer's Lease unrenewed past its duration: %+v, %v", v, err)
	}
	if v, err := o.Check(ctx, "node-a", time.Now()); !v.Silent || err != nil {
		t.Errorf("a silence already read no longer counts: %+v, %v", v, err)
	}
	if got := countVerb(client.Actions(), "get"); got != 1 {
		t.Errorf("%d reads of the Lease for two checks of one silence, want 1", got)
	}
	// A read counts for the Lease's duration (1 s here): a watch that
	// still brings nothing after that cannot keep the peer silent on an
	// old read.
	if v, err := o.Check(ctx, "node-a", time.Now().Add(2*time.Second)); !v.Silent || err != nil {
		t.Errorf("the peer's Lease read again, still unrenewed: %+v, %v", v, err)
	}
	if got := countVerb(client.Actions(), "get"); got != 2 {
		t.Errorf("%d reads of the Lease once the first one expired, want 2", got)
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
