package failover_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/linstor-ha/linstor-ha/csi-sidecar/failover"
	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
	"github.com/linstor-ha/linstor-ha/pkg/metadata"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

const timeout = 5 * time.Second

// drbd builds this node's view of resource r0 (on node-b): its role, quorum
// and may_promote, and the connection to node-a.
func drbd(role string, quorum, mayPromote bool, peerState string, suspended string) *state.Resource {
	flag := state.FlagNo
	if mayPromote {
		flag = state.FlagYes
	}
	if suspended == "" {
		suspended = state.SuspendedNo
	}
	return &state.Resource{
		Name: "r0", Role: role, MayPromote: flag, Suspended: suspended,
		Devices: []state.Device{{Disk: state.DiskUpToDate, Quorum: quorum, Open: role == state.RolePrimary}},
		Connections: []state.Connection{
			{PeerNodeID: 0, Name: "node-a", State: peerState, PeerRole: state.RoleUnknown,
				PeerDevices: []state.PeerDevice{{PeerDisk: state.DiskUnknown}}},
			{PeerNodeID: 2, Name: "node-t", State: state.ConnConnected, PeerRole: state.RoleSecondary,
				PeerDevices: []state.PeerDevice{{PeerDisk: state.DiskDiskless, PeerClient: true}}},
		},
	}
}

var (
	survivor = drbd(state.RoleSecondary, true, true, state.ConnConnecting, "")
	appPod   = failover.Pod{Namespace: "db", Name: "pg-0", UID: "uid-1", Node: "node-a", Controlled: true}
	appVA    = failover.Attachment{Name: "csi-1", Node: "node-a", Attached: true, AttacherFinalizer: true}
)

func volume(r *state.Resource, pods []failover.Pod, vas []failover.Attachment) failover.Volume {
	return failover.Volume{DRBD: r, QuorumConfigured: true, Established: true, PV: "pv-r0", Pods: pods, Attachments: vas}
}

func input(now time.Time, lost time.Time, nodes map[string]failover.NodeState, vols ...failover.Volume) failover.Input {
	in := failover.Input{
		Now: now, Node: "node-b", Synced: true, Timeout: timeout, Hysteresis: 2 * time.Second, Taints: failover.DefaultTaintKeys(),
		Volumes: vols, Nodes: nodes, PeerNode: func(c string) string { return c },
		LostSince: map[failover.Key]time.Time{},
	}
	if !lost.IsZero() {
		in.LostSince[failover.Key{Resource: "r0", Node: "node-a"}] = lost
	}
	return in
}

var (
	aDead  = map[string]failover.NodeState{"node-a": {Ready: false}, "node-b": {Ready: true}}
	aReady = map[string]failover.NodeState{"node-a": {Ready: true, Report: &failover.PeerReport{Quorum: map[string]bool{"r0": true}}}, "node-b": {Ready: true}}
)

// summary renders a decision as short strings for table comparison.
func summary(d failover.Decision) []string {
	var out []string
	for _, a := range d.Actions {
		s := string(a.Kind) + " " + a.Node
		if a.Taint == metadata.TaintForceIOError {
			s += " io-error"
		}
		if a.Pod != nil {
			s += " " + a.Pod.Name
		}
		if a.Attachment != "" {
			s += " " + a.Attachment
		}
		if a.GraceZero {
			s += " grace=0"
		}
		out = append(out, s)
	}
	for _, r := range d.Refusals {
		s := "refuse " + r.Reason + " " + r.Node
		if r.Pod != nil {
			s += " " + r.Pod.Name
		}
		out = append(out, s)
	}
	for _, n := range d.Notices {
		out = append(out, "notice "+n.Reason+" "+n.Node)
	}
	return out
}

