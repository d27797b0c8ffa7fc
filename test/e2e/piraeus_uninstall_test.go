package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/linstor-ha/linstor-ha/pkg/metadata"
	"github.com/linstor-ha/linstor-ha/test/cluster"
)

// TestPiraeusUninstall installs linstor-ha into a Piraeus cluster, fails a
// StatefulSet pod over once with the sidecars' own credentials, then
// uninstalls in the order of MIGRATION.md, with its commands: the webhook
// registration, the integration (the operator rolls the CSI node pods
// without the sidecar), the taints, the Leases, the reports, the CRD, the
// rest. Nothing of linstor-ha may be left in the cluster, and Piraeus' HA
// controller comes back.
func TestPiraeusUninstall(t *testing.T) {
	c := startCluster(t, piraeusOptions(t))
	pi := installPiraeus(t, c)
	ctx := context.Background()

	namespace(t, c, "db")
	vol, first := statefulPodOn(t, c, "db", "pg", "node-a1", "")
	watchWriters(t, c, vol.Resource())
	if err := c.CrashNode("node-a1"); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	second, err := c.WaitRunningAttached(rctx, "db", "pg-0", vol.Resource(), first.UID)
	if err != nil || second.Node == "node-a1" {
		t.Fatalf("no fail-over: replacement at %+v (%v)", second, err)
	}
	if got := events(ctx, c, "db", "pg-0", metadata.ReasonPodForceDeleted); len(got) != 1 {
		t.Fatalf("%d %s Events, want 1", len(got), metadata.ReasonPodForceDeleted)
	}
	waitFor(t, 30*time.Second, "node-a1 tainted", func(ctx context.Context) (bool, error) {
		return lostQuorumTainted(ctx, c, "node-a1")
	})
	if err := c.RestartNode(ctx, "node-a1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "node-a1 Ready again", func(ctx context.Context) (bool, error) {
		n, err := c.Client.CoreV1().Nodes().Get(ctx, "node-a1", metav1.GetOptions{})
		return err == nil && cluster.NodeReady(n), nil
	})

	steps := uninstallCommands(t)
	run := func(step int) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		defer cancel()
		out, err := c.Shell(ctx, steps[step], "PIRAEUS_NS="+piraeusNamespace)
		if err != nil {
			t.Fatalf("uninstall step %d: %v", step, err)
		}
		return string(out)
	}

	// 1. The webhook registration: pods created from now on keep the
	// default scheduler; none waits for linstor-ha-scheduler.
	// Its output is the deletion's line, and no pod.
	if out := strings.Split(strings.TrimSpace(run(1)), "\n"); len(out) != 1 || !strings.Contains(out[0], "deleted") {
		t.Errorf("the registration was not deleted, or pods wait for linstor-ha-scheduler: %q", out)
	}

	// 2. The integration: the user's kustomization without the Piraeus
	// component, their LinstorCluster keeping the HA controller off until
	// the taints are gone. Server-side apply drops what the component had
	// added; the operator renders the CSI node pods without the sidecar.
	writeFile(t, filepath.Join(pi.dir, "linstorcluster.yaml"), userLinstorClusterYAML+"  highAvailabilityController:\n    enabled: false\n")
	pi.writeUserKustomization(t, false)
	pi.apply(t)
	pi.reconcileOperator(t)
	for _, n := range c.Nodes() {
		if err := c.StopSidecar(n.Spec.Name); err != nil {
			t.Fatal(err)
		}
	}
	kubectl(t, c, "-n", piraeusNamespace, "rollout", "status", "daemonset/linstor-csi-node", "--timeout=3m")

	// 3. The taints, on the nodes that have them. node-a1's own sidecar
	// may have removed its taint once it came back; a sidecar removed
	// with the integration leaves its taint, as node-b2's would here.
	b2, err := c.Client.CoreV1().Nodes().Get(ctx, "node-b2", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b2.Spec.Taints = append(b2.Spec.Taints, corev1.Taint{Key: metadata.TaintForceIOError, Effect: corev1.TaintEffectNoSchedule})
	if _, err := c.Client.CoreV1().Nodes().Update(ctx, b2, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	run(3)
	// 4. The liveness Leases, the reports, the CRD.
	run(4)
	// 5. The rest: linstor-ha's kustomizations, not the user's
	// LinstorCluster; cert-manager's objects go with the namespace.
	kubectl(t, c, "delete", "--ignore-not-found", "-k", filepath.Join(pi.dir, "ha"))
	kubectl(t, c, "delete", "--ignore-not-found", "-k", filepath.Join(pi.dir, "storage"))
	kubectl(t, c, "wait", "--for=delete", "namespace/"+haNamespace, "--timeout=2m")
	// 6. Piraeus' HA controller back: the user's LinstorCluster as it was.
	writeFile(t, filepath.Join(pi.dir, "linstorcluster.yaml"), userLinstorClusterYAML)
	kubectl(t, c, "apply", "--server-side", "-f", filepath.Join(pi.dir, "linstorcluster.yaml"))
	pi.reconcileOperator(t)
	if _, err := c.Client.AppsV1().DaemonSets(piraeusNamespace).Get(ctx, "ha-controller", metav1.GetOptions{}); err != nil {
		t.Errorf("Piraeus' HA controller did not come back: %v", err)
	}

	for _, left := range leftovers(t, c) {
		t.Errorf("left after the uninstall: %s", left)
	}
	if got := events(ctx, c, "db", "pg-0", metadata.ReasonPodForceDeleted); len(got) != 1 {
		t.Errorf("%d %s Events after the uninstall, want the fail-over's one kept as history", len(got), metadata.ReasonPodForceDeleted)
	}
}

// stepLine starts a numbered step of a Markdown list.
var stepLine = regexp.MustCompile(`^(\d+)\. `)

// uninstallCommands returns the shell blocks of MIGRATION.md's uninstall
// section by step number, so that the test runs what the docs say.
func uninstallCommands(t *testing.T) map[int]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(cluster.ManifestsDir(), "..", "MIGRATION.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(raw), "\n## Uninstall\n")
	if !ok {
		t.Fatal("MIGRATION.md has no uninstall section")
	}
	steps := map[int]string{}
	step := 0
	var block *strings.Builder
	for _, line := range strings.Split(section, "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case block != nil && trimmed == "```":
			steps[step] += block.String()
			block = nil
		case block != nil:
			block.WriteString(strings.TrimPrefix(line, "   ") + "\n")
		case trimmed == "```sh":
			block = &strings.Builder{}
		default:
			if m := stepLine.FindStringSubmatch(line); m != nil {
				step, _ = strconv.Atoi(m[1])
			}
		}
	}
	for _, n := range []int{1, 3, 4} {
		if strings.TrimSpace(steps[n]) == "" {
			t.Fatalf("MIGRATION.md's uninstall step %d has no commands", n)
		}
	}
	return steps
}

