package drbdsim_test

import (
	"errors"
	"testing"

	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
	"github.com/linstor-ha/linstor-ha/test/drbdsim"
)

// TestAddAndRemoveReplica attaches a volume on a node without a replica, as
// LINSTOR does with a diskless replica, and detaches it again.
func TestAddAndRemoveReplica(t *testing.T) {
	c, clk := newCluster(t, nil, "a", "b", "t", "x", "y")
	mustAddResource(t, c, drbdsim.ResourceSpec{Name: "r", Replicas: replicas("a", "b", "t:Tiebreaker")})

	must(t, c.AddReplica("r", drbdsim.ReplicaSpec{Node: "x", Kind: drbdsim.Diskless}))
	vx := mustView(t, c, "x", "r")
	if vx.Devices[0].Disk != state.DiskDiskless || !vx.Devices[0].Client || !vx.HasQuorum() || vx.MayPromote != state.FlagYes {
		t.Errorf("new diskless replica: %+v, want Diskless client with quorum that may promote", vx)
	}
	if r, err := c.Replica("x", "r"); err != nil || r.NodeID != 3 {
		t.Errorf("new replica: %+v, %v; want node id 3", r, err)
	}
	if conn := mustView(t, c, "a", "r").Connection("x"); conn == nil || conn.State != state.ConnConnected || !conn.PeerDevices[0].PeerClient {
		t.Errorf("a's connection to x = %+v, want Connected to a client", conn)
	}
	// The connections between the other replicas are untouched: a writer
	// goes on writing.
	must(t, c.OpenDevice("a", "r"))
	must(t, c.AddReplica("r", drbdsim.ReplicaSpec{Node: "y", Kind: drbdsim.Diskless}))
	if got := writers(t, c, "r"); len(got) != 1 || got[0] != "a" {
		t.Errorf("writers after attaching y = %v, want [a]", got)
	}
	must(t, c.RemoveReplica("y", "r"))
	must(t, c.CloseDevice("a", "r"))
	must(t, c.OpenDevice("x", "r"))
	var sce *drbdsim.StateChangeError
	if err := c.RemoveReplica("x", "r"); !errors.As(err, &sce) || sce.Code != drbdsim.SSDeviceInUse {
		t.Errorf("removing an open replica: %v, want held open", err)
	}
	must(t, c.CloseDevice("x", "r"))
	must(t, c.RemoveReplica("x", "r"))
	if _, ok := c.View("x", "r"); ok {
		t.Errorf("x still has a view after its replica was removed")
	}
	if conn := mustView(t, c, "a", "r").Connection("x"); conn != nil {
		t.Errorf("a still has a connection to x: %+v", conn)
	}

	// A diskful replica starts empty and resyncs; the freed node id is reused.
	must(t, c.AddReplica("r", drbdsim.ReplicaSpec{Node: "y"}))
	if r, err := c.Replica("y", "r"); err != nil || r.NodeID != 3 || !r.Stale || r.View.Devices[0].Disk != state.DiskInconsistent {
		t.Errorf("new diskful replica: %+v, %v; want node id 3, Inconsistent", r, err)
	}
	clk.Step(drbdsim.DefaultDelays().Resync)
	if r, err := c.Replica("y", "r"); err != nil || r.Stale || r.View.Devices[0].Disk != state.DiskUpToDate {
		t.Errorf("new diskful replica after its resync: %+v, %v; want UpToDate", r, err)
	}

	must(t, c.Crash("x"))
	if err := c.AddReplica("r", drbdsim.ReplicaSpec{Node: "x"}); !errors.Is(err, drbdsim.ErrNodeDown) {
		t.Errorf("adding a replica on a crashed node: %v, want ErrNodeDown", err)
	}
	if err := c.AddReplica("nope", drbdsim.ReplicaSpec{Node: "a"}); !errors.Is(err, drbdsim.ErrUnknownResource) {
		t.Errorf("adding a replica of an unknown resource: %v, want ErrUnknownResource", err)
	}
	if err := c.AddReplica("r", drbdsim.ReplicaSpec{Node: "a"}); !errors.Is(err, drbdsim.ErrExists) {
		t.Errorf("adding a second replica on a node: %v, want ErrExists", err)
	}
	if err := c.RemoveReplica("zz", "r"); !errors.Is(err, drbdsim.ErrUnknownNode) {
		t.Errorf("removing the replica of an unknown node: %v, want ErrUnknownNode", err)
	}
}
