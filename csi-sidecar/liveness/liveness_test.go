package liveness

import (
	"context"
	"errors"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"
)

const ns = "piraeus-datastore"

func leaseOf(node, holder string, renew time.Time, seconds int32) *coordinationv1.Lease {
	return &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: LeaseName(node)},
		Spec: coordinationv1.LeaseSpec{
			HolderIdentity: ptr.To(holder), LeaseDurationSeconds: ptr.To(seconds),
			RenewTime: &metav1.MicroTime{Time: renew},
		},
	}
}

func TestObserverJudgesByItsOwnClock(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	// The peer's clock runs an hour behind: its renew times look ancient
	// to the observer, which must not call it silent for that.
	peerClock := t0.Add(-time.Hour)
	client := fake.NewClientset(leaseOf("node-b", "node-b", peerClock, 3))
	leases := client.CoordinationV1().Leases(ns)
	o := NewObserver(leases)

	check := func(now time.Time) Verdict {
		t.Helper()
		v, err := o.Check(ctx, "node-b", now)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := check(t0); v.Silent || !v.AliveUntil.Equal(t0.Add(3*time.Second)) {
		t.Fatalf("first sight: got %+v, want alive until t0+3s", v)
	}
	if v := check(t0.Add(2 * time.Second)); v.Silent || !v.AliveUntil.Equal(t0.Add(3*time.Second)) {
		t.Fatalf("unchanged within the duration: got %+v, want alive until t0+3s", v)
	}
	if _, err := leases.Update(ctx, leaseOf("node-b", "node-b", peerClock.Add(time.Second), 3), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if v := check(t0.Add(2500 * time.Millisecond)); v.Silent || !v.AliveUntil.Equal(t0.Add(5500*time.Millisecond)) {
		t.Fatalf("renewed: got %+v, want alive until t0+5.5s", v)
	}
	if v := check(t0.Add(5 * time.Second)); v.Silent {
		t.Fatalf("renewed 2.5s ago: got %+v, want alive", v)
	}
	if v := check(t0.Add(5500 * time.Millisecond)); !v.Silent {
		t.Fatalf("unchanged for the lease duration: got %+v, want silent", v)
	}
	o.Forget("node-b")
	if v := check(t0.Add(time.Minute)); v.Silent {
		t.Fatalf("after Forget the observation starts afresh: got %+v", v)
	}
}

func TestObserverProvesNothingWithoutAUsableLease(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	noDuration := leaseOf("node-c", "node-c", now, 3)
	noDuration.Spec.LeaseDurationSeconds = nil
	client := fake.NewClientset(
		leaseOf("node-b", "someone-else", now, 3),
		noDuration,
		leaseOf("node-d", "node-d", now, 0),
	)
	o := NewObserver(client.CoordinationV1().Leases(ns))
	for _, node := range []string{"node-a", "node-b", "node-c", "node-d"} {
		for _, at := range []time.Time{now, now.Add(time.Hour)} {
			v, err := o.Check(ctx, node, at)
			if err != nil || v != (Verdict{}) {
				t.Errorf("%s at %v: got %+v, %v; want a zero verdict", node, at.Sub(now), v, err)
			}
		}
	}
}

func TestObserverReturnsAPIErrors(t *testing.T) {
	client := fake.NewClientset(leaseOf("node-b", "node-b", time.Now(), 3))
	client.PrependReactor("get", "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("connection refused")
	})
	o := NewObserver(client.CoordinationV1().Leases(ns))
	if v, err := o.Check(context.Background(), "node-b", time.Now().Add(time.Hour)); err == nil || v.Silent {
		t.Fatalf("got %+v, %v; want an error and no verdict", v, err)
	}
}

func TestObserverRetainForgetsOthers(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	client := fake.NewClientset(leaseOf("node-b", "node-b", now, 3), leaseOf("node-c", "node-c", now, 3))
	o := NewObserver(client.CoordinationV1().Leases(ns))
	for _, n := range []string{"node-b", "node-c"} {
		if _, err := o.Check(ctx, n, now); err != nil {
			t.Fatal(err)
		}
	}
	o.Retain(func(n string) bool { return n == "node-b" })
	later := now.Add(10 * time.Second)
	if v, _ := o.Check(ctx, "node-b", later); !v.Silent {
		t.Errorf("node-b was kept: got %+v, want silent", v)
	}
	if v, _ := o.Check(ctx, "node-c", later); v.Silent {
		t.Errorf("node-c was forgotten: got %+v, want a fresh observation", v)
	}
}

func TestCheckNodeName(t *testing.T) {
	if err := CheckNodeName("node-a1"); err != nil {
		t.Error(err)
	}
	long := make([]byte, 250)
	for i := range long {
		long[i] = 'a'
	}
	if err := CheckNodeName(string(long)); err == nil {
		t.Error("a 261-character lease name was accepted")
	}
}

func TestRenewerCreatesThenRenews(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset()
	leases := client.CoordinationV1().Leases(ns)
	r := &Renewer{Leases: leases, Node: "node-a", Interval: time.Second, Duration: 2500 * time.Millisecond}
	if err := r.renew(ctx); err != nil {
		t.Fatal(err)
	}
	first, err := leases.Get(ctx, LeaseName("node-a"), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *first.Spec.HolderIdentity != "node-a" || *first.Spec.LeaseDurationSeconds != 3 || first.Spec.RenewTime == nil {
		t.Fatalf("created lease: %+v", first.Spec)
	}
	// Someone else changed the Lease (an operator, a restarted sidecar):
	// the renewer reads it again instead of giving up.
	other := first.DeepCopy()
	other.Spec.HolderIdentity = ptr.To("intruder")
	if _, err := leases.Update(ctx, other, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	r.last.ResourceVersion = "0"
	client.PrependReactor("update", "leases", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if l := a.(k8stesting.UpdateAction).GetObject().(*coordinationv1.Lease); l.ResourceVersion == "0" {
			return true, nil, apierrors.NewConflict(coordinationv1.Resource("leases"), l.Name, errors.New("stale"))
		}
		return false, nil, nil
	})
	if err := r.renew(ctx); err != nil {
		t.Fatal(err)
	}
	second, err := leases.Get(ctx, LeaseName("node-a"), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *second.Spec.HolderIdentity != "node-a" || second.Spec.RenewTime.Before(first.Spec.RenewTime) {
		t.Fatalf("renewed lease: %+v", second.Spec)
	}
}

func TestObserverStartsAfreshAfterAnAPIError(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	client := fake.NewClientset(leaseOf("node-b", "node-b", t0, 3))
	o := NewObserver(client.CoordinationV1().Leases(ns))
	if _, err := o.Check(ctx, "node-b", t0); err != nil {
		t.Fatal(err)
	}
	failing := true
	client.PrependReactor("get", "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
		if failing {
			return true, nil, errors.New("API server restarting")
		}
		return false, nil, nil
	})
	if _, err := o.Check(ctx, "node-b", t0.Add(5*time.Second)); err == nil {
		t.Fatal("no error while the API server fails")
	}
	failing = false
	// The peer had no chance to renew during the outage: its unchanged
	// Lease is a first sight again, not silence.
	if v, err := o.Check(ctx, "node-b", t0.Add(6*time.Second)); err != nil || v.Silent {
		t.Fatalf("right after the outage: got %+v, %v; want alive", v, err)
	}
}

func TestVerdictAbandoned(t *testing.T) {
	renew := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	v := Verdict{Silent: true, RenewTime: renew, Duration: 3 * time.Second}
	if !v.Abandoned(renew.Add(10 * time.Second)) {
		t.Error("a report written 10s after the Lease's last renewal: the Lease is abandoned")
	}
	if v.Abandoned(renew.Add(2 * time.Second)) {
		t.Error("a report as old as the Lease: the sidecar went silent as a whole")
	}
	if (Verdict{AliveUntil: renew}).Abandoned(renew.Add(time.Hour)) {
		t.Error("a Lease that is not silent is not abandoned")
	}
}

func TestRenewerReleasesTheLeaseWhenStopped(t *testing.T) {
	client := fake.NewClientset()
	leases := client.CoordinationV1().Leases(ns)
	ctx, cancel := context.WithCancel(context.Background())
	r := &Renewer{Leases: leases, Node: "node-a", Interval: 10 * time.Millisecond, Duration: time.Second}
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := leases.Get(context.Background(), LeaseName("node-a"), metav1.GetOptions{}); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the lease was never created")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	l, err := leases.Get(context.Background(), LeaseName("node-a"), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if l.Spec.HolderIdentity != nil {
		t.Errorf("holder %q after stop, want none: peers must not take a stopped sidecar for a dead node", *l.Spec.HolderIdentity)
	}
}

func TestSightingsWatchTheChangeNotTheValue(t *testing.T) {
	const window = 10 * time.Second
	s := NewSightings()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	mark := t0.Add(-time.Hour) // the peer's clock, an hour behind
	if until := s.See("n", mark, t0, window); !until.Equal(t0.Add(window)) {
		t.Fatalf("first sight fresh until %v, want a whole window from now", until)
	}
	if until := s.See("n", mark, t0.Add(9*time.Second), window); !until.Equal(t0.Add(window)) {
		t.Fatalf("an unchanged mark moved its deadline to %v", until)
	}
	if until := s.See("n", mark.Add(time.Second), t0.Add(9*time.Second), window); !until.Equal(t0.Add(19 * time.Second)) {
		t.Fatalf("a changed mark fresh until %v, want a window from when it was seen", until)
	}
	// A mark that goes backwards is a change too: the peer's clock was set.
	if until := s.See("n", mark, t0.Add(12*time.Second), window); !until.Equal(t0.Add(22 * time.Second)) {
		t.Fatalf("a mark set back fresh until %v", until)
	}
	s.Retain(func(node string) bool { return node != "n" })
	if until := s.See("n", mark, t0.Add(30*time.Second), window); !until.Equal(t0.Add(40 * time.Second)) {
		t.Fatalf("a node retain dropped was still remembered: fresh until %v", until)
	}
	s.Forget("n")
	if until := s.See("n", mark, t0.Add(50*time.Second), window); !until.Equal(t0.Add(60 * time.Second)) {
		t.Fatalf("a forgotten node was still remembered: fresh until %v", until)
	}
}
