package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/linstor-ha/linstor-ha/test/cluster"
)

// TestBaselineStockKubernetesStrandsStatefulPod reproduces the problem this
// project solves, with stock components only (default scheduler, no webhook,
// no sidecar) and shortened grace periods: the pod of a crashed node is
// evicted only once its tolerations expire, then stays Terminating; its
// replacement never runs and the VolumeAttachment stays on the dead node.
func TestBaselineStockKubernetesStrandsStatefulPod(t *testing.T) {
	const tolerationSeconds = 10
	c := startCluster(t, cluster.Options{
		StockScheduler:           true,
		NodeMonitorGracePeriod:   6 * time.Second,
		NodeMonitorPeriod:        time.Second,
		NodeLeaseDuration:        8 * time.Second,
		DefaultTolerationSeconds: tolerationSeconds,
		DRBDDelays:               fastDRBD,
	})
	ctx := context.Background()
	namespace(t, c, "db")
	vol, first := statefulPodOn(t, c, "db", "pg", "node-a1", "")
	node, uid := first.Node, first.UID

	crashed := time.Now()
	if err := c.CrashNode(node); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "pg-0 evicted", func(ctx context.Context) (bool, error) {
		pod, err := getPod(ctx, c, "db", "pg-0")
		return err == nil && pod.DeletionTimestamp != nil, nil
	})
	evicted := time.Since(crashed)
	t.Logf("pg-0 evicted %s after the crash", evicted.Round(time.Second))
	if evicted < tolerationSeconds*time.Second {
		t.Errorf("pg-0 evicted %s after the crash, before its %ds tolerations could expire", evicted, tolerationSeconds)
	}

	// Give the control plane far longer than it took to evict: nothing
	// moves on.
	time.Sleep(3 * evicted)
	pod, err := getPod(ctx, c, "db", "pg-0")
	if err != nil {
		t.Fatalf("pg-0 is gone (%v); stock Kubernetes cannot confirm its deletion", err)
	}
	if pod.UID != uid || pod.DeletionTimestamp == nil || pod.Spec.NodeName != node {
		t.Errorf("pg-0 = uid %s on %s deleting=%v, want the old pod still Terminating on %s", pod.UID, pod.Spec.NodeName, pod.DeletionTimestamp != nil, node)
	}
	va, err := c.Attachment(ctx, vol.Resource())
	if err != nil {
		t.Fatal(err)
	}
	if va == nil || va.Spec.NodeName != node {
		t.Errorf("VolumeAttachment = %v, want it still on the dead node %s", va, node)
	}
}
