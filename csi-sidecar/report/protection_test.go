package report_test

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/linstor-ha/linstor-ha/csi-sidecar/metrics"
	"github.com/linstor-ha/linstor-ha/csi-sidecar/report"
	"github.com/linstor-ha/linstor-ha/csi-sidecar/report/fakereport"
	"github.com/linstor-ha/linstor-ha/pkg/apis/linstorha/v1alpha1"
	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
	"github.com/linstor-ha/linstor-ha/pkg/protection"
)

func peer(name, conn, disk string, client bool) v1alpha1.PeerReport {
	return v1alpha1.PeerReport{Name: name, Connection: conn, Disk: disk, Client: client}
}

func TestProtectionAddProtection(t *testing.T) {
	zones := map[string]string{"node-a1": "room-a", "node-a2": "room-a", "node-b1": "room-b", "node-c1": "room-c"}
	connected, lost := state.ConnConnected, state.ConnConnecting
	for _, tc := range []struct {
		name string
		// node is this node, in zone room-b.
		node     string
		res      v1alpha1.ResourceReport
		peerNode func(string) string
		want     v1alpha1.ResourceProtection
		// speaks is whether this node counts the resource in the metrics.
		speaks bool
	}{
		{
			name: "tiebreaker in a third room",
			node: "node-b1",
			res: v1alpha1.ResourceReport{Name: "r", Disk: "UpToDate", Peers: []v1alpha1.PeerReport{
				peer("node-a1", connected, "UpToDate", false), peer("node-c1", connected, "Diskless", true)}},
			want:   v1alpha1.ResourceProtection{Summary: "ZoneSafe"},
			speaks: false,
		},
		{
			name: "tiebreaker in room-a next to a diskful replica",
			node: "node-b1",
			res: v1alpha1.ResourceReport{Name: "r", Disk: "UpToDate", Peers: []v1alpha1.PeerReport{
				peer("node-a1", connected, "UpToDate", false), peer("node-a2", connected, "Diskless", true)}},
			want: v1alpha1.ResourceProtection{Summary: "NodeSafe", NotSurvived: []v1alpha1.FailureReport{
				{Kind: "zone", Name: "room-a", Reason: "TiebreakerLost"}}},
		},
		{
			name: "no tiebreaker",
			node: "node-b1",
			res: v1alpha1.ResourceReport{Name: "r", Disk: "UpToDate", Peers: []v1alpha1.PeerReport{
				peer("node-a1", connected, "UpToDate", false)}},
			want: v1alpha1.ResourceProtection{Summary: "Unprotected", NotSurvived: []v1alpha1.FailureReport{
				{Kind: "node", Name: "node-a1", Reason: "NoTiebreaker"}, {Kind: "node", Name: "node-b1", Reason: "NoTiebreaker"},
				{Kind: "zone", Name: "room-a", Reason: "NoTiebreaker"}, {Kind: "zone", Name: "room-b", Reason: "NoTiebreaker"}}},
		},
		{
			// After room-a's loss: the lost peers' data is unknown, so a
			// further loss of node-b1 leaves nothing UpToDate. node-b1 now
			// speaks for the resource, since node-a1 is gone.
			name: "room-a lost",
			node: "node-b1",
			res: v1alpha1.ResourceReport{Name: "r", Disk: "UpToDate", Peers: []v1alpha1.PeerReport{
				peer("node-a1", lost, "DUnknown", false), peer("node-c1", connected, "Diskless", true)}},
			want: v1alpha1.ResourceProtection{Summary: "Unprotected", NotSurvived: []v1alpha1.FailureReport{
				{Kind: "node", Name: "node-b1", Reason: "NoUpToDateData"}, {Kind: "zone", Name: "room-b", Reason: "NoUpToDateData"}}},
			speaks: true,
		},
		{
			// Connection names differ from node names: the zones and the
			// names in the report are the nodes'.
			name: "connection names mapped",
			node: "node-b1",
			res: v1alpha1.ResourceReport{Name: "r", Disk: "UpToDate", Peers: []v1alpha1.PeerReport{
				peer("sat-a1", connected, "UpToDate", false), peer("sat-a2", connected, "Diskless", true)}},
			peerNode: func(conn string) string { return map[string]string{"sat-a1": "node-a1", "sat-a2": "node-a2"}[conn] },
			want: v1alpha1.ResourceProtection{Summary: "NodeSafe", NotSurvived: []v1alpha1.FailureReport{
				{Kind: "zone", Name: "room-a", Reason: "TiebreakerLost"}}},
		},
		{
			name: "a peer in an unknown zone",
			node: "node-b1",
			res: v1alpha1.ResourceReport{Name: "r", Disk: "UpToDate", Peers: []v1alpha1.PeerReport{
				peer("node-a1", connected, "UpToDate", false), peer("node-x1", connected, "Diskless", true)}},
			want: v1alpha1.ResourceProtection{Summary: "NodeSafe", NotSurvived: []v1alpha1.FailureReport{
				{Kind: "zone", Name: "room-a", Reason: "ZoneUnknown"}, {Kind: "zone", Name: "room-b", Reason: "ZoneUnknown"}}},
		},
		{
			name:   "a single replica",
			node:   "node-b1",
			res:    v1alpha1.ResourceReport{Name: "r", Disk: "UpToDate"},
			want:   v1alpha1.ResourceProtection{Summary: "Unprotected", NotSurvived: []v1alpha1.FailureReport{{Kind: "node", Name: "node-b1", Reason: "AllReplicasLost"}, {Kind: "zone", Name: "room-b", Reason: "AllReplicasLost"}}},
			speaks: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := v1alpha1.ReplicaReportStatus{NodeName: tc.node, Zone: "room-b", Resources: []v1alpha1.ResourceReport{tc.res}}
			counts := report.AddProtection(&st, func(node string) string { return zones[node] }, tc.peerNode)
			got := st.Resources[0].Protection
			if got == nil || !reflect.DeepEqual(*got, tc.want) {
				t.Fatalf("protection %+v, want %+v", got, tc.want)
			}
			notZoneSafe, unprotected := int32(0), int32(0)
			if tc.want.Summary != "ZoneSafe" {
				notZoneSafe = 1
			}
			if tc.want.Summary == "Unprotected" {
				unprotected = 1
			}
			if st.Summary.NotZoneSafe != notZoneSafe || st.Summary.Unprotected != unprotected {
				t.Errorf("summary %+v, want notZoneSafe %d, unprotected %d", st.Summary, notZoneSafe, unprotected)
			}
			total := 0
			for _, n := range counts.BySummary {
				total += n
			}
			if len(counts.BySummary) != 4 {
				t.Errorf("counts %v: every summary must have a count", counts.BySummary)
			}
			if want := map[bool]int{true: 1, false: 0}[tc.speaks]; total != want || (tc.speaks && counts.BySummary[protection.Summary(tc.want.Summary)] != 1) {
				t.Errorf("counts %v: want %d resource counted as %s", counts.BySummary, want, tc.want.Summary)
			}
		})
	}
}

