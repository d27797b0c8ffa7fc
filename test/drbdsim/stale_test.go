package drbdsim_test

import (
	"errors"
	"testing"

	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
	"github.com/linstor-ha/linstor-ha/test/drbdsim"
)

func stale(t *testing.T, c *drbdsim.Cluster, node, res string) bool {
	t.Helper()
	r, err := c.Replica(node, res)
	if err != nil {
		t.Fatal(err)
	}
	return r.Stale
}

// TestOutdateThroughAnotherPath cuts only the link between the two diskful
// replicas: the writer keeps quorum through the tiebreaker and outdates the
// other replica through it, so the other replica knows at once.
func TestOutdateThroughAnotherPath(t *testing.T) {
	d := drbdsim.DefaultDelays()
	c, clk := newCluster(t, nil, "a", "b", "t")
	mustAddResource(t, c, drbdsim.ResourceSpec{Name: "r", Replicas: replicas("a", "b", "t:Tiebreaker")})
	must(t, c.OpenDevice("a", "r"))

	must(t, c.Partition([]string{"a"}, []string{"b"}))
	if stale(t, c, "b", "r") {
		t.Fatalf("b is stale before a noticed the cut")
	}
	clk.Step(d.Timeout)
	if got := writers(t, c, "r"); len(got) != 1 || got[0] != "a" {
		t.Fatalf("writers = %v, want [a]: a keeps quorum through the tiebreaker", got)
	}
	if !stale(t, c, "b", "r") {
		t.Errorf("b is not stale although a writes without it")
	}
	if got := disk(t, c, "b", "r"); got != state.DiskOutdated {
		t.Errorf("b's disk = %s, want Outdated (outdated through the tiebreaker)", got)
	}
	if pd := mustView(t, c, "t", "r").Connection("b").PeerDevices[0]; pd.PeerDisk != state.DiskOutdated {
		t.Errorf("t sees b's disk %s, want Outdated", pd.PeerDisk)
	}
	clk.Step(d.PingInt + d.PingTimeout - d.Timeout)
	vb := mustView(t, c, "b", "r")
	if !vb.HasQuorum() || vb.MayPromote != state.FlagNo {
		t.Errorf("b: quorum %v, may_promote %v; want quorum but no promotion (Outdated, no UpToDate peer)", vb.HasQuorum(), vb.MayPromote)
	}

	// Healing resyncs b from a.
	must(t, c.Heal())
	clk.Step(d.Reconnect)
	vb = mustView(t, c, "b", "r")
	if vb.Devices[0].Disk != state.DiskInconsistent || vb.Connection("a").PeerDevices[0].Replication != state.ReplSyncTarget {
		t.Errorf("b after reconnect: disk %s, replication %s; want Inconsistent, SyncTarget",
			vb.Devices[0].Disk, vb.Connection("a").PeerDevices[0].Replication)
	}
	va := mustView(t, c, "a", "r")
	if pd := va.Connection("b").PeerDevices[0]; pd.Replication != state.ReplSyncSource || pd.PeerDisk != state.DiskInconsistent {
		t.Errorf("a after reconnect: sees b %s/%s, want SyncSource/Inconsistent", pd.Replication, pd.PeerDisk)
	}
	clk.Step(d.Resync)
	vb = mustView(t, c, "b", "r")
	if vb.Devices[0].Disk != state.DiskUpToDate || vb.Connection("a").PeerDevices[0].Replication != state.ReplEstablished {
		t.Errorf("b after resync: disk %s, replication %s; want UpToDate, Established",
			vb.Devices[0].Disk, vb.Connection("a").PeerDevices[0].Replication)
	}
	if stale(t, c, "b", "r") {
		t.Errorf("b still stale after the resync")
	}
}

