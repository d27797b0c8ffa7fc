package e2e

import (
	"context"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
	"github.com/linstor-ha/linstor-ha/test/cluster"
	"github.com/linstor-ha/linstor-ha/test/drbdsim"
)

// fastDRBD are detection delays short enough for CI.
var fastDRBD = &drbdsim.Delays{PingInt: time.Second, PingTimeout: 200 * time.Millisecond, Timeout: time.Second, Reconnect: 300 * time.Millisecond, Resync: 300 * time.Millisecond}

// TestClusterRunsStatefulPodOnDRBD checks the harness end to end: a
// StatefulSet pod on a replicated volume is scheduled by the stock
// scheduler, attached by the real external-attacher, and opened on its node
// (DRBD Primary); node faults reach DRBD and the control plane as they
// would in a real cluster.
func TestClusterRunsStatefulPodOnDRBD(t *testing.T) {
	c := startCluster(t, cluster.Options{
		StockScheduler:         true,
		NodeMonitorGracePeriod: 6 * time.Second,
		NodeMonitorPeriod:      time.Second,
		NodeLeaseDuration:      8 * time.Second,
		DRBDDelays:             fastDRBD,
	})
	ctx := context.Background()
	namespace(t, c, "db")
	vol, first := statefulPodOn(t, c, "db", "pg", "node-a1", "")
	node := first.Node
	t.Logf("pg-0 runs on %s", node)
	waitFor(t, 30*time.Second, "the VolumeAttachment attached by the external-attacher", func(ctx context.Context) (bool, error) {
		va, err := c.Attachment(ctx, vol.Resource())
		return va != nil && va.Status.Attached && va.Spec.NodeName == node &&
			slices.Contains(va.Finalizers, "external-attacher/linstor-csi-linbit-com"), err
	})
	waitFor(t, 30*time.Second, "the device open and Primary on "+node, func(context.Context) (bool, error) {
		v, ok := c.DRBD.View(node, vol.Resource())
		return ok && v.Role == state.RolePrimary && v.InUse(), nil
	})
	waitFor(t, 30*time.Second, "the volume reported in use by "+node, func(ctx context.Context) (bool, error) {
		n, err := c.Client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		return err == nil && slices.Contains(n.Status.VolumesInUse, corev1.UniqueVolumeName("kubernetes.io/csi/linstor.csi.linbit.com^"+vol.Resource())), nil
	})

	// Crash the node: DRBD on the survivors notices, the node goes NotReady.
	if err := c.CrashNode(node); err != nil {
		t.Fatal(err)
	}
	survivor := "node-b1"
	if node == survivor {
		survivor = "node-a1"
	}
	waitFor(t, 30*time.Second, survivor+"'s DRBD to notice", func(context.Context) (bool, error) {
		v, ok := c.DRBD.View(survivor, vol.Resource())
		if !ok {
			return false, nil
		}
		peer := v.Connection(node)
		return peer == nil || !peer.Connected(), nil
	})
	waitFor(t, 30*time.Second, node+" NotReady", func(ctx context.Context) (bool, error) {
		n, err := c.Client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		return err == nil && !cluster.NodeReady(n), nil
	})

	// Cut another node off the API server: it goes NotReady while its DRBD
	// stays connected; reconnected, it is Ready again.
	isolated := "node-b3"
	if err := c.IsolateFromAPI(isolated); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, isolated+" NotReady", func(ctx context.Context) (bool, error) {
		n, err := c.Client.CoreV1().Nodes().Get(ctx, isolated, metav1.GetOptions{})
		return err == nil && !cluster.NodeReady(n), nil
	})
	if err := c.ReconnectToAPI(isolated); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, isolated+" Ready again", func(ctx context.Context) (bool, error) {
		n, err := c.Client.CoreV1().Nodes().Get(ctx, isolated, metav1.GetOptions{})
		return err == nil && cluster.NodeReady(n), nil
	})

	// Split the replication network: DRBD disconnects, the API server
	// still sees both nodes Ready.
	if err := c.SplitReplication([]string{"node-a3"}, []string{"node-b2"}); err != nil {
		t.Fatal(err)
	}
	if err := c.RestartNode(ctx, node); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, node+" Ready after restart", func(ctx context.Context) (bool, error) {
		n, err := c.Client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		return err == nil && cluster.NodeReady(n), nil
	})
}