// TestProtectionZoneCounts checks the per-zone counts: a zone whose loss
// the resource survives has a zero series, one it does not survive a one.
func TestProtectionZoneCounts(t *testing.T) {
	zones := map[string]string{"node-a1": "room-a", "node-a2": "room-a", "node-b1": "room-b"}
	st := v1alpha1.ReplicaReportStatus{NodeName: "node-a1", Zone: "room-a", Resources: []v1alpha1.ResourceReport{
		{Name: "in-room", Disk: "UpToDate", Peers: []v1alpha1.PeerReport{
			peer("node-a2", state.ConnConnected, "Diskless", true), peer("node-b1", state.ConnConnected, "UpToDate", false)}},
		{Name: "also-in-room", Disk: "UpToDate", Peers: []v1alpha1.PeerReport{
			peer("node-a2", state.ConnConnected, "Diskless", true), peer("node-b1", state.ConnConnected, "UpToDate", false)}},
		// node-a0 is connected and sorts first: it counts this one.
		{Name: "elsewhere", Disk: "UpToDate", Peers: []v1alpha1.PeerReport{peer("node-a0", state.ConnConnected, "UpToDate", false)}},
	}}
	counts := report.AddProtection(&st, func(node string) string { return zones[node] }, nil)
	if want := map[string]int{"room-a": 2, "room-b": 0}; !reflect.DeepEqual(counts.NotSurvivingZoneLoss, want) {
		t.Errorf("zone counts %v, want %v", counts.NotSurvivingZoneLoss, want)
	}
	if counts.BySummary[protection.NodeSafe] != 2 || st.Summary.NotZoneSafe != 3 {
		t.Errorf("counts %v, summary %+v: want 2 NodeSafe counted here and 3 not ZoneSafe in the report", counts.BySummary, st.Summary)
	}
}

// countingClient counts reads of reports and fails them on demand.
type countingClient struct {
	*fakereport.Client
	mu    sync.Mutex
	gets  map[string]int
	fails bool
}

func (c *countingClient) Get(ctx context.Context, name string) (*v1alpha1.ReplicaReport, error) {
	c.mu.Lock()
	c.gets[name]++
	fail := c.fails
	c.mu.Unlock()
	if fail {
		return nil, errors.New("connection refused")
	}
	return c.Client.Get(ctx, name)
}

