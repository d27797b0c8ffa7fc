package drbdsim_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
	"github.com/linstor-ha/linstor-ha/test/drbdsim"
)

// nodeWant is what a node's view must show; crashed or down nodes have no
// entry. forceIOFailures is events2's force-io-failures.
type nodeWant struct {
	quorum, mayPromote, suspended, forceIOFailures bool
}

var (
	quorate   = nodeWant{quorum: true, mayPromote: true}
	inquorate = nodeWant{}
	frozen    = nodeWant{suspended: true}
	// failing fails its I/O (on-no-quorum io-error), which DRBD does not
	// show as force-io-failures: that flag is only set by a forced
	// demotion. Only Writers tells it from a writer.
	failing     = nodeWant{}
	quorateOnly = nodeWant{quorum: true} // quorum, but another node is Primary
)

func TestQuorumTruthTables(t *testing.T) {
	twoPlusTiebreaker := replicas("a", "b", "t:Tiebreaker")
	threeDiskful := replicas("a", "b", "c")
	twoDiskful := replicas("a", "b")
	fourPlusTiebreaker := replicas("a", "b", "c", "d", "t:Tiebreaker")

	tests := []struct {
		name       string
		replicas   []drbdsim.ReplicaSpec
		onNoQuorum string
		quorumOff  bool
		// open is the node whose device is open (Primary) before the faults.
		open   string
		faults func(c *drbdsim.Cluster) error
		want   map[string]nodeWant
	}{
		{
			name: "2+T: all connected", replicas: twoPlusTiebreaker,
			want: map[string]nodeWant{"a": quorate, "b": quorate, "t": quorate},
		},
		{
			name: "2+T: isolated diskful loses quorum, the other keeps it", replicas: twoPlusTiebreaker,
			faults: partition([]string{"a"}, []string{"b", "t"}),
			want:   map[string]nodeWant{"a": inquorate, "b": quorate, "t": quorate},
		},
		{
			name: "2+T: crashed diskful", replicas: twoPlusTiebreaker,
			faults: crash("a"),
			want:   map[string]nodeWant{"b": quorate, "t": quorate},
		},
		{
			name: "2+T: crashed tiebreaker", replicas: twoPlusTiebreaker,
			faults: crash("t"),
			want:   map[string]nodeWant{"a": quorate, "b": quorate},
		},
		{
			name: "2+T: crashed diskful and tiebreaker", replicas: twoPlusTiebreaker,
			faults: crash("a", "t"),
			want:   map[string]nodeWant{"b": inquorate},
		},
		{
			name: "2+T: diskful down gracefully is not counted", replicas: twoPlusTiebreaker,
			faults: down("a"),
			want:   map[string]nodeWant{"b": quorate, "t": quorate},
		},
		{
			name: "2+T: after a graceful down the last diskful is a majority alone", replicas: twoPlusTiebreaker,
			faults: seq(down("a"), partition([]string{"b"}, []string{"t"})),
			want:   map[string]nodeWant{"b": quorate, "t": inquorate},
		},
		{
			name: "2+T: isolated Primary suspends I/O", replicas: twoPlusTiebreaker, open: "a",
			faults: partition([]string{"a"}, []string{"b", "t"}),
			want:   map[string]nodeWant{"a": frozen, "b": quorate, "t": quorate},
		},
		{
			name: "2+T: isolated Primary with io-error fails I/O", replicas: twoPlusTiebreaker, open: "a", onNoQuorum: drbdsim.OnNoQuorumIOError,
			faults: partition([]string{"a"}, []string{"b", "t"}),
			want:   map[string]nodeWant{"a": failing, "b": quorate, "t": quorate},
		},
		{
			name: "2+T: Primary that keeps quorum keeps writing", replicas: twoPlusTiebreaker, open: "a",
			faults: partition([]string{"a", "t"}, []string{"b"}),
			want:   map[string]nodeWant{"a": {quorum: true}, "b": inquorate, "t": quorateOnly},
		},
		{
			name: "3: all connected", replicas: threeDiskful,
			want: map[string]nodeWant{"a": quorate, "b": quorate, "c": quorate},
		},
		{
			name: "3: one against two", replicas: threeDiskful,
			faults: partition([]string{"a"}, []string{"b", "c"}),
			want:   map[string]nodeWant{"a": inquorate, "b": quorate, "c": quorate},
		},
		{
			name: "3: one crashed", replicas: threeDiskful,
			faults: crash("a"),
			want:   map[string]nodeWant{"b": quorate, "c": quorate},
		},
		{
			name: "3: two crashed", replicas: threeDiskful,
			faults: crash("a", "b"),
			want:   map[string]nodeWant{"c": inquorate},
		},
		{
			name: "3: one down gracefully", replicas: threeDiskful,
			faults: down("a"),
			want:   map[string]nodeWant{"b": quorate, "c": quorate},
		},
		{
			name: "3: one down gracefully, then one crashed", replicas: threeDiskful,
			faults: seq(down("a"), crash("b")),
			want:   map[string]nodeWant{"c": inquorate},
		},
		{
			name: "3: isolated Primary", replicas: threeDiskful, open: "a",
			faults: partition([]string{"a"}, []string{"b", "c"}),
			want:   map[string]nodeWant{"a": frozen, "b": quorate, "c": quorate},
		},
		{
			name: "2 without tiebreaker: all connected", replicas: twoDiskful,
			want: map[string]nodeWant{"a": quorate, "b": quorate},
		},
		{
			name: "2 without tiebreaker: a lone node has no quorum", replicas: twoDiskful,
			faults: partition([]string{"a"}, []string{"b"}),
			want:   map[string]nodeWant{"a": inquorate, "b": inquorate},
		},
		{
			name: "2 without tiebreaker: peer crashed", replicas: twoDiskful,
			faults: crash("b"),
			want:   map[string]nodeWant{"a": inquorate},
		},
		{
			name: "2 without tiebreaker: peer down gracefully", replicas: twoDiskful,
			faults: down("b"),
			want:   map[string]nodeWant{"a": quorate},
		},
		{
			name: "4+T: even split, the side with the tiebreaker keeps quorum", replicas: fourPlusTiebreaker,
			faults: partition([]string{"a", "b"}, []string{"c", "d", "t"}),
			want:   map[string]nodeWant{"a": inquorate, "b": inquorate, "c": quorate, "d": quorate, "t": quorate},
		},
		{
			name: "4+T: even split the other way", replicas: fourPlusTiebreaker,
			faults: partition([]string{"a", "b", "t"}, []string{"c", "d"}),
			want:   map[string]nodeWant{"a": quorate, "b": quorate, "t": quorate, "c": inquorate, "d": inquorate},
		},
		{
			name: "4+T: isolated tiebreaker", replicas: fourPlusTiebreaker,
			faults: partition([]string{"t"}, []string{"a", "b", "c", "d"}),
			want:   map[string]nodeWant{"a": quorate, "b": quorate, "c": quorate, "d": quorate, "t": inquorate},
		},
		{
			name: "4+T: three against one and the tiebreaker", replicas: fourPlusTiebreaker,
			faults: partition([]string{"a", "b", "c"}, []string{"d", "t"}),
			want:   map[string]nodeWant{"a": quorate, "b": quorate, "c": quorate, "d": inquorate, "t": inquorate},
		},
		{
			name: "quorum off: both halves keep quorum", replicas: twoDiskful, quorumOff: true,
			faults: partition([]string{"a"}, []string{"b"}),
			want:   map[string]nodeWant{"a": quorate, "b": quorate},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var nodes []string
			for _, r := range tt.replicas {
				nodes = append(nodes, r.Node)
			}
			c, _ := newCluster(t, noDelays(), nodes...)
			spec := drbdsim.ResourceSpec{Name: "r", Replicas: tt.replicas, OnNoQuorum: tt.onNoQuorum}
			if tt.quorumOff {
				spec.Quorum = drbdsim.QuorumOff
			}
			mustAddResource(t, c, spec)
			if tt.open != "" {
				must(t, c.OpenDevice(tt.open, "r"))
			}
			if tt.faults != nil {
				must(t, tt.faults(c))
			}
			for _, n := range nodes {
				want, ok := tt.want[n]
				view, has := c.View(n, "r")
				if has != ok {
					t.Fatalf("node %s: has view %v, want %v", n, has, ok)
				}
				if !ok {
					continue
				}
				got := nodeWant{
					quorum:          view.HasQuorum(),
					mayPromote:      view.MayPromote == state.FlagYes,
					suspended:       view.Suspended == state.SuspendedQuorum,
					forceIOFailures: view.ForceIOFailures,
				}
				if got != want {
					t.Errorf("node %s: got %+v, want %+v", n, got, want)
				}
				if view.Suspended != state.SuspendedNo && view.Suspended != state.SuspendedQuorum {
					t.Errorf("node %s: suspended %q", n, view.Suspended)
				}
			}
			// The opener writes exactly when it keeps quorum: a frozen or
			// failing Primary does not.
			var want []string
			if w, ok := tt.want[tt.open]; ok && tt.open != "" && w.quorum {
				want = []string{tt.open}
			}
			if got := writers(t, c, "r"); !slices.Equal(got, want) {
				t.Errorf("writers = %v, want %v", got, want)
			}
		})
	}
}