func TestDecidePeerLost(t *testing.T) {
	later := t0.Add(timeout)
	tests := []struct {
		name string
		in   failover.Input
		want []string
		// wake is when the controller must decide again; zero for never.
		wake time.Time
	}{
		{
			name: "peer crashed, timeout passed: taint, force-delete, detach",
			in:   input(later, t0, aDead, volume(survivor, []failover.Pod{appPod}, []failover.Attachment{appVA})),
			want: []string{"TaintNode node-a", "DeletePod node-a pg-0 grace=0", "DeleteAttachment node-a csi-1"},
		},
		{
			name: "dead node still lists the volume in use: release it so it can be detached",
			in: input(later, t0, map[string]failover.NodeState{"node-a": {VolumesInUse: []string{"r0", "other"}}, "node-b": {Ready: true}},
				volume(survivor, []failover.Pod{appPod}, []failover.Attachment{appVA})),
			want: []string{"TaintNode node-a", "DeletePod node-a pg-0 grace=0", "ReleaseVolume node-a", "DeleteAttachment node-a csi-1"},
		},
		{
			name: "first seen lost: wait for the timeout",
			in:   input(t0, time.Time{}, aDead, volume(survivor, []failover.Pod{appPod}, []failover.Attachment{appVA})),
			wake: t0.Add(timeout),
		},
		{
			name: "lost for less than the timeout: wait",
			in:   input(later.Add(-time.Second), t0, aDead, volume(survivor, []failover.Pod{appPod}, nil)),
			wake: later,
		},
		{
			name: "peer back: nothing, and the lost mark is dropped",
			in:   input(later, t0, aDead, volume(drbd(state.RoleSecondary, true, false, state.ConnConnected, ""), []failover.Pod{appPod}, nil)),
		},
		{
			name: "already tainted: no second taint",
			in: input(later, t0, map[string]failover.NodeState{"node-a": {Tainted: true}, "node-b": {Ready: true}},
				volume(survivor, []failover.Pod{appPod}, nil)),
			want: []string{"DeletePod node-a pg-0 grace=0"},
		},
		{
			name: "node still Ready but its report says it lost quorum: graceful delete",
			in: input(later, t0, map[string]failover.NodeState{"node-a": {Ready: true, Report: &failover.PeerReport{Quorum: map[string]bool{"r0": false}}}, "node-b": {Ready: true}},
				volume(survivor, []failover.Pod{appPod}, nil)),
			want: []string{"TaintNode node-a", "DeletePod node-a pg-0"},
		},
		{
			name: "node Ready without a fresh report: its sidecar is gone, force",
			in: input(later, t0, map[string]failover.NodeState{"node-a": {Ready: true}, "node-b": {Ready: true}},
				volume(survivor, []failover.Pod{appPod}, nil)),
			want: []string{"TaintNode node-a", "DeletePod node-a pg-0 grace=0"},
		},
		{
			name: "replication link cut, peer Ready and quorate: refuse",
			in:   input(later, t0, aReady, volume(survivor, []failover.Pod{appPod}, nil)),
			want: []string{"refuse PeerMayStillWrite node-a"},
		},
		{
			name: "peer Ready and quorate by its report, but alive only until later: refuse, look again then",
			in: input(later, t0, map[string]failover.NodeState{
				"node-a": {Ready: true, AliveUntil: later.Add(2 * time.Second), Report: &failover.PeerReport{Quorum: map[string]bool{"r0": true}}},
				"node-b": {Ready: true}}, volume(survivor, []failover.Pod{appPod}, nil)),
			want: []string{"refuse PeerMayStillWrite node-a"},
			wake: later.Add(2 * time.Second),
		},
		{
			name: "node Ready with a report not yet stale, but its sidecar's Lease went silent: force",
			in: input(later, t0, map[string]failover.NodeState{
				"node-a": {Ready: true, Silent: true, Report: &failover.PeerReport{Quorum: map[string]bool{"r0": true}}},
				"node-b": {Ready: true}}, volume(survivor, []failover.Pod{appPod}, []failover.Attachment{appVA})),
			want: []string{"TaintNode node-a", "DeletePod node-a pg-0 grace=0", "DeleteAttachment node-a csi-1"},
		},
		{
			name: "this node cannot promote: nothing to prove",
			in:   input(later, t0, aDead, volume(drbd(state.RoleSecondary, true, false, state.ConnConnecting, ""), []failover.Pod{appPod}, nil)),
		},
		{
			name: "a diskless survivor leaves it to a survivor with data",
			in: func() failover.Input {
				r := survivor.Clone()
				r.Devices[0].Disk = state.DiskDiskless
				r.Connections[1].PeerDevices[0].PeerDisk = state.DiskUpToDate
				return input(later, t0, aDead, volume(r, []failover.Pod{appPod}, nil))
			}(),
		},
		{
			name: "another survivor with data and a lower name acts",
			in: func() failover.Input {
				in := input(later, t0, aDead, volume(survivor.Clone(), []failover.Pod{appPod}, nil))
				in.Volumes[0].DRBD.Connections[1].Name = "node-0"
				in.Volumes[0].DRBD.Connections[1].PeerDevices[0].PeerDisk = state.DiskUpToDate
				return in
			}(),
		},
		{
			name: "nothing of the volume on the lost peer: only say it is degraded",
			in:   input(later, t0, aDead, volume(survivor, nil, nil)),
			want: []string{"notice ReplicaDegraded node-a"},
		},
		{
			name: "nothing of the volume on a peer lost for less than the timeout: not yet",
			in:   input(later.Add(-time.Second), t0, aDead, volume(survivor, nil, nil)),
			wake: later,
		},
		{
			name: "nothing of the volume on the lost peer, and this node has no quorum: it says nothing",
			in:   input(later, t0, aDead, volume(drbd(state.RoleSecondary, false, false, state.ConnConnecting, ""), nil, nil)),
		},
		{
			name: "not synced: refuse",
			in: func() failover.Input {
				in := input(later, t0, aDead, volume(survivor, []failover.Pod{appPod}, nil))
				in.Synced = false
				return in
			}(),
			want: []string{"refuse NotSynced node-a"},
		},
		{
			name: "quorum not configured: refuse",
			in: func() failover.Input {
				v := volume(survivor, []failover.Pod{appPod}, nil)
				v.QuorumConfigured = false
				return input(later, t0, aDead, v)
			}(),
			want: []string{"refuse QuorumNotConfigured node-a"},
		},
		{
			name: "resource still being created: refuse",
			in: func() failover.Input {
				v := volume(survivor, []failover.Pod{appPod}, nil)
				v.Established = false
				return input(later, t0, aDead, v)
			}(),
			want: []string{"refuse ResourceNotEstablished node-a"},
		},
		{
			name: "opted-out pod: refused, attachment kept",
			in: func() failover.Input {
				p := appPod
				p.OptOut = true
				return input(later, t0, aDead, volume(survivor, []failover.Pod{p}, []failover.Attachment{appVA}))
			}(),
			want: []string{"TaintNode node-a", "refuse OptedOut node-a pg-0"},
		},
		{
			name: "pod without controller: refused with an Event, attachment kept",
			in: func() failover.Input {
				p := appPod
				p.Controlled = false
				return input(later, t0, aDead, volume(survivor, []failover.Pod{p}, []failover.Attachment{appVA}))
			}(),
			want: []string{"TaintNode node-a", "refuse NoController node-a pg-0"},
		},
		{
			name: "pods on other nodes are untouched",
			in: func() failover.Input {
				other := appPod
				other.Name, other.Node, other.UID = "pg-1", "node-c", "uid-2"
				return input(later, t0, aDead, volume(survivor, []failover.Pod{appPod, other}, nil))
			}(),
			want: []string{"TaintNode node-a", "DeletePod node-a pg-0 grace=0"},
		},
		{
			name: "attachment deleting on a dead node for the attacher's grace: drop the attacher's finalizer",
			in: func() failover.Input {
				va := appVA
				va.Deleting, va.DeletingSince = true, later.Add(-time.Second)
				in := input(later, t0, aDead, volume(survivor, nil, []failover.Attachment{va}))
				in.AttacherGrace = time.Second
				return in
			}(),
			want: []string{"TaintNode node-a", "RemoveAttacherFinalizer node-a csi-1"},
		},
		{
			name: "attachment deleting on a dead node within the attacher's grace: leave it to the attacher until then",
			in: func() failover.Input {
				va := appVA
				va.Deleting, va.DeletingSince = true, later.Add(-time.Second/2)
				in := input(later, t0, aDead, volume(survivor, nil, []failover.Attachment{va}))
				in.AttacherGrace = time.Second
				return in
			}(),
			want: []string{"TaintNode node-a"},
			wake: later.Add(time.Second / 2),
		},
		{
			name: "connection name mapped to a node name",
			in: func() failover.Input {
				in := input(later, time.Time{}, aDead, volume(survivor, []failover.Pod{appPod}, nil))
				in.PeerNode = func(c string) string { return strings.TrimPrefix(c, "drbd-") }
				in.Volumes[0].DRBD = survivor.Clone()
				in.Volumes[0].DRBD.Connections[0].Name = "drbd-node-a"
				in.LostSince[failover.Key{Resource: "r0", Node: "node-a"}] = t0
				return in
			}(),
			want: []string{"TaintNode node-a", "DeletePod node-a pg-0 grace=0"},
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
		})
	}
}

