package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
	"github.com/linstor-ha/linstor-ha/pkg/metadata"
	"github.com/linstor-ha/linstor-ha/test/cluster"
	"github.com/linstor-ha/linstor-ha/test/drbdsim"
)

// frozenOn reports whether DRBD on node holds res open as Primary with its
// I/O suspended for lack of quorum: the state in which the pod's processes
// cannot exit.
func frozenOn(c *cluster.Cluster, node, res string) bool {
	v, ok := c.DRBD.View(node, res)
	return ok && v.Role == state.RolePrimary && slices.Contains(v.SuspendedReasons(), state.SuspendedQuorum) &&
		len(v.Devices) > 0 && v.Devices[0].Open
}

// TestFrozenIOHoldsTheDeletion checks the test bed without linstor-ha: a
// pod deleted while DRBD holds its I/O stays Terminating, its device open,
// as on a real node, and goes once quorum and with it I/O come back.
func TestFrozenIOHoldsTheDeletion(t *testing.T) {
	c := startCluster(t, cluster.Options{StockScheduler: true, DRBDDelays: fastDRBD})
	ctx := context.Background()
	namespace(t, c, "db")
	vol, first := statefulPodOn(t, c, "db", "pg", "node-a1", "")
	if err := c.SplitReplication([]string{"node-a1"}, allBut(c, "node-a1")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "node-a1 frozen", func(context.Context) (bool, error) {
		return frozenOn(c, "node-a1", vol.Resource()), nil
	})
	if err := c.Client.CoreV1().Pods("db").Delete(ctx, "pg-0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Second)
	pod, err := getPod(ctx, c, "db", "pg-0")
	if err != nil || pod.UID != first.UID || pod.DeletionTimestamp == nil {
		t.Fatalf("pg-0 five seconds after its deletion on frozen I/O: %v (%v), want it still Terminating", pod, err)
	}
	if !frozenOn(c, "node-a1", vol.Resource()) {
		t.Fatal("the device of the Terminating pod was closed while its I/O was suspended")
	}
	if err := c.HealReplication(); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, err := c.WaitRunningAttached(rctx, "db", "pg-0", vol.Resource(), first.UID); err != nil {
		t.Fatalf("no replacement once I/O resumed: %v", err)
	}
}

// eventsOf returns the Events with reason about the object name, in any
// namespace (a node's Events live in default).
func eventsOf(ctx context.Context, c *cluster.Cluster, name, reason string) []corev1.Event {
	return events(ctx, c, metav1.NamespaceAll, name, reason)
}

// TestFrozenIOReplicationSplit splits the replication network so that the
// pod's node is in the minority while its kubelet and API connection stay
// alive. The pod's processes are frozen by lost quorum, so its deletion
// (by the survivor, or by the node's own eviction) completes only once
// the node's own sidecar forces the resource secondary; then the
// replacement runs on the majority side with its volume attached, never
// with two writers.
func TestFrozenIOReplicationSplit(t *testing.T) {
	c := sidecarCluster(t)
	ctx := context.Background()
	namespace(t, c, "db")
	vol, first := statefulPodOn(t, c, "db", "pg", "node-a1", "")
	watchWriters(t, c, vol.Resource())
	if err := c.SplitReplication([]string{"node-a1"}, allBut(c, "node-a1")); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	second, err := c.WaitRunningAttached(rctx, "db", "pg-0", vol.Resource(), first.UID)
	if err != nil || second.Node == "node-a1" {
		t.Fatalf("replacement at %+v (%v), want it on the majority side", second, err)
	}
	if len(eventsOf(ctx, c, "node-a1", metadata.ReasonResourceDemoted)) == 0 {
		t.Errorf("no %s Event on node-a1: the frozen pod terminated without the forced secondary", metadata.ReasonResourceDemoted)
	}
	if v, ok := c.DRBD.View("node-a1", vol.Resource()); !ok || v.Role != state.RoleSecondary || v.Devices[0].Open {
		t.Errorf("node-a1 after the fail-over: %+v, want Secondary and closed", v)
	}
	if err := c.HealReplication(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "node-a1's taints to go after healing", func(ctx context.Context) (bool, error) {
		n, err := c.Client.CoreV1().Nodes().Get(ctx, "node-a1", metav1.GetOptions{})
		return err == nil && !slices.ContainsFunc(n.Spec.Taints, func(t corev1.Taint) bool {
			return t.Key == metadata.TaintLostQuorum || t.Key == metadata.TaintForceIOError
		}), nil
	})
}

// TestFrozenIOForceSecondaryPolicy runs the split on a resource with DRBD's
// on-suspended-primary-outdated force-secondary: healed within the
// fail-over timeout, the pod keeps running where it was; healed after it,
// the pod has moved and node-a1 rejoins as a Secondary with closed devices.
func TestFrozenIOForceSecondaryPolicy(t *testing.T) {
	c := sidecarCluster(t, "--fail-over-timeout=4s")
	ctx := context.Background()
	namespace(t, c, "db")
	vol := cluster.Volume{Namespace: "db", Claim: "data-pg-0", Diskful: []string{"node-a1", "node-b1"}, Tiebreakers: []string{"node-a2"},
		OnSuspendedPrimaryOutdated: drbdsim.OnSuspendedPrimaryOutdatedForceSecondary}
	vol, first := statefulPodWith(t, c, vol, cluster.StatefulSet("db", "pg"), "node-a1")
	watchWriters(t, c, vol.Resource())

	t.Run("healed within the timeout", func(t *testing.T) {
		if err := c.SplitReplication([]string{"node-a1"}, allBut(c, "node-a1")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 30*time.Second, "node-a1 frozen", func(context.Context) (bool, error) {
			return frozenOn(c, "node-a1", vol.Resource()), nil
		})
		if err := c.HealReplication(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 30*time.Second, "node-a1 writing again", func(context.Context) (bool, error) {
			w, err := c.DRBD.Writers(vol.Resource())
			return err == nil && slices.Equal(w, []string{"node-a1"}), nil
		})
		pod, err := getPod(ctx, c, "db", "pg-0")
		if err != nil || pod.UID != first.UID || pod.DeletionTimestamp != nil {
			t.Fatalf("pg-0 = %v (%v), want the first pod running on", pod, err)
		}
	})
	t.Run("healed after the timeout", func(t *testing.T) {
		if err := c.SplitReplication([]string{"node-a1"}, allBut(c, "node-a1")); err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		second, err := c.WaitRunningAttached(rctx, "db", "pg-0", vol.Resource(), first.UID)
		if err != nil || second.Node == "node-a1" {
			t.Fatalf("replacement at %+v (%v), want it on the majority side", second, err)
		}
		if err := c.HealReplication(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 30*time.Second, "node-a1 to rejoin as an UpToDate Secondary", func(context.Context) (bool, error) {
			v, ok := c.DRBD.View("node-a1", vol.Resource())
			p := v.Connection("node-b1")
			return ok && v.Role == state.RoleSecondary && !v.ForceIOFailures && p != nil && p.Connected() &&
				v.Devices[0].Disk == state.DiskUpToDate, nil
		})
		if w, err := c.DRBD.Writers(vol.Resource()); err != nil || !slices.Equal(w, []string{second.Node}) {
			t.Errorf("writers after healing %v (%v), want only %s", w, err, second.Node)
		}
	})
}

// TestFrozenIOForceIOFailures forces a healthy resource secondary under its
// running StatefulSet pod, as an operator (or DRBD's own policies) may:
// the device then fails every I/O. The node's sidecar taints the node
// force-io-error and evicts the pod; the replacement runs with the volume
// attached and the taint goes once no device fails I/O.
func TestFrozenIOForceIOFailures(t *testing.T) {
	c := sidecarCluster(t)
	ctx := context.Background()
	namespace(t, c, "db")
	vol, first := statefulPodOn(t, c, "db", "pg", "node-a1", "")
	watchWriters(t, c, vol.Resource())
	if err := c.DRBD.Secondary("node-a1", vol.Resource(), true); err != nil {
		t.Fatal(err)
	}
	// The taint lasts only until the evicted pod's device is closed, which
	// may be a few milliseconds: its Events tell that it came and went.
	waitFor(t, 30*time.Second, "node-a1 tainted force-io-error", func(ctx context.Context) (bool, error) {
		return slices.ContainsFunc(eventsOf(ctx, c, "node-a1", metadata.ReasonNodeTainted), func(e corev1.Event) bool {
			return strings.Contains(e.Message, "force-io-failures")
		}), nil
	})
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, err := c.WaitRunningAttached(rctx, "db", "pg-0", vol.Resource(), first.UID); err != nil {
		t.Fatalf("no replacement for the pod on the failing device: %v", err)
	}
	if len(events(ctx, c, "db", "pg-0", metadata.ReasonPodEvicted)) == 0 {
		t.Errorf("no %s Event on pg-0", metadata.ReasonPodEvicted)
	}
	waitFor(t, 30*time.Second, "the force-io-error taint to go", func(ctx context.Context) (bool, error) {
		tainted, err := nodeTainted(ctx, c, "node-a1", metadata.TaintForceIOError)
		return err == nil && !tainted && len(eventsOf(ctx, c, "node-a1", metadata.ReasonNodeUntainted)) > 0, nil
	})
}

// TestFrozenIOLeavesOptedOutAndBarePods freezes a pod that opted out of
// fail-over and a pod without a controller: neither is deleted, both stay
// frozen, and each gets an Event that says why it is left alone.
func TestFrozenIOLeavesOptedOutAndBarePods(t *testing.T) {
	c := sidecarCluster(t)
	ctx := context.Background()
	namespace(t, c, "db")
	optOut := cluster.StatefulSet("db", "keep")
	optOut.Spec.Template.Annotations = map[string]string{metadata.AnnotationIgnoreFailOver: ""}
	keepVol := cluster.Volume{Namespace: "db", Claim: "data-keep-0", Diskful: []string{"node-a1", "node-b1"}, Tiebreakers: []string{"node-a2"}}
	keepVol, keep := statefulPodWith(t, c, keepVol, optOut, "node-a1")
	bareVol := cluster.Volume{Namespace: "db", Claim: "bare", Diskful: []string{"node-a1", "node-b1"}, Tiebreakers: []string{"node-a2"}}
	bare := barePodOn(t, c, bareVol, "bare", "node-a1")
	if err := c.SplitReplication([]string{"node-a1"}, allBut(c, "node-a1")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		name string
		uid  types.UID
		res  string
	}{{"keep-0", keep.UID, keepVol.Resource()}, {"bare", bare, bareVol.Resource()}} {
		waitFor(t, time.Minute, "an Event on "+p.name+" saying why it is left alone", func(ctx context.Context) (bool, error) {
			return slices.ContainsFunc(events(ctx, c, "db", p.name, metadata.ReasonFailOverRefused), func(e corev1.Event) bool {
				return strings.Contains(e.Message, "frozen") || strings.Contains(e.Message, "opted out") || strings.Contains(e.Message, "no controller")
			}), nil
		})
		pod, err := getPod(ctx, c, "db", p.name)
		if err != nil || pod.UID != p.uid || pod.DeletionTimestamp != nil {
			t.Errorf("%s = %v (%v), want it left alone", p.name, pod, err)
		}
		if !frozenOn(c, "node-a1", p.res) {
			t.Errorf("%s: its device was forced secondary although the pod stays", p.name)
		}
	}
}

// barePodOn creates vol and a pod without a controller on node that uses
// it, waits until it runs there with its volume attached and returns its
// UID.
func barePodOn(t *testing.T, c *cluster.Cluster, vol cluster.Volume, name, node string) types.UID {
	t.Helper()
	ctx := context.Background()
	if err := c.CreateVolume(ctx, vol); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: vol.Namespace, Name: name},
		Spec: corev1.PodSpec{
			NodeName:                      node,
			TerminationGracePeriodSeconds: ptr.To[int64](30),
			Containers:                    []corev1.Container{{Name: "app", Image: "postgres:17"}},
			Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: vol.Claim},
			}}},
		},
	}
	if _, err := c.Client.CoreV1().Pods(vol.Namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	at, err := c.WaitRunningAttached(wctx, vol.Namespace, name, vol.Resource(), "")
	if err != nil || at.Node != node {
		t.Fatalf("%s at %+v (%v), want it on %s", name, at, err, node)
	}
	return at.UID
}

// nodeTainted reports whether node carries the NoSchedule taint key.
func nodeTainted(ctx context.Context, c *cluster.Cluster, node, key string) (bool, error) {
	n, err := c.Client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(n.Spec.Taints, func(t corev1.Taint) bool { return t.Key == key }), nil
}
