package e2e

import (
	"context"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/linstor-ha/linstor-ha/test/drbdsim"
)

// TestFailOverAtDetectionOfACrash checks that with DRBD's default delays
// and a 5 s fail-over timeout, a crashed node's pod is force-deleted as
// soon as DRBD notices: the node's liveness Lease went silent long
// before, and the timeout counts from that first sign.
func TestFailOverAtDetectionOfACrash(t *testing.T) {
	opts := sidecarOptions(t, "--fail-over-timeout=5s")
	defaults := drbdsim.DefaultDelays()
	opts.DRBDDelays = &defaults
	// The node lifecycle controller must not be the first sign: with its
	// defaults it notices long after DRBD.
	opts.NodeMonitorGracePeriod, opts.NodeLeaseDuration = 50*time.Second, 40*time.Second
	c := startCluster(t, opts)
	namespace(t, c, "db")
	vol, first := statefulPodOn(t, c, "db", "pg", "node-a1", "")
	watchWriters(t, c, vol.Resource())

	var detected, deleted time.Time
	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	wg.Add(2)
	go func() {
		defer wg.Done()
		_ = wait.PollUntilContextCancel(ctx, 10*time.Millisecond, true, func(context.Context) (bool, error) {
			v, ok := c.DRBD.View("node-b1", vol.Resource())
			if p := v.Connection("node-a1"); ok && p != nil && !p.Connected() {
				detected = time.Now()
				return true, nil
			}
			return false, nil
		})
	}()
	go func() {
		defer wg.Done()
		_ = wait.PollUntilContextCancel(ctx, 10*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			pod, err := getPod(ctx, c, "db", "pg-0")
			if err != nil || pod.UID != first.UID {
				deleted = time.Now()
				return true, nil
			}
			return false, nil
		})
	}()
	crashed := time.Now()
	if err := c.CrashNode("node-a1"); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if detected.IsZero() || deleted.IsZero() {
		t.Fatalf("DRBD noticed at %v, pod deleted at %v: one never came", detected, deleted)
	}
	t.Logf("DRBD noticed %.1fs after the crash, the pod was deleted %.2fs after that",
		detected.Sub(crashed).Seconds(), deleted.Sub(detected).Seconds())
	if after := deleted.Sub(detected); after > time.Second {
		t.Errorf("pod deleted %v after DRBD noticed the crash, want within 1s: the timeout must count from the silent Lease", after)
	}
	rctx, rcancel := context.WithTimeout(context.Background(), time.Minute)
	defer rcancel()
	if _, err := c.WaitRunningAttached(rctx, "db", "pg-0", vol.Resource(), first.UID); err != nil {
		t.Fatalf("replacement pod never ran with its volume attached: %v", err)
	}
}

// TestFailOverAtDetectionNotOnALinkFlap checks that a replication link
// that goes down for 0.8 times the fail-over timeout and comes back, ten
// times in a row, while every sidecar's Lease stays alive, costs no
// deletion and no taint: such a blip waits the whole timeout from DRBD's
// detection.
func TestFailOverAtDetectionNotOnALinkFlap(t *testing.T) {
	const timeout = 3 * time.Second
	c := sidecarCluster(t, "--fail-over-timeout="+timeout.String())
	namespace(t, c, "db")
	vol, first := statefulPodOn(t, c, "db", "pg", "node-a1", "")
	watchWriters(t, c, vol.Resource())

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := c.LinkFlaps(ctx, "node-a1", "node-b1", vol.Resource(), "db", "pg-0", first.UID, 10, timeout*8/10)
	if err != nil {
		t.Fatal(err)
	}
	deletions, taints := res.Deletions, res.Taints
	t.Logf("flap_trials=10 deletions=%d taints=%d", deletions, taints)
	if deletions != 0 || taints != 0 {
		t.Errorf("ten link flaps shorter than the timeout: %d deletions of pg-0, %d taints; want none", deletions, taints)
	}
}
