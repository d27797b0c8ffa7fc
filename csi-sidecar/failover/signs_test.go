package failover

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/linstor-ha/linstor-ha/csi-sidecar/metrics"
	"github.com/linstor-ha/linstor-ha/csi-sidecar/report/fakereport"
	"github.com/linstor-ha/linstor-ha/pkg/apis/linstorha/v1alpha1"
)

// TestPeerReportJudgedByThisNodesClock checks that a peer's report is
// fresh or stale by how long its heartbeat stayed the same here, whatever
// the peer's clock says: a live peer whose clock runs an hour behind is not
// taken for gone, and a dead one whose clock ran ahead is not kept alive.
func TestPeerReportJudgedByThisNodesClock(t *testing.T) {
	const window = 100 * time.Millisecond
	ctx := context.Background()
	reports := fakereport.New()
	c := newGatherer(ControllerOptions{ReportStaleAfter: window}, nil, nil, reports, metrics.New())
	heartbeat := func(node string, at time.Time) {
		t.Helper()
		status, err := json.Marshal(map[string]v1alpha1.ReplicaReportStatus{"status": {
			NodeName: node, Synced: true, HeartbeatTime: metav1.NewMicroTime(at),
			Resources: []v1alpha1.ResourceReport{{Name: "r1", Quorum: true}}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := reports.PatchStatus(ctx, node, status); err != nil {
			t.Fatal(err)
		}
	}
	read := func(node string) NodeState {
		t.Helper()
		var st NodeState
		if !c.signsOfLife(ctx, node, &st) {
			t.Fatalf("reading %s's signs of life failed", node)
		}
		return st
	}
	for _, node := range []string{"behind", "ahead"} {
		if err := reports.Create(ctx, &v1alpha1.ReplicaReport{ObjectMeta: metav1.ObjectMeta{Name: node}}); err != nil {
			t.Fatal(err)
		}
	}

	behind := time.Now().Add(-time.Hour)
	heartbeat("behind", behind)
	if st := read("behind"); st.Report == nil || !st.Report.Quorum["r1"] || st.AliveUntil.IsZero() {
		t.Fatalf("a peer whose clock runs an hour behind counts as gone: %+v", st)
	}
	time.Sleep(window + 50*time.Millisecond)
	heartbeat("behind", behind.Add(time.Second))
	if st := read("behind"); st.Report == nil {
		t.Fatal("a renewed heartbeat, an hour behind, counts as stale")
	}
	time.Sleep(window + 50*time.Millisecond)
	if st := read("behind"); st.Report != nil || !st.AliveUntil.IsZero() {
		t.Fatalf("a heartbeat unchanged for longer than the window still counts: %+v", st)
	}

	heartbeat("ahead", time.Now().Add(time.Hour))
	if st := read("ahead"); st.Report == nil {
		t.Fatal("a first heartbeat counts as stale")
	}
	time.Sleep(window + 50*time.Millisecond)
	if st := read("ahead"); st.Report != nil {
		t.Fatal("a heartbeat an hour ahead keeps a silent peer alive")
	}

	// A report just read serves the evaluations right after it, without
	// another read: here, one that would fail.
	reports.Fail = func() error { return errors.New("connection refused") }
	if !c.signsOfLife(ctx, "ahead", &NodeState{}) {
		t.Fatal("a report read a moment ago was read again")
	}
	// Staleness must be seen across reads that succeed: after a failed
	// read, the same heartbeat is watched afresh.
	time.Sleep(2 * c.reportReadInterval())
	var st NodeState
	if c.signsOfLife(ctx, "ahead", &st) {
		t.Fatal("a report that cannot be read gave a complete view")
	}
	reports.Fail = nil
	if st := read("ahead"); st.Report == nil {
		t.Fatal("after a failed read, an unchanged heartbeat counts as stale at once")
	}

	// A report that is not synced proves nothing of its heartbeat.
	status, _ := json.Marshal(map[string]v1alpha1.ReplicaReportStatus{"status": {NodeName: "behind", HeartbeatTime: metav1.NewMicroTime(time.Now())}})
	if err := reports.PatchStatus(ctx, "behind", status); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * c.reportReadInterval())
	if st := read("behind"); st.Report != nil {
		t.Fatal("an unsynced report counts as fresh")
	}
}
