package failover

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/client-go/tools/events"

	"github.com/linstor-ha/linstor-ha/csi-sidecar/metrics"
	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
)

// TestProtectionBlockedFailOverRecordedOnce evaluates a lasting blocked
// fail-over again and again: one Warning Event on the pod and one on its
// node, each counted once, until the condition ends; when it comes back,
// once more.
func TestProtectionBlockedFailOverRecordedOnce(t *testing.T) {
	start := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	alone := &state.Resource{
		Name: "r0", Role: state.RoleSecondary, MayPromote: state.FlagNo, Suspended: state.SuspendedNo,
		Devices: []state.Device{{Disk: state.DiskUpToDate, Quorum: false}},
		Connections: []state.Connection{
			{Name: "node-a", State: state.ConnConnecting, PeerDevices: []state.PeerDevice{{PeerDisk: state.DiskUnknown}}},
			{Name: "node-t", State: state.ConnConnecting, PeerDevices: []state.PeerDevice{{PeerDisk: state.DiskUnknown, PeerClient: true}}},
		},
	}
	back := alone.Clone()
	back.Devices[0].Quorum = true
	back.Connections[0].State, back.Connections[1].State = state.ConnConnected, state.ConnConnected
	pod := Pod{Namespace: "db", Name: "pg-0", UID: "uid-1", Node: "node-a", Controlled: true}
	in := func(now time.Time, r *state.Resource, lost map[Key]time.Time) Input {
		return Input{
			Now: now, Node: "node-b", Synced: true, Timeout: 5 * time.Second, Taints: DefaultTaintKeys(),
			Volumes:  []Volume{{DRBD: r, QuorumConfigured: true, Established: true, PV: "pv-r0", Pods: []Pod{pod}}},
			Nodes:    map[string]NodeState{"node-a": {Ready: false}, "node-b": {Ready: true}},
			PeerNode: func(c string) string { return c }, LostSince: lost,
		}
	}
	events := events.NewFakeRecorder(100)
	m := metrics.New()
	rec := &recorder{events: events, metrics: m}
	ctx := context.Background()
	lost := map[Key]time.Time{}
	evaluate := func(now time.Time, r *state.Resource) {
		d := Decide(in(now, r, lost))
		lost = d.Lost
		rec.refusals(ctx, d.Refusals)
		rec.notices(ctx, d.Notices)
	}
	drain := func() []string {
		var got []string
		for len(events.Events) > 0 {
			got = append(got, <-events.Events)
		}
		return got
	}
	for i := range 20 {
		evaluate(start.Add(time.Duration(i)*time.Second), alone)
	}
	got := drain()
	if len(got) != 2 {
		t.Fatalf("events %q, want two: one on the pod, one on its node", got)
	}
	for _, e := range got {
		if !strings.HasPrefix(e, "Warning FailOverRefused SurvivorsWithoutQuorum: ") || !strings.Contains(e, "put the tiebreaker in a third zone") {
			t.Errorf("event %q: want a FailOverRefused Warning that says why and what to change", e)
		}
	}
	if n := testutil.ToFloat64(m.Refusals.WithLabelValues(RefusedSurvivorsWithoutQuorum)); n != 2 {
		t.Errorf("linstor_ha_failover_refusals_total{reason=%q} = %v, want 2", RefusedSurvivorsWithoutQuorum, n)
	}

	// The replicas come back; then the room is lost again.
	evaluate(start.Add(30*time.Second), back)
	for i := range 10 {
		evaluate(start.Add(time.Duration(40+i)*time.Second), alone)
	}
	if got := drain(); len(got) != 2 {
		t.Errorf("events after the condition came back %q, want two again", got)
	}
}