func partition(a, b []string) func(*drbdsim.Cluster) error {
	return func(c *drbdsim.Cluster) error { return c.Partition(a, b) }
}

func crash(nodes ...string) func(*drbdsim.Cluster) error {
	return func(c *drbdsim.Cluster) error {
		for _, n := range nodes {
			if err := c.Crash(n); err != nil {
				return err
			}
		}
		return nil
	}
}

func down(node string) func(*drbdsim.Cluster) error {
	return func(c *drbdsim.Cluster) error { return c.DownReplica(node, "r") }
}

func seq(steps ...func(*drbdsim.Cluster) error) func(*drbdsim.Cluster) error {
	return func(c *drbdsim.Cluster) error {
		for _, s := range steps {
			if err := s(c); err != nil {
				return err
			}
		}
		return nil
	}
}

// TestDetectionDelays checks that views learn of a broken link only after
// DRBD's delays, and that a healed link connects after the reconnect delay.
func TestDetectionDelays(t *testing.T) {
	d := drbdsim.DefaultDelays()
	idle := d.PingInt + d.PingTimeout
	c, clk := newCluster(t, nil, "a", "b", "t")
	mustAddResource(t, c, drbdsim.ResourceSpec{Name: "r", Replicas: replicas("a", "b", "t:Tiebreaker")})

	must(t, c.Partition([]string{"a"}, []string{"b", "t"}))
	clk.Step(idle - time.Millisecond)
	for _, pair := range [][2]string{{"a", "b"}, {"a", "t"}, {"b", "a"}, {"t", "a"}} {
		if got := connState(t, c, pair[0], "r", pair[1]); got != state.ConnConnected {
			t.Errorf("before ping-int+ping-timeout: %s sees %s %s, want Connected", pair[0], pair[1], got)
		}
	}
	if v := mustView(t, c, "a", "r"); !v.HasQuorum() {
		t.Errorf("a lost quorum before noticing anything")
	}
	clk.Step(time.Millisecond)
	for _, pair := range [][2]string{{"a", "b"}, {"a", "t"}, {"b", "a"}, {"t", "a"}} {
		if got := connState(t, c, pair[0], "r", pair[1]); got != state.ConnConnecting {
			t.Errorf("after ping-int+ping-timeout: %s sees %s %s, want Connecting", pair[0], pair[1], got)
		}
	}
	v := mustView(t, c, "a", "r")
	if v.HasQuorum() || v.Connection("b").PeerRole != state.RoleUnknown || v.Connection("b").PeerDevices[0].PeerDisk != state.DiskUnknown {
		t.Errorf("a after detection: quorum %v, peer role %s, peer disk %s; want no quorum, Unknown, DUnknown",
			v.HasQuorum(), v.Connection("b").PeerRole, v.Connection("b").PeerDevices[0].PeerDisk)
	}

	must(t, c.Heal())
	clk.Step(d.Reconnect - time.Millisecond)
	if got := connState(t, c, "a", "r", "b"); got != state.ConnConnecting {
		t.Errorf("before the reconnect delay: a sees b %s, want Connecting", got)
	}
	clk.Step(time.Millisecond)
	if got := connState(t, c, "a", "r", "b"); got != state.ConnConnected {
		t.Errorf("after the reconnect delay: a sees b %s, want Connected", got)
	}
	if v := mustView(t, c, "a", "r"); !v.HasQuorum() || v.MayPromote != state.FlagYes {
		t.Errorf("a after reconnecting: quorum %v, may_promote %v; want quorum, may promote", v.HasQuorum(), v.MayPromote)
	}
}

