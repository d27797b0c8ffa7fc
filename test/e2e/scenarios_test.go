package e2e

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/linstor-ha/linstor-ha/pkg/metadata"
	"github.com/linstor-ha/linstor-ha/test/cluster"
)

// fullStackCluster runs all three parts as the manifests deploy them:
// webhook, linstor-ha's scheduler and a sidecar per node, with
// sidecarCluster's fast timings, and rate limits that move a room's
// volumes quickly.
func fullStackCluster(t *testing.T) *cluster.Cluster {
	t.Helper()
	o := sidecarOptions(t)
	o.Scheduler, o.Webhook = schedulerBinary(t), webhookBinary(t)
	o.AttacherQPS, o.ControllerManagerQPS = 50, 100
	return startCluster(t, o)
}

// TestScenarioRoomLoss: room-a is lost. Every stateful pod whose volume has
// quorum in room-b runs again there, on a node with an UpToDate replica;
// the one volume whose tiebreaker was in room-a has no quorum left in
// room-b, so its pod is left alone and DRBD never has two writers.
func TestScenarioRoomLoss(t *testing.T) {
	c := fullStackCluster(t)
	ctx := context.Background()
	namespace(t, c, "stuck")
	stuckVol, stuck := statefulPodOn(t, c, "stuck", "solo", "node-a1", "")
	watchWriters(t, c, stuckVol.Resource())
	vols, err := c.RoomWorkloads(ctx, "rooms", "db", 6)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"node-a1", "node-a2", "node-a3"} {
		if err := c.CrashNode(n); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 90*time.Second, "every pod of room-a to run in room-b on its data", func(ctx context.Context) (bool, error) {
		n, err := c.RunningOnData(ctx, vols, "room-b")
		return err == nil && n == len(vols), nil
	})
	pod, err := getPod(ctx, c, "stuck", "solo-0")
	if err != nil || pod.UID != stuck.UID {
		t.Fatalf("solo-0 = %v (%v): the pod of a volume without quorum in room-b was replaced", pod, err)
	}
	if got := events(ctx, c, "stuck", "solo-0", metadata.ReasonPodForceDeleted); len(got) != 0 {
		t.Errorf("solo-0 was force-deleted although room-b has no quorum for its volume")
	}
}

// TestScenarioSchedulerDownDuringFailover: with linstor-ha's scheduler
// down, the sidecar still fails the pod over (old pod deleted, volume
// released); the replacement waits, Pending, for the scheduler, and runs on
// the surviving replica once it is back.
func TestScenarioSchedulerDownDuringFailover(t *testing.T) {
	c := fullStackCluster(t)
	ctx := context.Background()
	namespace(t, c, "db")
	vol, first := statefulPodOn(t, c, "db", "pg", "node-a1", "")
	c.StopScheduler()
	if err := c.CrashNode("node-a1"); err != nil {
		t.Fatal(err)
	}
	var replacement *corev1.Pod
	waitFor(t, 30*time.Second, "the replacement of pg-0 to be created and the volume released", func(ctx context.Context) (bool, error) {
		pod, err := getPod(ctx, c, "db", "pg-0")
		if err != nil || pod.UID == first.UID {
			return false, nil
		}
		va, err := c.Attachment(ctx, vol.Resource())
		replacement = pod
		return err == nil && va == nil, nil
	})
	if replacement.Spec.SchedulerName != "linstor-ha-scheduler" || replacement.Spec.NodeName != "" {
		t.Fatalf("replacement: scheduler %q, node %q; want it waiting for linstor-ha-scheduler", replacement.Spec.SchedulerName, replacement.Spec.NodeName)
	}
	if err := c.StartScheduler(ctx); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	at, err := c.WaitRunningAttached(wctx, "db", "pg-0", vol.Resource(), first.UID)
	if err != nil || at.Node != "node-b1" {
		t.Fatalf("replacement at %+v (%v), want it on node-b1, the surviving replica", at, err)
	}
}

// TestScenarioWebhookDownDuringFailover: with the webhook down, the
// sidecar still fails the pod over and the replacement is admitted,
// unmutated, and scheduled by the default scheduler.
func TestScenarioWebhookDownDuringFailover(t *testing.T) {
	c := fullStackCluster(t)
	ctx := context.Background()
	namespace(t, c, "db")
	_, first := statefulPodOn(t, c, "db", "pg", "node-a1", "")
	c.StopWebhook()
	if err := c.CrashNode("node-a1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the replacement of pg-0 to be admitted and scheduled", func(ctx context.Context) (bool, error) {
		pod, err := getPod(ctx, c, "db", "pg-0")
		return err == nil && pod.UID != first.UID && pod.Spec.NodeName != "", nil
	})
	pod, err := getPod(ctx, c, "db", "pg-0")
	if err != nil {
		t.Fatal(err)
	}
	if pod.Spec.SchedulerName != corev1.DefaultSchedulerName {
		t.Errorf("replacement admitted with scheduler %q while the webhook was down, want %q", pod.Spec.SchedulerName, corev1.DefaultSchedulerName)
	}
}
