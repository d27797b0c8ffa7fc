package e2e

import (
	"context"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
	"github.com/linstor-ha/linstor-ha/pkg/metadata"
	"github.com/linstor-ha/linstor-ha/test/cluster"
)

// roomB are the nodes of the room that survives in these tests.
var roomB = []string{"node-b1", "node-b2", "node-b3"}

// onRoomAAPIServer puts room-b's nodes on room-a's API server, by a
// restart of room-b's as in an upgrade, and returns once the controllers'
// watches are back (see Cluster.MoveRoomToAPIServerOf).
func onRoomAAPIServer(t *testing.T, c *cluster.Cluster) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := c.MoveRoomToAPIServerOf(ctx, "room-b", "room-a"); err != nil {
		t.Fatal(err)
	}
}

// TestHangingPartitionRoomLostWithItsAPIServer: room-a is lost together
// with its API server and etcd member, whose connections hang, while
// room-b's nodes (their sidecars among them) were connected to that API
// server. Every room-a StatefulSet pod runs again in room-b with its volume
// attached, and DRBD never has two writers.
func TestHangingPartitionRoomLostWithItsAPIServer(t *testing.T) {
	o := sidecarOptions(t)
	o.Scheduler, o.Webhook = schedulerBinary(t), webhookBinary(t)
	o.AttacherQPS, o.ControllerManagerQPS = 50, 100
	o.APIServerPerRoom = true
	c := startCluster(t, o)
	ctx := context.Background()
	vols, err := c.RoomWorkloads(ctx, "rooms", "db", 4)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vols {
		watchWriters(t, c, v.Resource())
	}
	onRoomAAPIServer(t, c)
	lost := time.Now()
	if err := c.LoseRoom("room-a"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Minute, "every pod of room-a to run in room-b on its data", func(ctx context.Context) (bool, error) {
		n, err := c.RunningOnData(ctx, vols, "room-b")
		return err == nil && n == len(vols), nil
	})
	t.Logf("all %d pods Running in room-b %s after the room was lost", len(vols), time.Since(lost).Round(100*time.Millisecond))
	for _, n := range roomB {
		conns, err := c.APIConnections(n)
		if err != nil {
			t.Fatal(err)
		}
		if conns["room-b"] == 0 {
			t.Errorf("%s holds no connection to room-b's API server (%v): its clients never left the lost one", n, conns)
		}
	}
}

// TestHangingPartitionNodeBlackholedFromAPIServers: a node that runs a
// stateful pod loses its way to the API server (its connections hang)
// while its DRBD stays connected and Primary. Its node goes NotReady, but
// DRBD proves nothing lost: linstor-ha deletes nothing, the pod keeps its
// volume, and once the way is back the same pod still runs there.
func TestHangingPartitionNodeBlackholedFromAPIServers(t *testing.T) {
	c := sidecarCluster(t)
	ctx := context.Background()
	namespace(t, c, "db")
	vol, first := statefulPodOn(t, c, "db", "pg", "node-a1", "")
	watchWriters(t, c, vol.Resource())
	if err := c.IsolateFromAPI("node-a1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "node-a1 NotReady", func(ctx context.Context) (bool, error) {
		n, err := c.Client.CoreV1().Nodes().Get(ctx, "node-a1", metav1.GetOptions{})
		return err == nil && !cluster.NodeReady(n), nil
	})
	// Long enough for every sign a crash would give: the fail-over
	// timeout, the Lease's silence and the report's staleness, twice.
	time.Sleep(10 * time.Second)
	pod, err := getPod(ctx, c, "db", "pg-0")
	if err != nil || pod.UID != first.UID || pod.DeletionTimestamp != nil {
		t.Fatalf("pg-0 = %v (%v): the pod of a node that DRBD still sees was deleted", pod, err)
	}
	if va, err := c.Attachment(ctx, vol.Resource()); err != nil || va == nil || va.Spec.NodeName != "node-a1" {
		t.Errorf("VolumeAttachment of %s = %v (%v), want it kept on node-a1", vol.Resource(), va, err)
	}
	if v, ok := c.DRBD.View("node-a1", vol.Resource()); !ok || v.Role != state.RolePrimary {
		t.Errorf("node-a1's replica of %s is not Primary any more: %+v", vol.Resource(), v)
	}
	if err := c.ReconnectToAPI("node-a1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "node-a1 Ready again", func(ctx context.Context) (bool, error) {
		n, err := c.Client.CoreV1().Nodes().Get(ctx, "node-a1", metav1.GetOptions{})
		return err == nil && cluster.NodeReady(n), nil
	})
	pod, err = getPod(ctx, c, "db", "pg-0")
	if err != nil || pod.UID != first.UID || pod.DeletionTimestamp != nil || pod.Spec.NodeName != "node-a1" {
		t.Errorf("pg-0 after the way back = %v (%v), want the same pod on node-a1", pod, err)
	}
	if got := events(ctx, c, "db", "pg-0", metadata.ReasonPodForceDeleted); len(got) != 0 {
		t.Errorf("pg-0 has %d %s Events, want none", len(got), metadata.ReasonPodForceDeleted)
	}
	if tainted, err := lostQuorumTainted(ctx, c, "node-a1"); err != nil || tainted {
		t.Errorf("node-a1 lost-quorum taint = %v (%v), want none", tainted, err)
	}
}