// TestDetectionDelayUnderIO checks that a Primary with the device open
// notices a lost peer after timeout, before the idle peers do.
func TestDetectionDelayUnderIO(t *testing.T) {
	d := drbdsim.DefaultDelays()
	c, clk := newCluster(t, nil, "a", "b", "t")
	mustAddResource(t, c, drbdsim.ResourceSpec{Name: "r", Replicas: replicas("a", "b", "t:Tiebreaker")})
	must(t, c.OpenDevice("a", "r"))

	must(t, c.Partition([]string{"a"}, []string{"b", "t"}))
	clk.Step(d.Timeout - time.Millisecond)
	if got := connState(t, c, "a", "r", "b"); got != state.ConnConnected {
		t.Fatalf("before timeout: a sees b %s, want Connected", got)
	}
	if w := writers(t, c, "r"); len(w) != 0 {
		t.Fatalf("writers before timeout = %v, want none: a's writes wait for b", w)
	}
	clk.Step(time.Millisecond)
	v := mustView(t, c, "a", "r")
	if got := v.Connection("b").State; got != state.ConnConnecting {
		t.Fatalf("after timeout: a sees b %s, want Connecting", got)
	}
	if v.Suspended != state.SuspendedQuorum {
		t.Errorf("a after timeout: suspended %q, want quorum", v.Suspended)
	}
	if w := writers(t, c, "r"); len(w) != 0 {
		t.Errorf("writers after a froze = %v, want none", w)
	}
	// b still believes a is its connected Primary.
	vb := mustView(t, c, "b", "r")
	if vb.Connection("a").State != state.ConnConnected || vb.Connection("a").PeerRole != state.RolePrimary || vb.MayPromote != state.FlagNo {
		t.Errorf("b before its own detection: sees a %s/%s, may_promote %v; want Connected/Primary, no",
			vb.Connection("a").State, vb.Connection("a").PeerRole, vb.MayPromote)
	}
	clk.Step(d.PingInt + d.PingTimeout - d.Timeout)
	vb = mustView(t, c, "b", "r")
	if vb.Connection("a").State != state.ConnConnecting || vb.MayPromote != state.FlagYes {
		t.Errorf("b after its detection: sees a %s, may_promote %v; want Connecting, yes", vb.Connection("a").State, vb.MayPromote)
	}
	must(t, c.OpenDevice("b", "r"))
	if w := writers(t, c, "r"); len(w) != 1 || w[0] != "b" {
		t.Errorf("writers after b took over = %v, want [b]", w)
	}
	var se *drbdsim.StateChangeError
	if err := c.Secondary("a", "r", false); !errors.As(err, &se) || se.Code != drbdsim.SSDeviceInUse {
		t.Errorf("secondary on the frozen, open a: %v, want state change error %d", err, drbdsim.SSDeviceInUse)
	}
}