// leftovers lists what of linstor-ha the cluster still holds: every object
// of every served kind that names linstor-ha anywhere (name, labels,
// annotations, spec: a container, a scheduler name, a reference), and
// every taint the sidecar sets. Events and ControllerRevisions are
// history (what happened, which templates a DaemonSet had), and
// managedFields only say who once wrote an object; they are not looked at.
func leftovers(t *testing.T, c *cluster.Cluster) []string {
	t.Helper()
	ctx := context.Background()
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	// Listing every kind lists deprecated ones too.
	cfg.WarningHandler = rest.NoWarnings{}
	disco, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	lists, err := disco.ServerPreferredResources()
	if err != nil {
		t.Fatal(err)
	}
	history := map[string]bool{"events": true, "controllerrevisions": true}
	var out []string
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") || !slices.Contains(r.Verbs, "list") || history[r.Name] {
				continue
			}
			items, err := dyn.Resource(gv.WithResource(r.Name)).List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatalf("list %s: %v", r.Name, err)
			}
			for _, o := range items.Items {
				o.SetManagedFields(nil)
				raw, err := json.Marshal(o.Object)
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(string(raw), "linstor-ha") {
					out = append(out, r.Name+" "+o.GetNamespace()+"/"+o.GetName())
				}
			}
		}
	}
	nodes, err := c.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes.Items {
		for _, taint := range n.Spec.Taints {
			if taint.Key == metadata.TaintLostQuorum || taint.Key == metadata.TaintForceIOError {
				out = append(out, "taint "+taint.Key+" on "+n.Name)
			}
		}
	}
	return out
}
