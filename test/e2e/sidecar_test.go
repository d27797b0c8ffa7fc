package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/linstor-ha/linstor-ha/pkg/metadata"
	"github.com/linstor-ha/linstor-ha/test/cluster"
)

// onlyNode cordons every node but one until release is called, so that a
// test knows where its first pod runs while the replacement may go anywhere.
func onlyNode(t testing.TB, c *cluster.Cluster, node string) (release func()) {
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

// sidecarCluster starts a cluster with a sidecar on every node and fast
// DRBD detection; extra sidecar flags come last.
func sidecarCluster(t *testing.T, args ...string) *cluster.Cluster {
	t.Helper()
	return startCluster(t, sidecarOptions(t, args...))
}

// sidecarOptions are sidecarCluster's options.
func sidecarOptions(t *testing.T, args ...string) cluster.Options {
	return cluster.Options{
		StockScheduler:         true,
		NodeMonitorGracePeriod: 6 * time.Second,
		NodeMonitorPeriod:      time.Second,
		NodeLeaseDuration:      8 * time.Second,
		DRBDDelays:             fastDRBD,
		Sidecar:                sidecarBinary(t),
		SidecarArgs:            append([]string{"--fail-over-timeout=2s", "--untaint-after=1s", "--report-heartbeat=1s", "--report-stale-after=4s", "-v=2"}, args...),
	}
}

// binDir holds the binaries the tests build; TestMain removes it.
var binDir string

type built struct {
	path string
	err  error
}

var (
	buildMu sync.Mutex
	builds  = map[string]*built{}
)

// binary builds ./cmd/<name> once per test binary.
func binary(t testing.TB, name string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	b, ok := builds[name]
	if !ok {
		b = &built{path: filepath.Join(binDir, name)}
		cmd := exec.Command("go", "build", "-o", b.path, "./cmd/"+name)
		cmd.Dir = filepath.Join("..", "..")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("failed to build %s: %v\n%s", name, err, out)
		}
		builds[name] = b
	}
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// sidecarBinary builds cmd/csi-sidecar once per test binary.
func sidecarBinary(t testing.TB) string { return binary(t, "csi-sidecar") }

// schedulerBinary builds cmd/scheduler once per test binary.
func schedulerBinary(t testing.TB) string { return binary(t, "scheduler") }

// statefulPodOn creates a replicated volume (diskful on node-a1 and node-b1,
// tiebreaker on node-a2) and a StatefulSet whose pod runs on node, and
// returns the volume and the pod's placement.
func statefulPodOn(t *testing.T, c *cluster.Cluster, ns, name, node string, quorum string) (cluster.Volume, cluster.Placement) {
	t.Helper()
	vol := cluster.Volume{Namespace: ns, Claim: "data-" + name + "-0", Diskful: []string{"node-a1", "node-b1"}, Tiebreakers: []string{"node-a2"}, Quorum: quorum}
	return statefulPodWith(t, c, vol, cluster.StatefulSet(ns, name), node)
}

// statefulPodWith creates vol and the one-replica StatefulSet sts on it,
// and waits until its pod runs on node with the volume attached.
func statefulPodWith(t *testing.T, c *cluster.Cluster, vol cluster.Volume, sts *appsv1.StatefulSet, node string) (cluster.Volume, cluster.Placement) {
	t.Helper()
	ctx := context.Background()
	ns, name := sts.Namespace, sts.Name
	if err := c.CreateVolume(ctx, vol); err != nil {
		t.Fatal(err)
	}
	release := onlyNode(t, c, node)
	defer release()
	if _, err := c.Client.AppsV1().StatefulSets(ns).Create(ctx, sts, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	at, err := c.WaitRunningAttached(wctx, ns, name+"-0", vol.Resource(), "")
	if err != nil || at.Node != node {
		t.Fatalf("%s-0 at %+v (%v), want it on %s", name, at, err, node)
	}
	return vol, at
}

// lostQuorumTainted reports whether a node carries the lost-quorum taint.
func lostQuorumTainted(ctx context.Context, c *cluster.Cluster, node string) (bool, error) {
	n, err := c.Client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(n.Spec.Taints, func(t corev1.Taint) bool { return t.Key == metadata.TaintLostQuorum }), nil
}

// events returns the Events of an object with a reason.
func events(ctx context.Context, c *cluster.Cluster, ns, name, reason string) []corev1.Event {
	list, err := c.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil
	}
	var out []corev1.Event
	for _, e := range list.Items {
		if e.InvolvedObject.Name == name && e.Reason == reason {
			out = append(out, e)
		}
	}
	return out
}

// timesRecorded is how often an Event was recorded: the events library
// (events.k8s.io/v1) counts repetitions in its series, the core API's
// recorders in count.
func timesRecorded(e corev1.Event) int32 {
	if e.Series != nil {
		return max(e.Series.Count, e.Count, 1)
	}
	return max(e.Count, 1)
}

// TestSidecarEventsHaveActionAndRelatedObject: a fail-over's Events come
// through events.k8s.io/v1 from the acting sidecar's pod, with an action
// and the related object: the pod's force deletion relates to the lost
// node, the attachment's removal (regarding that node) to the
// VolumeAttachment.
func TestSidecarEventsHaveActionAndRelatedObject(t *testing.T) {
	c := sidecarCluster(t)
	ctx := context.Background()
	namespace(t, c, "db")
	vol, first := statefulPodOn(t, c, "db", "pg", "node-a1", "")
	if err := c.CrashNode("node-a1"); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, err := c.WaitRunningAttached(rctx, "db", "pg-0", vol.Resource(), first.UID); err != nil {
		t.Fatal(err)
	}
	list, err := c.Client.EventsV1().Events(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, e := range list.Items {
		ofPod := e.Regarding.Kind == "Pod" && e.Regarding.UID == first.UID
		ofNode := e.Regarding.Kind == "Node" && e.Regarding.Name == "node-a1"
		if e.ReportingController != metadata.SidecarEventController || !ofPod && !ofNode {
			continue
		}
		found[e.Reason] = true
		by := c.EventReporter(e.ReportingInstance)
		if by == "" || by == "node-a1" || e.Action == "" || e.EventTime.IsZero() {
			t.Errorf("%s Event from %q (%s), action %q, time %v; want a survivor, an action and the time", e.Reason, by, e.ReportingInstance, e.Action, e.EventTime)
			continue
		}
		// A pod's Event relates to the node it concerns; a node's Event
		// relates to something else only for an attachment.
		if ofPod && e.Related == nil || ofNode && (e.Related != nil) != (e.Reason == metadata.ReasonVolumeAttachmentRemoved) {
			t.Errorf("%s Event regarding %s %s relates to %v", e.Reason, e.Regarding.Kind, e.Regarding.Name, e.Related)
			continue
		}
		switch e.Reason {
		case metadata.ReasonPodForceDeleted:
			if e.Action != "DeletePod" || e.Related.Kind != "Node" || e.Related.Name != "node-a1" {
				t.Errorf("%s: action %q related %+v, want DeletePod and Node node-a1", e.Reason, e.Action, *e.Related)
			}
		case metadata.ReasonVolumeAttachmentRemoved:
			if e.Action != "DeleteAttachment" || e.Related.Kind != "VolumeAttachment" || e.Related.Name == "" {
				t.Errorf("%s: action %q related %+v, want DeleteAttachment and the VolumeAttachment", e.Reason, e.Action, *e.Related)
			}
		}
	}
	if !found[metadata.ReasonPodForceDeleted] || !found[metadata.ReasonVolumeAttachmentRemoved] {
		t.Errorf("Events through events.k8s.io/v1 on pg-0 and node-a1: %v, want %s and %s", found, metadata.ReasonPodForceDeleted, metadata.ReasonVolumeAttachmentRemoved)
	}
}

// watchWriters fails the test if DRBD ever has two writers of a resource
// while the test runs.
func watchWriters(t *testing.T, c *cluster.Cluster, res string) {
	t.Helper()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			if w, err := c.DRBD.Writers(res); err == nil && len(w) > 1 {
				t.Errorf("two writers of %s: %v", res, w)
				return
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
}

func TestSidecarFailsOverCrashedNode(t *testing.T) {
	c := sidecarCluster(t)
	ctx := context.Background()
	namespace(t, c, "db")
	vol, first := statefulPodOn(t, c, "db", "pg", "node-a1", "")
	watchWriters(t, c, vol.Resource())
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
		return lostQuorumTainted(ctx, c, "node-a1")
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
	if got := events(ctx, c, "db", "pg-0", metadata.ReasonPodForceDeleted); len(got) != 1 {
		t.Errorf("%d %s Events for pg-0, want exactly 1", len(got), metadata.ReasonPodForceDeleted)
	}
}

func TestSidecarLeavesTiebreakerCrashAlone(t *testing.T) {
	c := sidecarCluster(t)
	ctx := context.Background()
	namespace(t, c, "db")
	vol, first := statefulPodOn(t, c, "db", "pg", "node-a1", "")
	if err := c.CrashNode("node-a2"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "node-b1 to see the tiebreaker gone", func(context.Context) (bool, error) {
		v, ok := c.DRBD.View("node-b1", vol.Resource())
		return ok && v.Connection("node-a2") != nil && !v.Connection("node-a2").Connected(), nil
	})
	// The degraded state shows in node-b1's report and metrics.
	n, _ := c.Node("node-b1")
	waitFor(t, 30*time.Second, "node-b1's report and metrics to show the resource degraded", func(ctx context.Context) (bool, error) {
		raw, err := c.Client.Discovery().RESTClient().Get().AbsPath("/apis/linstor-ha.io/v1alpha1/replicareports/node-b1").DoRaw(ctx)
		if err != nil {
			return false, nil
		}
		var rr struct {
			Status struct {
				Summary struct{ Degraded int } `json:"summary"`
			} `json:"status"`
		}
		if json.Unmarshal(raw, &rr) != nil || rr.Status.Summary.Degraded != 1 {
			return false, nil
		}
		body, err := httpGet("http://" + n.SidecarHTTP + "/metrics")
		return err == nil && strings.Contains(body, `linstor_ha_drbd_resources{state="degraded"} 1`) &&
			strings.Contains(body, "linstor_ha_lost_peer_replicas 1"), nil
	})
	// Once the loss has lasted the fail-over timeout, one survivor says
	// so in an Event on the lost node.
	waitFor(t, 30*time.Second, "a ReplicaDegraded Event on node-a2", func(ctx context.Context) (bool, error) {
		return len(events(ctx, c, metav1.NamespaceDefault, "node-a2", metadata.ReasonReplicaDegraded)) == 1, nil
	})
	// Longer than the timeout and the evidence wait together.
	time.Sleep(8 * time.Second)
	pod, err := getPod(ctx, c, "db", "pg-0")
	if err != nil || pod.UID != first.UID || pod.DeletionTimestamp != nil {
		t.Fatalf("pg-0 = %v (%v), want it untouched", pod, err)
	}
	for _, n := range []string{"node-a1", "node-b1", "node-a2"} {
		if tainted, _ := lostQuorumTainted(ctx, c, n); tainted {
			t.Errorf("%s tainted after a tiebreaker crash", n)
		}
	}
}

func TestSidecarReplicationSplitAndHeal(t *testing.T) {
	c := sidecarCluster(t)
	ctx := context.Background()
	namespace(t, c, "db")
	vol, first := statefulPodOn(t, c, "db", "pg", "node-a1", "")
	watchWriters(t, c, vol.Resource())
	if err := c.SplitReplication([]string{"node-a1"}, allBut(c, "node-a1")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "node-a1 to taint itself", func(ctx context.Context) (bool, error) {
		return lostQuorumTainted(ctx, c, "node-a1")
	})
	rctx, rcancel := context.WithTimeout(ctx, time.Minute)
	defer rcancel()
	second, err := c.WaitRunningAttached(rctx, "db", "pg-0", vol.Resource(), first.UID)
	if err != nil || second.Node == "node-a1" {
		t.Fatalf("replacement at %+v (%v), want it off node-a1", second, err)
	}
	waitFor(t, 30*time.Second, "the new pod's node to write", func(context.Context) (bool, error) {
		w, err := c.DRBD.Writers(vol.Resource())
		return err == nil && len(w) == 1 && w[0] == second.Node, nil
	})
	if err := c.HealReplication(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "node-a1's taint to go after healing", func(ctx context.Context) (bool, error) {
		tainted, err := lostQuorumTainted(ctx, c, "node-a1")
		return err == nil && !tainted, nil
	})
	pod, err := getPod(ctx, c, "db", "pg-0")
	if err != nil || pod.DeletionTimestamp != nil {
		t.Errorf("pg-0 = %v (%v), want it Running, not Terminating", pod, err)
	}
}