func (c *countingClient) count(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gets[name]
}

// TestProtectionPublisherReportsProtection runs the publisher with peers
// whose reports give their zones: the node's report says what its
// resources survive once the zones are known, and the gauges count what
// this node speaks for.
func TestProtectionPublisherReportsProtection(t *testing.T) {
	c := &countingClient{Client: fakereport.New(), gets: map[string]int{}}
	for node, zone := range map[string]string{"node-b1": "room-b", "node-a2": "room-a"} {
		if err := c.Create(context.Background(), &v1alpha1.ReplicaReport{ObjectMeta: metav1.ObjectMeta{Name: node}, Status: v1alpha1.ReplicaReportStatus{NodeName: node, Zone: zone}}); err != nil {
			t.Fatal(err)
		}
	}
	store := state.NewStore()
	// A complete dump: the store is synced.
	store.Replace(model(t,
		"exists resource name:r0 role:Primary suspended:no may_promote:no",
		"exists device name:r0 volume:0 disk:UpToDate client:no open:yes quorum:yes",
		"exists connection name:r0 peer-node-id:1 conn-name:node-b1 connection:Connected role:Secondary",
		"exists peer-device name:r0 peer-node-id:1 conn-name:node-b1 volume:0 peer-disk:UpToDate peer-client:no",
		"exists connection name:r0 peer-node-id:2 conn-name:node-a2 connection:Connected role:Secondary",
		"exists peer-device name:r0 peer-node-id:2 conn-name:node-a2 volume:0 peer-disk:Diskless peer-client:yes",
		// node-x9 has no report: its zone stays unknown.
		"exists resource name:r1 role:Secondary suspended:no may_promote:yes",
		"exists device name:r1 volume:0 disk:UpToDate client:no open:no quorum:yes",
		"exists connection name:r1 peer-node-id:1 conn-name:node-x9 connection:Connected role:Secondary",
		"exists peer-device name:r1 peer-node-id:1 conn-name:node-x9 volume:0 peer-disk:UpToDate peer-client:no",
	))
	p := report.NewPublisher(report.Options{NodeName: "node-a1", Zone: "room-a", Heartbeat: time.Hour, Coalesce: 10 * time.Millisecond}, c, store)
	run(t, p)
	eventually(t, "the report to show r0 NodeSafe, not surviving room-a", func() bool {
		rr, ok := get(t, c.Client, "node-a1")
		if !ok || len(rr.Status.Resources) != 2 {
			return false
		}
		pr := rr.Status.Resources[0].Protection
		return pr != nil && pr.Summary == "NodeSafe" && len(pr.NotSurvived) == 1 && pr.NotSurvived[0] == v1alpha1.FailureReport{Kind: "zone", Name: "room-a", Reason: "TiebreakerLost"}
	})
	rr, _ := get(t, c.Client, "node-a1")
	if pr := rr.Status.Resources[1].Protection; pr == nil || pr.Summary != "Unprotected" || len(pr.NotSurvived) == 0 || pr.NotSurvived[0].Reason != "NoTiebreaker" {
		t.Errorf("r1 protection %+v, want Unprotected: two diskful replicas without a tiebreaker", pr)
	}
	if rr.Status.Summary.NotZoneSafe != 2 || rr.Status.Summary.Unprotected != 1 {
		t.Errorf("summary %+v, want 2 not zone safe, 1 unprotected (r1: two diskful replicas without a tiebreaker)", rr.Status.Summary)
	}
	// The gauges are set only from a synced store; this one is.
	if got := testutil.ToFloat64(metrics.VolumesByProtection.WithLabelValues("NodeSafe")); got != 1 {
		t.Errorf("linstor_ha_volumes{protection=NodeSafe} = %v, want 1 (r0)", got)
	}
	if got := testutil.ToFloat64(metrics.VolumesByProtection.WithLabelValues("Unprotected")); got != 1 {
		t.Errorf("linstor_ha_volumes{protection=Unprotected} = %v, want 1 (r1)", got)
	}
	if got := testutil.ToFloat64(metrics.VolumesNotSurvivingZoneLoss.WithLabelValues("room-a")); got != 2 {
		t.Errorf("linstor_ha_volumes_not_surviving_zone_loss{zone=room-a} = %v, want 2", got)
	}
	// Each peer's report was read once for its zone, the one without a
	// report too, and not again on every write.
	p.Changed(nil)
	time.Sleep(50 * time.Millisecond)
	for _, n := range []string{"node-b1", "node-a2", "node-x9"} {
		if got := c.count(n); got != 1 {
			t.Errorf("%s's report read %d times, want once", n, got)
		}
	}
}
