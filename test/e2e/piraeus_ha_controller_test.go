package e2e

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/linstor-ha/linstor-ha/pkg/metadata"
	"github.com/linstor-ha/linstor-ha/test/cluster"
)

// TestPiraeusHAControllerRunningBlocksFailOver installs linstor-ha into a
// Piraeus cluster and starts a pod of Piraeus' HA controller as the
// operator's DaemonSet renders it, as when the HA controller was switched
// back on by hand. While it runs, the sidecars say so (an Event on each
// node, the gauge, a failing /readyz that names the pod) and a crash of the
// node under a StatefulSet pod moves nothing: no taint, no deletion, the
// VolumeAttachment stays. Once the HA controller's pod is gone, the
// fail-over happens.
func TestPiraeusHAControllerRunningBlocksFailOver(t *testing.T) {
	c := startCluster(t, piraeusOptions(t))
	pi := installPiraeus(t, c)
	ctx := context.Background()
	namespace(t, c, "db")
	vol, first := statefulPodOn(t, c, "db", "pg", "node-a1", "")
	watchWriters(t, c, vol.Resource())

	ha := pi.startHAControllerPod(t, "node-b2")
	haRef := ha.Namespace + "/" + ha.Name
	b1, err := c.Node("node-b1")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range c.Nodes() {
		name, addr := n.Spec.Name, n.SidecarHTTP
		waitFor(t, 30*time.Second, name+"'s sidecar to refuse", func(ctx context.Context) (bool, error) {
			code, body := readyz(addr)
			return code == http.StatusServiceUnavailable && strings.Contains(body, "another fail-over actor runs") && strings.Contains(body, haRef), nil
		})
		waitFor(t, 30*time.Second, "the "+metadata.ReasonConflictingFailOverActor+" Event on "+name, func(ctx context.Context) (bool, error) {
			return len(eventsOf(ctx, c, name, metadata.ReasonConflictingFailOverActor)) > 0, nil
		})
	}
	if body, err := httpGet("http://" + b1.SidecarHTTP + "/metrics"); err != nil || !strings.Contains(body, "linstor_ha_conflicting_failover_actor_pods 1\n") {
		t.Errorf("node-b1's metrics (%v) lack linstor_ha_conflicting_failover_actor_pods 1", err)
	}

	if err := c.CrashNode("node-a1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "node-b1's DRBD to lose node-a1", func(context.Context) (bool, error) {
		v, ok := c.DRBD.View("node-b1", vol.Resource())
		return ok && !v.Connection("node-a1").Connected(), nil
	})
	waitFor(t, 30*time.Second, "node-a1 NotReady", func(ctx context.Context) (bool, error) {
		n, err := c.Client.CoreV1().Nodes().Get(ctx, "node-a1", metav1.GetOptions{})
		return err == nil && !cluster.NodeReady(n), nil
	})
	// Without the HA controller, node-b1 fails over 2 s after DRBD
	// noticed (the test bed's fail-over timeout, the Lease silent
	// since the crash): give it several times that.
	time.Sleep(8 * time.Second)
	pod, err := getPod(ctx, c, "db", "pg-0")
	if err != nil || pod.UID != first.UID || pod.DeletionTimestamp != nil {
		t.Fatalf("pg-0 = %v (%v) while the HA controller runs, want the old pod untouched", pod, err)
	}
	if tainted, _ := lostQuorumTainted(ctx, c, "node-a1"); tainted {
		t.Error("node-a1 tainted while the HA controller runs")
	}
	if !attachedTo(ctx, t, c, vol.Resource(), "node-a1") {
		t.Error("the VolumeAttachment on node-a1 was removed while the HA controller runs")
	}
	if got := events(ctx, c, "db", "pg-0", metadata.ReasonPodForceDeleted); len(got) != 0 {
		t.Errorf("%d %s Events while the HA controller runs", len(got), metadata.ReasonPodForceDeleted)
	}

	if err := c.Client.CoreV1().Pods(ha.Namespace).Delete(ctx, ha.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	second, err := c.WaitRunningAttached(rctx, "db", "pg-0", vol.Resource(), first.UID)
	if err != nil || second.Node == "node-a1" {
		t.Fatalf("no fail-over once the HA controller is gone: replacement at %+v (%v)", second, err)
	}
	if got := events(ctx, c, "db", "pg-0", metadata.ReasonPodForceDeleted); len(got) != 1 {
		t.Errorf("%d %s Events, want 1", len(got), metadata.ReasonPodForceDeleted)
	}
	if code, body := readyz(b1.SidecarHTTP); code != http.StatusOK {
		t.Errorf("node-b1's /readyz once the HA controller is gone: %d %q", code, body)
	}
	if body, err := httpGet("http://" + b1.SidecarHTTP + "/metrics"); err != nil || !strings.Contains(body, "linstor_ha_conflicting_failover_actor_pods 0\n") {
		t.Errorf("node-b1's metrics (%v) lack linstor_ha_conflicting_failover_actor_pods 0", err)
	}
	if got := eventsOf(ctx, c, "node-b1", metadata.ReasonConflictingFailOverActor); len(got) != 1 || timesRecorded(got[0]) > 1 || got[0].Type != corev1.EventTypeWarning {
		t.Errorf("%s Events on node-b1: %+v, want one Warning, recorded once", metadata.ReasonConflictingFailOverActor, got)
	}
}