// TestHangingPartitionSurvivorCutDuringFailOver: node-a1 crashes; once the
// survivor's DRBD noticed, the survivor's way to its own room's API server
// is black-holed in the middle of the fail-over. Its clients give the hung
// connections up and its load balancer takes it to room-a's API server:
// the fail-over completes there, the replacement runs on the survivor with
// its volume attached, and DRBD never has two writers.
func TestHangingPartitionSurvivorCutDuringFailOver(t *testing.T) {
	o := sidecarOptions(t)
	o.APIServerPerRoom = true
	c := startCluster(t, o)
	ctx := context.Background()
	namespace(t, c, "db")
	vol, first := statefulPodOn(t, c, "db", "pg", "node-a1", "")
	watchWriters(t, c, vol.Resource())
	// The stock scheduler may as well place the replacement on the
	// diskless tiebreaker node-a2; the fail-over under test must go
	// through node-b1's clients, so only node-b1 takes it.
	defer onlyNode(t, c, "node-b1")()
	crashed := time.Now()
	if err := c.CrashNode("node-a1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "node-b1's DRBD to notice", func(context.Context) (bool, error) {
		v, ok := c.DRBD.View("node-b1", vol.Resource())
		if !ok {
			return false, nil
		}
		peer := v.Connection("node-a1")
		return peer == nil || !peer.Connected(), nil
	})
	if err := c.CutAPIPath("node-b1", "room-b", true); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.CutAPIPath("node-b1", "room-b", false) })
	rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	second, err := c.WaitRunningAttached(rctx, "db", "pg-0", vol.Resource(), first.UID)
	if err != nil {
		t.Fatalf("replacement pod never ran with its volume attached: %v", err)
	}
	t.Logf("replacement Running on %s %s after the crash", second.Node, time.Since(crashed).Round(100*time.Millisecond))
	if second.Node != "node-b1" {
		t.Errorf("replacement on %s, want node-b1, the only diskful survivor", second.Node)
	}
	conns, err := c.APIConnections("node-b1")
	if err != nil {
		t.Fatal(err)
	}
	if conns["room-a"] == 0 {
		t.Errorf("node-b1 holds no connection to room-a's API server (%v): the fail-over cannot have gone through it", conns)
	}
	var deleted []string
	for _, e := range events(ctx, c, "db", "pg-0", metadata.ReasonPodForceDeleted) {
		deleted = append(deleted, c.EventReporter(e.ReportingInstance))
	}
	if len(deleted) != 1 || !slices.Contains(deleted, "node-b1") {
		t.Errorf("%s Events of pg-0 from %v, want one from node-b1", metadata.ReasonPodForceDeleted, deleted)
	}
}
