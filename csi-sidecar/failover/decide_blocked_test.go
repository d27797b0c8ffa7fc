package failover_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/linstor-ha/linstor-ha/csi-sidecar/failover"
	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
)

// stranded builds node-b's view of r0 after losing node-a, which runs the
// volume: its own disk and quorum, and the other peers with their state.
func stranded(disk string, quorum bool, peers ...state.Connection) *state.Resource {
	r := &state.Resource{
		Name: "r0", Role: state.RoleSecondary, MayPromote: state.FlagNo, Suspended: state.SuspendedNo,
		Devices: []state.Device{{Disk: disk, Quorum: quorum}},
		Connections: []state.Connection{{PeerNodeID: 0, Name: "node-a", State: state.ConnConnecting, PeerRole: state.RoleUnknown,
			PeerDevices: []state.PeerDevice{{PeerDisk: state.DiskUnknown}}}},
	}
	r.Connections = append(r.Connections, peers...)
	return r
}

func tiebreakerPeer(name, conn string) state.Connection {
	disk := state.DiskDiskless
	if conn != state.ConnConnected {
		disk = state.DiskUnknown
	}
	return state.Connection{PeerNodeID: 2, Name: name, State: conn, PeerDevices: []state.PeerDevice{{PeerDisk: disk, PeerClient: true}}}
}

func diskfulPeer(name, conn, disk string) state.Connection {
	return state.Connection{PeerNodeID: 3, Name: name, State: conn, PeerDevices: []state.PeerDevice{{PeerDisk: disk}}}
}

