package drbdsim_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/linstor-ha/linstor-ha/pkg/drbd/drbdjson"
	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
	"github.com/linstor-ha/linstor-ha/test/drbdsim"
)

// roundTrip encodes v as drbdsetup would print it and decodes it again.
func roundTrip[T any](t *testing.T, v T) T {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out T
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("failed to decode %s: %v", data, err)
	}
	return out
}

// TestStatusAgreesWithView checks status --json against the view on every
// node, through faults and a resync.
func TestStatusAgreesWithView(t *testing.T) {
	d := drbdsim.DefaultDelays()
	nodes := []string{"a", "b", "t"}
	c, clk := newCluster(t, nil, nodes...)
	mustAddResource(t, c, drbdsim.ResourceSpec{Name: "r", Volumes: 2, Replicas: replicas("a", "b", "t:Tiebreaker")})
	mustAddResource(t, c, drbdsim.ResourceSpec{Name: "s", Replicas: replicas("b", "t")})
	check := func(step string) {
		t.Helper()
		for _, n := range nodes {
			status, err := c.Status(n, "all")
			if errors.Is(err, drbdsim.ErrNodeDown) {
				continue
			}
			must(t, err)
			for _, r := range roundTrip(t, status) {
				compareStatus(t, step, n, &r, mustView(t, c, n, r.Name))
			}
		}
	}
	check("start")
	must(t, c.OpenDevice("a", "r"))
	must(t, c.Partition([]string{"a"}, []string{"b", "t"}))
	clk.Step(d.PingInt + d.PingTimeout)
	check("isolated a")
	must(t, c.OpenDevice("b", "r"))
	// a's I/O is frozen: its openers cannot close the device yet.
	if err := c.CloseDevice("a", "r"); !errors.Is(err, drbdsim.ErrCloseBlocked) {
		t.Fatalf("close on the frozen a: %v, want ErrCloseBlocked", err)
	}
	check("a's close pending")
	must(t, c.Heal())
	// a meets b's newer data: a's disk is Outdated, its frozen I/O fails,
	// the close completes and a reconnects as Secondary and resyncs.
	clk.Step(d.Reconnect)
	check("a outdated")
	clk.Step(d.Reconnect + d.Resync/2)
	check("resyncing")
	status, err := c.Status("b", "r")
	must(t, err)
	pd := status[0].Connections[0].PeerDevices[0]
	if pd.ReplicationState != state.ReplSyncSource || pd.PercentResyncDone == nil || *pd.PercentResyncDone != 50 || pd.OutOfSync == 0 {
		t.Errorf("b's peer device towards the resyncing a = %+v, want SyncSource half done", pd)
	}
	clk.Step(d.Resync / 2)
	check("resynced")
	must(t, c.Crash("t"))
	check("t crashed")

	if _, err := c.Status("a", "nothing"); !errors.Is(err, drbdsim.ErrUnknownResource) {
		t.Errorf("status of an unknown resource: %v, want ErrUnknownResource", err)
	}
	if _, err := c.Status("t", "all"); !errors.Is(err, drbdsim.ErrNodeDown) {
		t.Errorf("status on a crashed node: %v, want ErrNodeDown", err)
	}
}

func compareStatus(t *testing.T, step, node string, got *drbdjson.Resource, view *state.Resource) {
	t.Helper()
	if got.Role != view.Role || got.SuspendedQuorum != (view.Suspended == state.SuspendedQuorum) ||
		got.Suspended != view.IOSuspended() || got.ForceIOFailures != view.ForceIOFailures {
		t.Errorf("%s, %s, %s: status resource %+v disagrees with view %+v", step, node, got.Name, got, view)
	}
	if len(got.Devices) != len(view.Devices) || len(got.Connections) != len(view.Connections) {
		t.Fatalf("%s, %s, %s: status has %d devices and %d connections, view %d and %d", step, node, got.Name,
			len(got.Devices), len(got.Connections), len(view.Devices), len(view.Connections))
	}
	for i, d := range got.Devices {
		v := view.Devices[i]
		if d.Volume != v.Volume || int32(d.Minor) != v.Minor || d.DiskState != v.Disk || d.Client != v.Client ||
			d.Quorum != v.Quorum || d.Open != v.Open || d.Size == 0 {
			t.Errorf("%s, %s, %s: status device %+v disagrees with view %+v", step, node, got.Name, d, v)
		}
	}
	for i, conn := range got.Connections {
		v := view.Connections[i]
		if conn.PeerNodeID != v.PeerNodeID || conn.Name != v.Name || conn.ConnectionState != v.State || conn.PeerRole != v.PeerRole ||
			len(conn.Paths) != 1 || conn.Paths[0].Established != (v.State == state.ConnConnected) {
			t.Errorf("%s, %s, %s: status connection %+v disagrees with view %+v", step, node, got.Name, conn, v)
		}
		for j, pd := range conn.PeerDevices {
			vp := v.PeerDevices[j]
			if pd.Volume != vp.Volume || pd.ReplicationState != vp.Replication || pd.PeerDiskState != vp.PeerDisk ||
				pd.PeerClient != vp.PeerClient || pd.ResyncSuspended != vp.ResyncSuspended {
				t.Errorf("%s, %s, %s: status peer device %+v disagrees with view %+v", step, node, got.Name, pd, vp)
			}
		}
	}
}

func TestShow(t *testing.T) {
	c, _ := newCluster(t, nil, "a", "b", "t")
	mustAddResource(t, c, drbdsim.ResourceSpec{Name: "r", Volumes: 2, OnNoQuorum: drbdsim.OnNoQuorumIOError,
		Replicas: replicas("a", "b", "t:Tiebreaker")})
	show, err := c.Show("t", "r")
	must(t, err)
	got := roundTrip(t, show)
	if len(got) != 1 {
		t.Fatalf("show has %d resources, want 1", len(got))
	}
	r := got[0]
	if r.Resource != "r" || r.Options.Quorum != drbdsim.QuorumMajority || r.Options.OnNoQuorum != drbdsim.OnNoQuorumIOError ||
		r.Options.AutoPromote == nil || !*r.Options.AutoPromote {
		t.Errorf("show resource = %+v", r)
	}
	if r.ThisHost.NodeID != 2 || len(r.ThisHost.Volumes) != 2 || r.ThisHost.Volumes[1].DeviceMinor != 1001 ||
		!r.ThisHost.Volumes[0].IntentionalDiskless() {
		t.Errorf("show _this_host = %+v", r.ThisHost)
	}
	if len(r.Connections) != 2 {
		t.Fatalf("show has %d connections, want 2", len(r.Connections))
	}
	for i, conn := range r.Connections {
		peer := []string{"a", "b"}[i]
		if conn.PeerNodeID != int32(i) || conn.Net.Name != peer || conn.CState != state.ConnConnected ||
			conn.Net.PingInt != "10" || conn.Net.PingTimeout != "5" || conn.Net.Timeout != "60" || len(conn.Paths) != 1 {
			t.Errorf("show connection %d = %+v", i, conn)
		}
	}
	all, err := c.Show("a", "")
	must(t, err)
	if len(all) != 1 || all[0].ThisHost.Volumes[0].BackingDisk == "" || all[0].ThisHost.Volumes[0].MetaDisk != "internal" {
		t.Errorf("show on a diskful node = %+v", all)
	}
}