// TestCutOffReplicaCannotKnow cuts a diskful replica off from everyone: it
// misses writes but its view keeps saying UpToDate until it meets a peer.
func TestCutOffReplicaCannotKnow(t *testing.T) {
	c, _ := newCluster(t, noDelays(), "a", "b", "t")
	mustAddResource(t, c, drbdsim.ResourceSpec{Name: "r", Replicas: replicas("a", "b", "t:Tiebreaker")})
	must(t, c.OpenDevice("a", "r"))
	must(t, c.Partition([]string{"b"}, []string{"a", "t"}))

	if !stale(t, c, "b", "r") {
		t.Fatalf("b is not stale although a writes without it")
	}
	vb := mustView(t, c, "b", "r")
	if vb.Devices[0].Disk != state.DiskUpToDate || vb.HasQuorum() {
		t.Errorf("cut-off b: disk %s, quorum %v; want UpToDate (it cannot know), no quorum", vb.Devices[0].Disk, vb.HasQuorum())
	}

	// a crashes; b meets the tiebreaker again and learns it is Outdated.
	must(t, c.Crash("a"))
	must(t, c.HealPartition([]string{"b"}, []string{"t"}))
	vb = mustView(t, c, "b", "r")
	if vb.Devices[0].Disk != state.DiskOutdated || !vb.HasQuorum() || vb.MayPromote != state.FlagNo {
		t.Errorf("b with the tiebreaker: disk %s, quorum %v, may_promote %v; want Outdated, quorum, no",
			vb.Devices[0].Disk, vb.HasQuorum(), vb.MayPromote)
	}
	if vt := mustView(t, c, "t", "r"); vt.MayPromote != state.FlagNo {
		t.Errorf("t: may_promote %v, want no: no replica has UpToDate data", vt.MayPromote)
	}

	// a, which has the newest data, comes back and b resyncs from it.
	must(t, c.Restart("a"))
	must(t, c.Heal())
	if got := disk(t, c, "a", "r"); got != state.DiskUpToDate {
		t.Errorf("restarted a: disk %s, want UpToDate", got)
	}
	if got := disk(t, c, "b", "r"); got != state.DiskUpToDate || stale(t, c, "b", "r") {
		t.Errorf("b after a returned: disk %s, stale %v; want UpToDate, not stale", got, stale(t, c, "b", "r"))
	}
}

// TestRestartOutdatedThenResync crashes a replica while the Primary writes:
// it comes back Outdated and resyncs; a replica that missed nothing comes
// back Consistent and becomes UpToDate when it connects.
func TestRestartOutdatedThenResync(t *testing.T) {
	d := drbdsim.DefaultDelays()
	c, clk := newCluster(t, nil, "a", "b", "c")
	mustAddResource(t, c, drbdsim.ResourceSpec{Name: "r", Replicas: replicas("a", "b", "c")})
	must(t, c.Crash("b"))
	clk.Step(d.PingInt + d.PingTimeout)
	must(t, c.Restart("b"))
	if got := disk(t, c, "b", "r"); got != state.DiskConsistent {
		t.Errorf("b restarted without missed writes: disk %s, want Consistent", got)
	}
	clk.Step(d.Reconnect)
	if got := disk(t, c, "b", "r"); got != state.DiskUpToDate {
		t.Errorf("b connected: disk %s, want UpToDate", got)
	}

	must(t, c.OpenDevice("a", "r"))
	must(t, c.Crash("c"))
	clk.Step(d.Timeout)
	if !stale(t, c, "c", "r") {
		t.Fatalf("c is not stale although a wrote without it")
	}
	must(t, c.Restart("c"))
	vc := mustView(t, c, "c", "r")
	if vc.Role != state.RoleSecondary || vc.Devices[0].Disk != state.DiskOutdated {
		t.Errorf("restarted c: role %s, disk %s; want Secondary, Outdated", vc.Role, vc.Devices[0].Disk)
	}
	clk.Step(d.Reconnect)
	vc = mustView(t, c, "c", "r")
	if vc.Devices[0].Disk != state.DiskInconsistent || vc.Connection("a").PeerDevices[0].Replication != state.ReplSyncTarget {
		t.Errorf("c resyncing: disk %s, replication from a %s; want Inconsistent, SyncTarget",
			vc.Devices[0].Disk, vc.Connection("a").PeerDevices[0].Replication)
	}
	clk.Step(d.Resync)
	if got := disk(t, c, "c", "r"); got != state.DiskUpToDate || stale(t, c, "c", "r") {
		t.Errorf("c after resync: disk %s, stale %v; want UpToDate, not stale", got, stale(t, c, "c", "r"))
	}
}