func TestProtectionDecideExplainsBlockedFailOver(t *testing.T) {
	later := t0.Add(timeout)
	tiebreakerLost := stranded(state.DiskUpToDate, false, tiebreakerPeer("node-t", state.ConnConnecting))
	tests := []struct {
		name string
		in   failover.Input
		want []string
		// message holds text every refusal's message must contain.
		message []string
		wake    time.Time
	}{
		{
			name: "tiebreaker lost with the diskful replica: no quorum left, say why on the pod and its node",
			in:   input(later, t0, aDead, volume(tiebreakerLost, []failover.Pod{appPod}, []failover.Attachment{appVA})),
			want: []string{"refuse SurvivorsWithoutQuorum node-a pg-0", "refuse SurvivorsWithoutQuorum node-a"},
			message: []string{
				"volume pv-r0 (DRBD resource r0) cannot fail over from node-a (its node is NotReady)",
				"DRBD on node-b lost the diskful replica on node-a and the tiebreaker on node-t",
				"losing nodes node-a and node-t leaves 1 of 2 diskful replicas and no tiebreaker: no quorum",
				"put the tiebreaker in a third zone",
				"kubectl linstor-ha status r0",
			},
		},
		{
			name: "no tiebreaker at all",
			in:   input(later, t0, aDead, volume(stranded(state.DiskUpToDate, false), []failover.Pod{appPod}, nil)),
			want: []string{"refuse SurvivorsWithoutQuorum node-a pg-0", "refuse SurvivorsWithoutQuorum node-a"},
			message: []string{
				"lost the diskful replica on node-a, and no replica left may promote it",
				"the resource has no tiebreaker", "add a tiebreaker on a third node",
			},
		},
		{
			name: "quorum left, but only Outdated data",
			in: input(later, t0, aDead, volume(stranded(state.DiskOutdated, true, tiebreakerPeer("node-t", state.ConnConnected)),
				[]failover.Pod{appPod}, nil)),
			want:    []string{"refuse NoUpToDateSurvivor node-a pg-0", "refuse NoUpToDateSurvivor node-a"},
			message: []string{"leaves quorum but no UpToDate data", "the diskful replica on node node-b is not UpToDate"},
		},
		{
			name: "only an attachment on the lost node: say it on the node",
			in:   input(later, t0, aDead, volume(tiebreakerLost, nil, []failover.Attachment{appVA})),
			want: []string{"refuse SurvivorsWithoutQuorum node-a"},
		},
		{
			name: "lost for less than the timeout: not yet",
			in:   input(later.Add(-time.Second), t0, aDead, volume(tiebreakerLost, []failover.Pod{appPod}, nil)),
			wake: later,
		},
		{
			// This node may be the one cut off, while node-a keeps quorum
			// with the tiebreaker and runs on.
			name: "the lost node is Ready and its fresh report says it has quorum: nothing to say",
			in:   input(later, t0, aReady, volume(tiebreakerLost, []failover.Pod{appPod}, nil)),
		},
		{
			name: "evidence may come once the lost node's signs of life run out: look again then",
			in: input(later, t0, map[string]failover.NodeState{
				"node-a": {Ready: true, AliveUntil: later.Add(3 * time.Second), Report: &failover.PeerReport{Quorum: map[string]bool{"r0": true}}},
				"node-b": {Ready: true}}, volume(tiebreakerLost, []failover.Pod{appPod}, nil)),
			wake: later.Add(3 * time.Second),
		},
		{
			name: "a connected survivor with a lower name says it",
			in: input(later, t0, aDead, volume(stranded(state.DiskUpToDate, false, diskfulPeer("node-0", state.ConnConnected, state.DiskUpToDate)),
				[]failover.Pod{appPod}, nil)),
		},
		{
			name: "a survivor with a lower name that is lost too does not count",
			in: input(later, t0, aDead, volume(stranded(state.DiskUpToDate, false, diskfulPeer("node-0", state.ConnConnecting, state.DiskUnknown)),
				[]failover.Pod{appPod}, nil)),
			want: []string{"refuse SurvivorsWithoutQuorum node-a pg-0", "refuse SurvivorsWithoutQuorum node-a"},
		},
		{
			name: "a diskless survivor says it too when it has the lowest name",
			in: func() failover.Input {
				r := stranded(state.DiskDiskless, false, diskfulPeer("node-c", state.ConnConnected, state.DiskUpToDate), tiebreakerPeer("node-t", state.ConnConnecting))
				r.Devices[0].Client = true
				return input(later, t0, aDead, volume(r, []failover.Pod{appPod}, nil))
			}(),
			want: []string{"refuse SurvivorsWithoutQuorum node-a pg-0", "refuse SurvivorsWithoutQuorum node-a"},
			message: []string{
				"lost the diskful replica on node-a and the tiebreaker on node-t",
				"losing nodes node-a and node-t leaves 1 of 2 diskful replicas and only 1 of 2 tiebreakers",
				"put more than half of the tiebreakers in zones that hold no diskful replica",
			},
		},
		{
			// The analysis would keep quorum here; DRBD's word stands.
			name: "DRBD shows no quorum where the analysis would keep it",
			in: func() failover.Input {
				r := stranded(state.DiskDiskless, false, diskfulPeer("node-c", state.ConnConnected, state.DiskUpToDate))
				r.Devices[0].Client = true
				return input(later, t0, aDead, volume(r, []failover.Pod{appPod}, nil))
			}(),
			want:    []string{"refuse SurvivorsWithoutQuorum node-a pg-0", "refuse SurvivorsWithoutQuorum node-a"},
			message: []string{"no replica left may promote it; DRBD on node-b shows no quorum for it."},
		},
		{
			name: "quorum left and UpToDate data on a connected peer: that peer may promote, nothing blocked",
			in: input(later, t0, aDead, volume(stranded(state.DiskOutdated, true, diskfulPeer("node-c", state.ConnConnected, state.DiskUpToDate)),
				[]failover.Pod{appPod}, nil)),
		},
		{
			name: "quorum not configured: that refusal, not this one",
			in: func() failover.Input {
				v := volume(tiebreakerLost, []failover.Pod{appPod}, nil)
				v.QuorumConfigured = false
				return input(later, t0, aDead, v)
			}(),
			want: []string{"refuse QuorumNotConfigured node-a"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := failover.Decide(tt.in)
			if got := summary(d); !slices.Equal(got, tt.want) {
				t.Errorf("decision\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
			if !d.NextCheck.Equal(tt.wake) {
				t.Errorf("next check at %v, want %v", d.NextCheck, tt.wake)
			}
			for _, r := range d.Refusals {
				if len(r.Message) > 1000 {
					t.Errorf("message of %d bytes, more than an Event takes", len(r.Message))
				}
				for _, want := range tt.message {
					if !strings.Contains(r.Message, want) {
						t.Errorf("message %q lacks %q", r.Message, want)
					}
				}
			}
		})
	}
}

// TestProtectionDecideBlockedIsStable checks that a lasting blocked
// fail-over gives the same refusals at every evaluation, which is what
// lets the recorder record it once, and that the loss is remembered.
func TestProtectionDecideBlockedIsStable(t *testing.T) {
	r := stranded(state.DiskUpToDate, false, tiebreakerPeer("node-t", state.ConnConnecting))
	var first []failover.Refusal
	lost := map[failover.Key]time.Time{{Resource: "r0", Node: "node-a"}: t0}
	for i := range 5 {
		in := input(t0.Add(timeout+time.Duration(i)*time.Second), time.Time{}, aDead, volume(r, []failover.Pod{appPod}, nil))
		in.LostSince = lost
		d := failover.Decide(in)
		if i == 0 {
			first = d.Refusals
		}
		if !slices.EqualFunc(d.Refusals, first, func(a, b failover.Refusal) bool {
			return a.Reason == b.Reason && a.Resource == b.Resource && a.Node == b.Node && (a.Pod == nil) == (b.Pod == nil) && (a.Pod == nil || a.Pod.UID == b.Pod.UID) && a.Message == b.Message
		}) || len(d.Refusals) != 2 {
			t.Fatalf("evaluation %d: refusals %+v, want the same two as the first", i, d.Refusals)
		}
		if !d.Lost[failover.Key{Resource: "r0", Node: "node-a"}].Equal(t0) {
			t.Fatalf("evaluation %d: the loss of node-a is not remembered since %v: %v", i, t0, d.Lost)
		}
		lost = d.Lost
	}
}