func TestDecideTaintsALostNodeOnce(t *testing.T) {
	later := t0.Add(timeout)
	r1 := survivor.Clone()
	r1.Name = "r1"
	pod1 := appPod
	pod1.Name, pod1.UID = "pg-1", "uid-2"
	in := input(later, t0, aDead, volume(survivor, []failover.Pod{appPod}, nil), volume(r1, []failover.Pod{pod1}, nil))
	in.LostSince[failover.Key{Resource: "r1", Node: "node-a"}] = t0
	got := summary(failover.Decide(in))
	want := []string{"TaintNode node-a", "DeletePod node-a pg-0 grace=0", "DeletePod node-a pg-1 grace=0"}
	if !slices.Equal(got, want) {
		t.Errorf("decision\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestDecideRemembersWhenPeerWasLost(t *testing.T) {
	in := input(t0, time.Time{}, aDead, volume(survivor, []failover.Pod{appPod}, nil))
	d := failover.Decide(in)
	key := failover.Key{Resource: "r0", Node: "node-a"}
	if got := d.Lost[key]; !got.Equal(t0) {
		t.Fatalf("Lost = %v, want %v first seen at %v", d.Lost, key, t0)
	}
	// A reconnect in between forgets it: the condition must hold
	// throughout the timeout.
	in = input(t0.Add(time.Second), t0, aDead, volume(drbd(state.RoleSecondary, true, false, state.ConnConnected, ""), []failover.Pod{appPod}, nil))
	if d := failover.Decide(in); len(d.Lost) != 0 {
		t.Errorf("Lost = %v after a reconnect, want empty", d.Lost)
	}
}

func TestDecideOwnQuorumLost(t *testing.T) {
	frozen := drbd(state.RolePrimary, false, false, state.ConnConnecting, state.SuspendedQuorum)
	local := appPod
	local.Node = "node-b"
	me := func(tainted bool) map[string]failover.NodeState {
		return map[string]failover.NodeState{"node-b": {Ready: true, Tainted: tainted}}
	}
	// lostLong says the quorum loss began a timeout ago.
	lostLong := func(in failover.Input) failover.Input {
		in.Now = t0.Add(timeout)
		in.LostSince[failover.Key{Resource: "r0", Node: "node-b"}] = t0
		return in
	}
	tests := []struct {
		name string
		in   failover.Input
		want []string
	}{
		{"quorum just lost: wait for the timeout", input(t0, time.Time{}, me(false), volume(frozen, []failover.Pod{local}, nil)),
			nil},
		{"in use without quorum: taint self, evict", lostLong(input(t0, time.Time{}, me(false), volume(frozen, []failover.Pod{local}, nil))),
			[]string{"TaintNode node-b", "EvictPod node-b pg-0"}},
		// Its processes sleep in frozen I/O: only failing it lets them exit.
		{"pod terminating, I/O frozen: force secondary at once", lostLong(input(t0, time.Time{}, me(true), volume(frozen, []failover.Pod{terminating(local)}, nil))),
			[]string{"Demote node-b"}},
		{"pod terminating before the timeout: wait", input(t0, time.Time{}, me(false), volume(frozen, []failover.Pod{terminating(local)}, nil)),
			nil},
		{"pod terminating, I/O suspended by the user: no force", lostLong(input(t0, time.Time{}, me(true), volume(drbd(state.RolePrimary, false, false, state.ConnConnecting, "user"), []failover.Pod{terminating(local)}, nil))),
			nil},
		{"pod terminating next to an opted-out one: keep its I/O frozen", lostLong(input(t0, time.Time{}, me(true), volume(frozen, []failover.Pod{terminating(local), func() failover.Pod {
			p := local
			p.Name, p.UID, p.OptOut = "pg-keep", "uid-keep", true
			return p
		}()}, nil))),
			[]string{"refuse OptedOut node-b pg-keep"}},
		{"already forced secondary: nothing more", lostLong(input(t0, time.Time{}, me(true), volume(func() *state.Resource {
			r := drbd(state.RoleSecondary, false, false, state.ConnConnecting, "")
			r.ForceIOFailures = true
			return r
		}(), []failover.Pod{terminating(local)}, nil))),
			nil},
		{"node taints turned off: evict without taint", func() failover.Input {
			in := lostLong(input(t0, time.Time{}, me(false), volume(frozen, []failover.Pod{local}, nil)))
			in.Taints = failover.TaintKeys{}
			return in
		}(), []string{"EvictPod node-b pg-0"}},
		{"pods gone, I/O frozen: demote", lostLong(input(t0, time.Time{}, me(true), volume(frozen, nil, nil))),
			[]string{"Demote node-b"}},
		{"opted out: refuse, keep Primary", lostLong(input(t0, time.Time{}, me(true), volume(frozen, []failover.Pod{func() failover.Pod { p := local; p.OptOut = true; return p }()}, nil))),
			[]string{"refuse OptedOut node-b pg-0"}},
		{"not in use: nothing", input(t0, time.Time{}, me(false), volume(drbd(state.RoleSecondary, false, false, state.ConnConnecting, ""), nil, nil)),
			nil},
		{"quorum not configured: nothing", input(t0, time.Time{}, me(false), func() failover.Volume {
			v := volume(frozen, []failover.Pod{local}, nil)
			v.QuorumConfigured = false
			return v
		}()), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := summary(failover.Decide(tt.in)); !slices.Equal(got, tt.want) {
				t.Errorf("decision %v, want %v", got, tt.want)
			}
		})
	}
}

// terminating returns p with a deletion timestamp.
func terminating(p failover.Pod) failover.Pod {
	p.Terminating = true
	return p
}

// TestDecideFailingIO checks a device that fails every I/O here
// (force-io-failures): its running local pods are evicted behind the
// force-io-error taint, unless they opted out or nothing would replace
// them, and the taint goes once no device fails I/O.
func TestDecideFailingIO(t *testing.T) {
	failing := func(quorum bool) *state.Resource {
		r := drbd(state.RoleSecondary, quorum, false, state.ConnConnected, "")
		r.ForceIOFailures = true
		return r
	}
	local := appPod
	local.Node = "node-b"
	me := func(ioTainted bool) map[string]failover.NodeState {
		return map[string]failover.NodeState{"node-b": {Ready: true, IOErrorTainted: ioTainted}}
	}
	tests := []struct {
		name string
		in   failover.Input
		want []string
	}{
		{"running pod: taint, evict at once", input(t0, time.Time{}, me(false), volume(failing(true), []failover.Pod{local}, nil)),
			[]string{"TaintNode node-b io-error", "EvictPod node-b pg-0"}},
		{"taint already there: evict only", input(t0, time.Time{}, me(true), volume(failing(true), []failover.Pod{local}, nil)),
			[]string{"EvictPod node-b pg-0"}},
		{"pod terminating: nothing to do", input(t0, time.Time{}, me(true), volume(failing(true), []failover.Pod{terminating(local)}, nil)),
			nil},
		{"opted out: refused, the node still tainted", input(t0, time.Time{}, me(false), volume(failing(true), []failover.Pod{func() failover.Pod { p := local; p.OptOut = true; return p }()}, nil)),
			[]string{"TaintNode node-b io-error", "refuse OptedOut node-b pg-0"}},
		{"bare pod: refused", input(t0, time.Time{}, me(false), volume(failing(true), []failover.Pod{func() failover.Pod { p := local; p.Controlled = false; return p }()}, nil)),
			[]string{"TaintNode node-b io-error", "refuse NoController node-b pg-0"}},
		{"no local pod: no taint", input(t0, time.Time{}, me(false), volume(failing(true), nil, nil)),
			nil},
		{"device healthy again: untaint", input(t0, time.Time{}, me(true), volume(survivor, nil, nil)),
			[]string{"UntaintNode node-b io-error"}},
		{"without quorum past the timeout too: one eviction", func() failover.Input {
			in := input(t0.Add(timeout), time.Time{}, map[string]failover.NodeState{"node-b": {Ready: true, Tainted: true}}, volume(failing(false), []failover.Pod{local}, nil))
			in.LostSince[failover.Key{Resource: "r0", Node: "node-b"}] = t0
			return in
		}(), []string{"EvictPod node-b pg-0", "TaintNode node-b io-error"}},
		{"not synced: nothing", func() failover.Input {
			in := input(t0, time.Time{}, me(false), volume(failing(true), []failover.Pod{local}, nil))
			in.Synced = false
			return in
		}(), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := summary(failover.Decide(tt.in)); !slices.Equal(got, tt.want) {
				t.Errorf("decision %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDecideUntaintWithHysteresis(t *testing.T) {
	healthy := volume(drbd(state.RoleSecondary, true, false, state.ConnConnected, ""), nil, nil)
	tainted := map[string]failover.NodeState{"node-b": {Ready: true, Tainted: true}}
	in := input(t0, time.Time{}, tainted, healthy)
	d := failover.Decide(in)
	if len(d.Actions) != 0 || !d.HealthySince.Equal(t0) || !d.NextCheck.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("first healthy sight: %v, since %v, next %v", summary(d), d.HealthySince, d.NextCheck)
	}
	in = input(t0.Add(2*time.Second), time.Time{}, tainted, healthy)
	in.HealthySince = t0
	if got := summary(failover.Decide(in)); fmt.Sprint(got) != "[UntaintNode node-b]" {
		t.Errorf("after the hysteresis: %v, want the taint removed", got)
	}
	// Still without quorum somewhere: keep the taint.
	in = input(t0.Add(time.Minute), time.Time{}, tainted, healthy, volume(drbd(state.RoleSecondary, false, false, state.ConnConnecting, ""), nil, nil))
	in.HealthySince = t0
	if d := failover.Decide(in); len(d.Actions) != 0 || !d.HealthySince.IsZero() {
		t.Errorf("a resource without quorum: %v, since %v; want the taint kept", summary(d), d.HealthySince)
	}
}
