package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/linstor-ha/linstor-ha/pkg/metadata"
	"github.com/linstor-ha/linstor-ha/test/cluster"
)

// buildBinary builds a main package of the module into the test's
// temporary directory.
func buildBinary(t *testing.T, pkg string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, "./"+pkg)
	cmd.Dir = filepath.Join("..", "..")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("failed to build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// onlyNode cordons every node but one until release is called, so that a
// test knows where its first pod runs while the replacement may go anywhere.
func onlyNode(t *testing.T, c *cluster.Cluster, node string) (release func()) {
	t.Helper()
	set := func(name string, unschedulable bool) {
		patch := fmt.Sprintf(`{"spec":{"unschedulable":%v}}`, unschedulable)
		if _, err := c.Client.CoreV1().Nodes().Patch(context.Background(), name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range c.Nodes() {
		if n.Spec.Name != node {
			set(n.Spec.Name, true)
		}
	}
	return func() {
		for _, n := range c.Nodes() {
			if n.Spec.Name != node {
				set(n.Spec.Name, false)
			}
		}
	}
}

func TestSidecarFailsOverCrashedNode(t *testing.T) {
	sidecar := buildBinary(t, "cmd/csi-sidecar")
	c := startCluster(t, cluster.Options{
		StockScheduler:         true,
		NodeMonitorGracePeriod: 6 * time.Second,
		NodeMonitorPeriod:      time.Second,
		NodeLeaseDuration:      8 * time.Second,
		DRBDDelays:             fastDRBD,
		Sidecar:                sidecar,
		SidecarArgs:            []string{"--fail-over-timeout=2s", "--report-heartbeat=1s", "--report-stale-after=4s", "-v=2"},
	})
	ctx := context.Background()
	namespace(t, c, "db")
	vol := cluster.Volume{Namespace: "db", Claim: "data-pg-0", Diskful: []string{"node-a1", "node-b1"}, Tiebreakers: []string{"node-a2"}}
	if err := c.CreateVolume(ctx, vol); err != nil {
		t.Fatal(err)
	}
	release := onlyNode(t, c, "node-a1")
	if _, err := c.Client.AppsV1().StatefulSets("db").Create(ctx, cluster.StatefulSet("db", "pg"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	first, err := c.WaitRunningAttached(wctx, "db", "pg-0", vol.Resource(), "")
	if err != nil || first.Node != "node-a1" {
		t.Fatalf("pg-0 at %+v (%v), want it on node-a1", first, err)
	}
	release()
	crashed := time.Now()
	if err := c.CrashNode("node-a1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "the pod on the dead node to be force-deleted", func(ctx context.Context) (bool, error) {
		pod, err := getPod(ctx, c, "db", "pg-0")
		return err != nil || pod.UID != first.UID, nil
	})
	t.Logf("old pod gone %s after the crash", time.Since(crashed).Round(100*time.Millisecond))
	waitFor(t, 30*time.Second, "node-a1 tainted", func(ctx context.Context) (bool, error) {
		n, err := c.Client.CoreV1().Nodes().Get(ctx, "node-a1", metav1.GetOptions{})
		return err == nil && slices.ContainsFunc(n.Spec.Taints, func(t corev1.Taint) bool { return t.Key == metadata.TaintLostQuorum }), nil
	})
	rctx, rcancel := context.WithTimeout(ctx, 2*time.Minute)
	defer rcancel()
	second, err := c.WaitRunningAttached(rctx, "db", "pg-0", vol.Resource(), first.UID)
	if err != nil {
		t.Fatalf("replacement pod never ran with its volume attached: %v", err)
	}
	t.Logf("replacement Running on %s with its volume attached %s after the crash", second.Node, time.Since(crashed).Round(100*time.Millisecond))
	if second.Node == "node-a1" {
		t.Errorf("replacement on the dead node")
	}
}