// TestSplitBrainStandAlone heals a partition while the old Primary is still
// Primary with stale data: the connections go StandAlone until it demotes.
func TestSplitBrainStandAlone(t *testing.T) {
	d := drbdsim.DefaultDelays()
	c, clk := newCluster(t, nil, "a", "b", "t")
	mustAddResource(t, c, drbdsim.ResourceSpec{Name: "r", Replicas: replicas("a", "b", "t:Tiebreaker")})
	must(t, c.OpenDevice("a", "r"))
	must(t, c.Partition([]string{"a"}, []string{"b", "t"}))
	clk.Step(d.PingInt + d.PingTimeout)
	must(t, c.OpenDevice("b", "r"))
	if !stale(t, c, "a", "r") {
		t.Fatalf("a is not stale although b writes without it")
	}

	must(t, c.Heal())
	clk.Step(d.Reconnect)
	for _, pair := range [][2]string{{"a", "b"}, {"b", "a"}, {"a", "t"}, {"t", "a"}} {
		if got := connState(t, c, pair[0], "r", pair[1]); got != state.ConnStandAlone {
			t.Errorf("%s sees %s %s, want StandAlone", pair[0], pair[1], got)
		}
	}
	if got := writers(t, c, "r"); len(got) != 1 || got[0] != "b" {
		t.Errorf("writers = %v, want [b]", got)
	}
	if v := mustView(t, c, "a", "r"); v.Suspended != state.SuspendedQuorum {
		t.Errorf("stale Primary a: suspended %q, want quorum", v.Suspended)
	}

	must(t, c.CloseDevice("a", "r"))
	if got := connState(t, c, "a", "r", "b"); got != state.ConnConnecting {
		t.Errorf("after a demoted: a sees b %s, want Connecting", got)
	}
	clk.Step(d.Reconnect)
	if got := connState(t, c, "a", "r", "b"); got != state.ConnConnected {
		t.Errorf("after reconnecting: a sees b %s, want Connected", got)
	}
	clk.Step(d.Resync)
	if got := disk(t, c, "a", "r"); got != state.DiskUpToDate {
		t.Errorf("a after resync: disk %s, want UpToDate", got)
	}
}

// TestForcedPrimary promotes a replica without UpToDate data by force: its
// data becomes the newest, and the other replica resyncs from it.
func TestForcedPrimary(t *testing.T) {
	c, _ := newCluster(t, noDelays(), "a", "b")
	mustAddResource(t, c, drbdsim.ResourceSpec{Name: "r", Quorum: drbdsim.QuorumOff, Replicas: replicas("a", "b")})
	must(t, c.OpenDevice("a", "r"))
	must(t, c.Crash("b"))
	must(t, c.CloseDevice("a", "r"))
	must(t, c.Crash("a"))
	must(t, c.Restart("b"))
	if got := disk(t, c, "b", "r"); got != state.DiskOutdated {
		t.Fatalf("b restarted after missing writes: disk %s, want Outdated", got)
	}
	var sce *drbdsim.StateChangeError
	if err := c.Primary("b", "r", false); !errors.As(err, &sce) || sce.Code != drbdsim.SSNoUpToDateDisk {
		t.Fatalf("promoting Outdated b: %v, want Need access to UpToDate data", err)
	}
	must(t, c.Primary("b", "r", true))
	if got := disk(t, c, "b", "r"); got != state.DiskUpToDate || stale(t, c, "b", "r") {
		t.Errorf("forced b: disk %s, stale %v; want UpToDate, not stale", got, stale(t, c, "b", "r"))
	}
	must(t, c.Restart("a"))
	if got := disk(t, c, "a", "r"); got != state.DiskUpToDate || stale(t, c, "a", "r") {
		t.Errorf("a after meeting the forced b: disk %s, stale %v; want UpToDate after a resync", got, stale(t, c, "a", "r"))
	}
}
