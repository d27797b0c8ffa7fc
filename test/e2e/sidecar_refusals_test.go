package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/linstor-ha/linstor-ha/pkg/metadata"
)

// TestSidecarDoesNothingWithoutProof covers the refusals: a disconnect
// shorter than the timeout, a pod that opted out, a volume without quorum.
func TestSidecarDoesNothingWithoutProof(t *testing.T) {
	c := sidecarCluster(t, "--fail-over-timeout=4s")
	ctx := context.Background()
	namespace(t, c, "db")
	pgVol, pg := statefulPodOn(t, c, "db", "pg", "node-a1", "")
	_, kv := statefulPodOn(t, c, "db", "kv", "node-a1", "off")

	// A short cut of node-a1's replication links: DRBD notices and
	// reconnects within the timeout.
	if err := c.SplitReplication([]string{"node-a1"}, allBut(c, "node-a1")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "node-b1 to notice", func(context.Context) (bool, error) {
		v, ok := c.DRBD.View("node-b1", pgVol.Resource())
		return ok && !v.Connection("node-a1").Connected(), nil
	})
	time.Sleep(time.Second)
	if err := c.HealReplication(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(6 * time.Second)
	for _, p := range []struct{ name, uid string }{{"pg-0", string(pg.UID)}, {"kv-0", string(kv.UID)}} {
		pod, err := getPod(ctx, c, "db", p.name)
		if err != nil || string(pod.UID) != p.uid || pod.DeletionTimestamp != nil {
			t.Fatalf("%s after a short disconnect = %v (%v), want it untouched", p.name, pod, err)
		}
	}
	if tainted, _ := lostQuorumTainted(ctx, c, "node-a1"); tainted {
		t.Fatal("node-a1 tainted after a short disconnect")
	}

	// pg-0 opts out; kv-0's volume runs without quorum. A crash moves
	// neither, and says why.
	patch := `{"metadata":{"annotations":{"` + metadata.AnnotationIgnoreFailOverCompat + `":""}}}`
	if _, err := c.Client.CoreV1().Pods("db").Patch(ctx, "pg-0", types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.CrashNode("node-a1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the refusals to be recorded", func(ctx context.Context) (bool, error) {
		return len(events(ctx, c, "db", "pg-0", metadata.ReasonFailOverRefused)) > 0 &&
			len(events(ctx, c, "", "node-a1", metadata.ReasonFailOverRefused)) > 0, nil
	})
	for _, e := range events(ctx, c, "db", "pg-0", metadata.ReasonFailOverRefused) {
		if !strings.Contains(e.Message, "OptedOut") {
			t.Errorf("pg-0 refusal %q does not say it opted out", e.Message)
		}
	}
	quorumOff := false
	for _, e := range events(ctx, c, "", "node-a1", metadata.ReasonFailOverRefused) {
		quorumOff = quorumOff || strings.Contains(e.Message, "QuorumNotConfigured")
	}
	if !quorumOff {
		t.Error("no Event says that kv-0's volume runs without quorum")
	}
	for _, p := range []struct{ name, uid string }{{"pg-0", string(pg.UID)}, {"kv-0", string(kv.UID)}} {
		pod, err := getPod(ctx, c, "db", p.name)
		if err != nil || string(pod.UID) != p.uid {
			t.Errorf("%s = %v (%v), want the old pod kept", p.name, pod, err)
		}
	}
}

// TestSidecarRestartedMidwayCompletes kills the acting sidecar right after a
// crash and its drbdsetup stream later: the restarted sidecar resyncs and
// completes the fail-over, once.
func TestSidecarRestartedMidwayCompletes(t *testing.T) {
	c := sidecarCluster(t)
	ctx := context.Background()
	namespace(t, c, "db")
	vol, first := statefulPodOn(t, c, "db", "pg", "node-a1", "")
	if err := c.CrashNode("node-a1"); err != nil {
		t.Fatal(err)
	}
	if err := c.StopSidecar("node-b1"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	pod, err := getPod(ctx, c, "db", "pg-0")
	if err != nil || pod.UID != first.UID {
		t.Fatalf("pg-0 = %v (%v): someone acted while the acting sidecar was down", pod, err)
	}
	if err := c.StartSidecar("node-b1"); err != nil {
		t.Fatal(err)
	}
	// Kill the new sidecar's drbdsetup events2 once: it must restart it.
	waitFor(t, 30*time.Second, "node-b1's events2 stream", func(context.Context) (bool, error) {
		return c.KillDrbdsetup("node-b1") > 0, nil
	})
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	second, err := c.WaitRunningAttached(rctx, "db", "pg-0", vol.Resource(), first.UID)
	if err != nil {
		t.Fatalf("fail-over did not complete after the restart: %v", err)
	}
	t.Logf("replacement on %s", second.Node)
	if got := events(ctx, c, "db", "pg-0", metadata.ReasonPodForceDeleted); len(got) != 1 {
		t.Errorf("%d %s Events, want exactly 1", len(got), metadata.ReasonPodForceDeleted)
	}
	n, _ := c.Node("node-b1")
	waitFor(t, 30*time.Second, "a drbdsetup restart in node-b1's metrics", func(context.Context) (bool, error) {
		body, err := httpGet("http://" + n.SidecarHTTP + "/metrics")
		return err == nil && strings.Contains(body, "linstor_ha_drbdsetup_restarts_total 1"), nil
	})
}

// TestSidecarDryRunChangesNothing: with --dry-run the sidecar records what
// it would do after a crash and does none of it.
func TestSidecarDryRunChangesNothing(t *testing.T) {
	c := sidecarCluster(t, "--dry-run")
	ctx := context.Background()
	namespace(t, c, "db")
	_, first := statefulPodOn(t, c, "db", "pg", "node-a1", "")
	if err := c.CrashNode("node-a1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the dry-run Event", func(ctx context.Context) (bool, error) {
		return len(events(ctx, c, "db", "pg-0", metadata.ReasonFailOverDryRun)) > 0, nil
	})
	pod, err := getPod(ctx, c, "db", "pg-0")
	if err != nil || pod.UID != first.UID {
		t.Errorf("pg-0 = %v (%v), want it untouched", pod, err)
	}
	if tainted, _ := lostQuorumTainted(ctx, c, "node-a1"); tainted {
		t.Error("node-a1 tainted in dry-run mode")
	}
}
