package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/linstor-ha/linstor-ha/pkg/apis/linstorha/v1alpha1"
	"github.com/linstor-ha/linstor-ha/pkg/metadata"
	"github.com/linstor-ha/linstor-ha/pkg/reportclient"
	"github.com/linstor-ha/linstor-ha/test/cluster"
)

func reports(t testing.TB, c *cluster.Cluster) *reportclient.Client {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := reportclient.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

// claimPod returns a pod of schedulerName that mounts claim.
func claimPod(ns, name, claim, schedulerName string) *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.PodSpec{
			SchedulerName: schedulerName,
			Containers:    []corev1.Container{{Name: "app", Image: "busybox"}},
		},
	}
	if claim != "" {
		pod.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}}}
	}
	return pod
}

// waitScheduled waits until every pod of ns is bound and returns the node
// of each.
func waitScheduled(t testing.TB, c *cluster.Cluster, ns string, want int, timeout time.Duration) map[string]string {
	t.Helper()
	nodes := map[string]string{}
	waitFor(t, timeout, fmt.Sprintf("%d pods of %s to be scheduled", want, ns), func(ctx context.Context) (bool, error) {
		list, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		clear(nodes)
		for _, p := range list.Items {
			if p.Spec.NodeName != "" {
				nodes[p.Name] = p.Spec.NodeName
			}
		}
		return len(nodes) == want, nil
	})
	return nodes
}