// startHAControllerPod creates, on node, a pod of Piraeus' HA controller
// as the operator's DaemonSet renders it for the user's LinstorCluster
// with the HA controller on (its labels, its account), and waits until it
// runs.
func (pi *piraeusInstall) startHAControllerPod(t *testing.T, node string) *corev1.Pod {
	t.Helper()
	ctx := context.Background()
	lc, err := pi.dyn.Resource(linstorClusters).Get(ctx, userLinstorCluster, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := unstructured.SetNestedField(lc.Object, true, "spec", "highAvailabilityController", "enabled"); err != nil {
		t.Fatal(err)
	}
	out, err := pi.c.RenderPiraeus(ctx, lc, piraeusNamespace)
	if err != nil {
		t.Fatal(err)
	}
	var ds *appsv1.DaemonSet
	for _, o := range decodeObjects(t, "the operator's rendering with the HA controller", out) {
		switch {
		case o.GetKind() == "DaemonSet" && o.GetName() == "ha-controller":
			ds = &appsv1.DaemonSet{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, ds); err != nil {
				t.Fatal(err)
			}
		case o.GetKind() == "ServiceAccount" && o.GetName() == "ha-controller":
			sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: o.GetName(), Namespace: o.GetNamespace(), Labels: o.GetLabels()}}
			if _, err := pi.c.Client.CoreV1().ServiceAccounts(sa.Namespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				t.Fatal(err)
			}
		}
	}
	if ds == nil {
		t.Fatal("the operator renders no ha-controller DaemonSet with the HA controller on")
	}
	if ds.Spec.Template.Labels["app.kubernetes.io/component"] != "ha-controller" {
		t.Fatalf("the HA controller's pods are labelled %v", ds.Spec.Template.Labels)
	}
	pod := &corev1.Pod{ObjectMeta: ds.Spec.Template.ObjectMeta, Spec: ds.Spec.Template.Spec}
	pod.Name, pod.Namespace = "ha-controller-"+node, ds.Namespace
	pod.Spec.NodeName = node
	pod, err = pi.c.Client.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the HA controller's pod to run", func(ctx context.Context) (bool, error) {
		p, err := getPod(ctx, pi.c, pod.Namespace, pod.Name)
		return err == nil && p.Status.Phase == corev1.PodRunning, nil
	})
	return pod
}

// readyz returns the status and the body of a sidecar's /readyz.
func readyz(addr string) (int, string) {
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// attachedTo reports whether a VolumeAttachment of the PV pv on node
// exists.
func attachedTo(ctx context.Context, t *testing.T, c *cluster.Cluster, pv, node string) bool {
	t.Helper()
	vas, err := c.Client.StorageV1().VolumeAttachments().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, va := range vas.Items {
		if va.Spec.NodeName == node && va.Spec.Source.PersistentVolumeName != nil && *va.Spec.Source.PersistentVolumeName == pv {
			return true
		}
	}
	return false
}
