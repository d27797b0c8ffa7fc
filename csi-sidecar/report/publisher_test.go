package report_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/linstor-ha/linstor-ha/csi-sidecar/report"
	"github.com/linstor-ha/linstor-ha/csi-sidecar/report/fakereport"
	"github.com/linstor-ha/linstor-ha/pkg/apis/linstorha/v1alpha1"
	"github.com/linstor-ha/linstor-ha/pkg/drbd/events2"
	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
	"github.com/linstor-ha/linstor-ha/pkg/metadata"
)

func update(t *testing.T, s *state.Store, lines ...string) {
	t.Helper()
	s.Update(func(m *state.Model) {
		for _, l := range lines {
			var ev events2.Event
			if err := events2.Parse(l, &ev); err != nil {
				t.Fatal(err)
			}
			if _, err := m.Apply(&ev); err != nil {
				t.Fatal(err)
			}
		}
	})
}

type writes struct {
	mu   sync.Mutex
	n    int
	errs int
}

func (w *writes) record(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.n++
	if err != nil {
		w.errs++
	}
}

func (w *writes) count() (int, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n, w.errs
}

func run(t *testing.T, p *report.Publisher) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = p.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func get(t *testing.T, c *fakereport.Client, name string) (*v1alpha1.ReplicaReport, bool) {
	rr, err := c.Get(context.Background(), name)
	return rr, err == nil
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestPublisherWritesUrgentChangesAndCarriesTheRest(t *testing.T) {
	c := fakereport.New()
	store := state.NewStore()
	update(t, store,
		"exists resource name:r0 role:Secondary suspended:no may_promote:yes",
		"exists device name:r0 volume:0 disk:UpToDate open:no quorum:yes",
		"exists connection name:r0 peer-node-id:1 conn-name:node-b connection:Connected role:Primary",
	)
	w := &writes{}
	// Non-urgent changes would wait an hour: only urgent ones and the first
	// write can reach the server during the test.
	p := report.NewPublisher(report.Options{NodeName: "node-a", Zone: "room-a", Heartbeat: time.Hour, Coalesce: time.Hour, Urgent: time.Millisecond, OnWrite: w.record}, c, store)
	run(t, p)

	eventually(t, "the first report", func() bool { rr, ok := get(t, c, "node-a"); return ok && !rr.Status.HeartbeatTime.IsZero() })
	rr, _ := get(t, c, "node-a")
	if rr.Labels[metadata.LabelReportNode] != "node-a" || rr.Status.Zone != "room-a" || len(rr.Status.Resources) != 1 || rr.Status.HeartbeatTime.IsZero() {
		t.Fatalf("first report = %+v", rr)
	}

	// A change that does not matter for fail-over waits...
	update(t, store, "change device name:r0 volume:0 open:yes")
	p.Changed([]string{"r0"})
	// ...until one that matters: the peer is gone.
	update(t, store, "change connection name:r0 peer-node-id:1 conn-name:node-b connection:Connecting role:Unknown")
	p.Changed([]string{"r0"})
	eventually(t, "the lost peer to be reported", func() bool {
		rr, ok := get(t, c, "node-a")
		return ok && len(rr.Status.Resources) == 1 && len(rr.Status.Resources[0].Peers) == 1 && rr.Status.Resources[0].Peers[0].Connection == state.ConnConnecting
	})
	rr, _ = get(t, c, "node-a")
	if !rr.Status.Resources[0].InUse {
		t.Error("the urgent write did not carry the earlier, coalesced change")
	}
	// The write is recorded once it returned, just after the fake client
	// stored it.
	eventually(t, "the urgent write to be counted", func() bool { n, _ := w.count(); return n >= 2 })
	if n, _ := w.count(); n != 2 {
		t.Errorf("%d writes, want 2 (the first, the urgent one)", n)
	}
}

func TestPublisherRetriesWhenTheAPIServerFails(t *testing.T) {
	var mu sync.Mutex
	failing := true
	c := fakereport.New()
	c.Fail = func() error {
		mu.Lock()
		defer mu.Unlock()
		if failing {
			return errors.New("connection refused")
		}
		return nil
	}
	store := state.NewStore()
	update(t, store, "exists resource name:r0 role:Secondary")
	w := &writes{}
	p := report.NewPublisher(report.Options{NodeName: "node-a", Heartbeat: time.Hour, RetryMin: time.Millisecond, RetryMax: 4 * time.Millisecond, OnWrite: w.record}, c, store)
	run(t, p)
	eventually(t, "three failed writes", func() bool { _, errs := w.count(); return errs >= 3 })
	mu.Lock()
	failing = false
	mu.Unlock()
	eventually(t, "the report once the API server answers", func() bool {
		rr, ok := get(t, c, "node-a")
		return ok && len(rr.Status.Resources) == 1
	})
}

func TestUrgent(t *testing.T) {
	base := v1alpha1.ResourceReport{Name: "r", Role: "Secondary", Disk: "UpToDate", Quorum: true, MayPromote: true,
		Peers: []v1alpha1.PeerReport{{Name: "b", Connection: "Connected", Disk: "UpToDate", Role: "Primary"}}}
	same := base
	same.InUse = true
	if report.Urgent(&base, &same) {
		t.Error("opening the device is not urgent")
	}
	for name, mutate := range map[string]func(r *v1alpha1.ResourceReport){
		"quorum":      func(r *v1alpha1.ResourceReport) { r.Quorum = false },
		"may_promote": func(r *v1alpha1.ResourceReport) { r.MayPromote = false },
		"role":        func(r *v1alpha1.ResourceReport) { r.Role = "Primary" },
		"disk":        func(r *v1alpha1.ResourceReport) { r.Disk = "Outdated" },
		"suspended":   func(r *v1alpha1.ResourceReport) { r.Suspended = []string{"quorum"} },
		"peer gone":   func(r *v1alpha1.ResourceReport) { r.Peers = nil },
		"peer conn": func(r *v1alpha1.ResourceReport) {
			r.Peers = []v1alpha1.PeerReport{{Name: "b", Connection: "Connecting", Disk: "UpToDate", Role: "Primary"}}
		},
		"peer disk": func(r *v1alpha1.ResourceReport) {
			r.Peers = []v1alpha1.PeerReport{{Name: "b", Connection: "Connected", Disk: "Outdated", Role: "Primary"}}
		},
	} {
		cur := base
		cur.Peers = append([]v1alpha1.PeerReport(nil), base.Peers...)
		mutate(&cur)
		if !report.Urgent(&base, &cur) {
			t.Errorf("a change of %s is not urgent", name)
		}
	}
}