// TestSchedulerPlacesPodsOnReplicas: 100 pods whose volumes have their
// data on 2 of the 6 nodes all land on one of those 2 with our scheduler;
// the stock scheduler, given the same layout, is printed for comparison.
func TestSchedulerPlacesPodsOnReplicas(t *testing.T) {
	const pods = 100
	c := startCluster(t, cluster.Options{
		StockScheduler: true,
		Scheduler:      schedulerBinary(t),
		Sidecar:        sidecarBinary(t),
		SidecarArgs:    []string{"--report-heartbeat=2s"},
	})
	ctx := context.Background()
	rooms := [2][3]string{{"node-a1", "node-a2", "node-a3"}, {"node-b1", "node-b2", "node-b3"}}
	diskful := map[string][]string{}
	for _, sched := range []string{"ours", "stock"} {
		namespace(t, c, sched)
		for i := range pods {
			vol := cluster.Volume{Namespace: sched, Claim: fmt.Sprintf("data-%d", i),
				Diskful:     []string{rooms[0][i%3], rooms[1][(i/3)%3]},
				Tiebreakers: []string{rooms[0][(i+1)%3]}}
			if err := c.CreateVolume(ctx, vol); err != nil {
				t.Fatal(err)
			}
			diskful[sched+"/"+vol.Claim] = vol.Diskful
		}
	}
	// Each node's report lists every replica it holds before pods come.
	rc := reports(t, c)
	waitFor(t, 2*time.Minute, "every replica in the reports", func(ctx context.Context) (bool, error) {
		list, err := rc.List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		total := 0
		for _, r := range list.Items {
			total += int(r.Status.Summary.Healthy)
		}
		return total == 2*pods*3, nil
	})

	began := time.Now()
	for _, sched := range []string{"ours", "stock"} {
		name := metadata.SchedulerName
		if sched == "stock" {
			name = corev1.DefaultSchedulerName
		}
		for i := range pods {
			if _, err := c.Client.CoreV1().Pods(sched).Create(ctx, claimPod(sched, fmt.Sprintf("p-%d", i), fmt.Sprintf("data-%d", i), name), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	onData := map[string]int{}
	for _, sched := range []string{"ours", "stock"} {
		for pod, node := range waitScheduled(t, c, sched, pods, 3*time.Minute) {
			claim := "data-" + strings.TrimPrefix(pod, "p-")
			for _, d := range diskful[sched+"/"+claim] {
				if d == node {
					onData[sched]++
				}
			}
		}
	}
	t.Logf("pods on a node with their data: linstor-ha-scheduler %d/%d, default-scheduler %d/%d (all scheduled after %s)",
		onData["ours"], pods, onData["stock"], pods, time.Since(began).Round(time.Millisecond))
	if onData["ours"] != pods {
		t.Fatalf("linstor-ha-scheduler put %d of %d pods on a node with their data, want all", onData["ours"], pods)
	}
}

// TestSchedulerReplacementOnSurvivingReplica: after the node under a
// stateful pod crashes, the replacement lands on the other diskful
// replica, never on the tiebreaker.
func TestSchedulerReplacementOnSurvivingReplica(t *testing.T) {
	c := startCluster(t, cluster.Options{
		Scheduler:              schedulerBinary(t),
		NodeMonitorGracePeriod: 6 * time.Second,
		NodeMonitorPeriod:      time.Second,
		NodeLeaseDuration:      8 * time.Second,
		DRBDDelays:             fastDRBD,
		Sidecar:                sidecarBinary(t),
		SidecarArgs:            []string{"--fail-over-timeout=2s", "--untaint-after=1s", "--report-heartbeat=1s", "--report-stale-after=4s"},
	})
	ctx := context.Background()
	namespace(t, c, "db")
	vol := cluster.Volume{Namespace: "db", Claim: "data-pg-0", Diskful: []string{"node-a1", "node-b1"}, Tiebreakers: []string{"node-a2"}}
	if err := c.CreateVolume(ctx, vol); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "node-a1's report of the resource", func(ctx context.Context) (bool, error) {
		r, err := reports(t, c).Get(ctx, "node-a1")
		return err == nil && r.Status.Summary.Healthy == 1, nil
	})
	sts := cluster.StatefulSet("db", "pg")
	sts.Spec.Template.Spec.SchedulerName = metadata.SchedulerName
	if _, err := c.Client.AppsV1().StatefulSets("db").Create(ctx, sts, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	first, err := c.WaitRunningAttached(wctx, "db", "pg-0", vol.Resource(), "")
	if err != nil {
		t.Fatalf("pg-0 never ran: %v", err)
	}
	if first.Node != "node-a1" && first.Node != "node-b1" {
		t.Fatalf("pg-0 first ran on %s, want a diskful node (node-a1 or node-b1)", first.Node)
	}
	survivor := map[string]string{"node-a1": "node-b1", "node-b1": "node-a1"}[first.Node]
	if err := c.CrashNode(first.Node); err != nil {
		t.Fatal(err)
	}
	wctx, cancel = context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	next, err := c.WaitRunningAttached(wctx, "db", "pg-0", vol.Resource(), first.UID)
	if err != nil {
		t.Fatalf("no replacement of pg-0 ran after %s crashed: %v", first.Node, err)
	}
	if next.Node != survivor {
		t.Fatalf("the replacement of pg-0 runs on %s, want the surviving diskful replica %s", next.Node, survivor)
	}
}

// TestSchedulerWithoutReportData: with the report CRD empty, and then with
// every report stale, pods with DRBD volumes (strict ones too) still
// schedule; fresh reports do steer a strict pod.
func TestSchedulerWithoutReportData(t *testing.T) {
	c := startCluster(t, cluster.Options{Scheduler: schedulerBinary(t)})
	ctx := context.Background()
	namespace(t, c, "app")
	vol := cluster.Volume{Namespace: "app", Claim: "data", Diskful: []string{"node-a1", "node-b1"}, Tiebreakers: []string{"node-a2"}}
	if err := c.CreateVolume(ctx, vol); err != nil {
		t.Fatal(err)
	}
	strictPod := func(name string) *corev1.Pod {
		p := claimPod("app", name, "data", metadata.SchedulerName)
		p.Annotations = map[string]string{metadata.AnnotationStrictPlacement: "true"}
		return p
	}
	create := func(p *corev1.Pod) {
		if _, err := c.Client.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	create(strictPod("no-reports"))
	create(claimPod("app", "no-volumes", "", metadata.SchedulerName))
	waitScheduled(t, c, "app", 2, 30*time.Second)

	// Every node reports the replica Outdated, but an hour ago.
	rc := reports(t, c)
	writeReports := func(heartbeat time.Time, disk func(node string) string) {
		for _, n := range c.Nodes() {
			name := n.Spec.Name
			if _, err := rc.Get(ctx, name); err != nil {
				if err := rc.Create(ctx, &v1alpha1.ReplicaReport{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
					t.Fatal(err)
				}
			}
			status := v1alpha1.ReplicaReportStatus{NodeName: name, Zone: n.Spec.Zone, Synced: true,
				HeartbeatTime: metav1.NewMicroTime(heartbeat),
				Resources:     []v1alpha1.ResourceReport{{Name: vol.Resource(), Disk: disk(name), Quorum: true}}}
			patch, _ := json.Marshal(map[string]any{"status": status})
			if err := rc.PatchStatus(ctx, name, patch); err != nil {
				t.Fatal(err)
			}
		}
	}
	writeReports(time.Now().Add(-time.Hour), func(string) string { return "Outdated" })
	time.Sleep(time.Second) // let the scheduler's watch deliver them
	create(strictPod("stale-reports"))
	waitScheduled(t, c, "app", 3, 30*time.Second)

	// Fresh reports: only node-b3 has UpToDate data, and a strict pod goes
	// there.
	writeReports(time.Now(), func(node string) string {
		if node == "node-b3" {
			return "UpToDate"
		}
		return "Outdated"
	})
	time.Sleep(time.Second)
	create(strictPod("fresh-reports"))
	nodes := waitScheduled(t, c, "app", 4, 30*time.Second)
	if nodes["fresh-reports"] != "node-b3" {
		t.Fatalf("a strict pod went to %s with only node-b3 reporting UpToDate data", nodes["fresh-reports"])
	}
}

// TestSchedulerRefusesBadArgs: bad plugin args stop the scheduler at start
// with a message that names the problem.
func TestSchedulerRefusesBadArgs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the scheduler; run without -short")
	}
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: x, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: x, user: {token: x}}]
contexts: [{name: x, context: {cluster: x, user: x}}]
current-context: x
`), 0o600); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(config, []byte(`apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection: {kubeconfig: `+kubeconfig+`}
leaderElection: {leaderElect: false}
profiles:
- schedulerName: linstor-ha-scheduler
  plugins: {multiPoint: {enabled: [{name: DRBDReplicas}]}}
  pluginConfig:
  - name: DRBDReplicas
    args: {staleAfter: 10ms, dataWeigth: 3}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, schedulerBinary(t), "--config="+config, "--secure-port=0")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the scheduler started with bad args:\n%s", out)
	}
	if !strings.Contains(string(out), `unknown field`) || !strings.Contains(string(out), "dataWeigth") {
		t.Fatalf("the scheduler's error does not name the bad field:\n%s", out)
	}
}

// TestSchedulerWithoutReportCRD: with the report CRD deleted, a restarted
// scheduler still schedules pods with DRBD volumes.
func TestSchedulerWithoutReportCRD(t *testing.T) {
	c := startCluster(t, cluster.Options{Scheduler: schedulerBinary(t)})
	ctx := context.Background()
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	crds := apiextensionsclient.NewForConfigOrDie(cfg).ApiextensionsV1().CustomResourceDefinitions()
	crd := metadata.ReportResource + "." + metadata.ReportGroup
	if err := crds.Delete(ctx, crd, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the CRD to be gone", func(ctx context.Context) (bool, error) {
		_, err := crds.Get(ctx, crd, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	c.StopScheduler()
	if err := c.StartScheduler(ctx); err != nil {
		t.Fatal(err)
	}
	namespace(t, c, "app")
	if err := c.CreateVolume(ctx, cluster.Volume{Namespace: "app", Claim: "data", Diskful: []string{"node-a1", "node-b1"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Client.CoreV1().Pods("app").Create(ctx, claimPod("app", "p", "data", metadata.SchedulerName), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitScheduled(t, c, "app", 1, 45*time.Second)
}
