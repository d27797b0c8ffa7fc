package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/linstor-ha/linstor-ha/pkg/status"
	"github.com/linstor-ha/linstor-ha/test/cluster"
)

// roomsAndThird are the default nodes of room-a and room-b plus node-c1
// in room-c, the third place a tiebreaker can go.
func roomsAndThird() []cluster.NodeSpec {
	return append(cluster.DefaultNodes(), cluster.NodeSpec{Name: "node-c1", Zone: "room-c"})
}

// roomA are the nodes of room-a.
var roomA = []string{"node-a1", "node-a2", "node-a3"}

// loseRoomA crashes every node of room-a.
func loseRoomA(t *testing.T, c *cluster.Cluster) {
	t.Helper()
	for _, n := range roomA {
		if err := c.CrashNode(n); err != nil {
			t.Fatal(err)
		}
	}
}

// statusCommand builds cmd/linstor-ha once per test binary.
func statusCommand(t testing.TB) string { return binary(t, "linstor-ha") }

// runStatus runs `linstor-ha status` against the cluster and returns its
// output.
func runStatus(t *testing.T, c *cluster.Cluster, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, statusCommand(t), append([]string{"status", "--kubeconfig", c.Kubeconfig, "--report-stale-after=5s"}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("linstor-ha status %v: %v\n%s%s", args, err, out, stderr)
	}
	return string(out)
}

// statusOf returns the status of one volume, as `linstor-ha status -o
// json` prints it.
func statusOf(t *testing.T, c *cluster.Cluster, resource string) status.Volume {
	t.Helper()
	var doc struct {
		Volumes []status.Volume `json:"volumes"`
	}
	out := runStatus(t, c, resource, "-o", "json")
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Volumes) != 1 {
		t.Fatalf("linstor-ha status %s -o json: %v\n%s", resource, err, out)
	}
	return doc.Volumes[0]
}

// kubectlWithPath runs the upstream kubectl against the cluster with extra
// directories first on its PATH, where it finds plugins. The cluster is
// given by $KUBECONFIG, which plugins read too.
func kubectlWithPath(t *testing.T, c *cluster.Cluster, pathDirs []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tools, err := cluster.EnsureTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, filepath.Join(tools, "kubectl"), args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+c.Kubeconfig, "PATH="+strings.Join(append(pathDirs, os.Getenv("PATH")), string(os.PathListSeparator)))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// sidecarGauge sums, over every running sidecar, the series of gauge name
// whose label has value.
func sidecarGauge(ctx context.Context, c *cluster.Cluster, name, label, value string) (float64, error) {
	var sum float64
	for _, n := range c.Nodes() {
		if n.SidecarPID() == 0 {
			continue
		}
		v, err := scrapeSum(ctx, "http://"+n.SidecarHTTP+"/metrics", name, label, value)
		if err != nil {
			return 0, fmt.Errorf("sidecar of %s: %w", n.Spec.Name, err)
		}
		sum += v
	}
	return sum, nil
}

// sidecarCounterOn returns the sum of the series of counter name with the
// label value on one node's sidecar.
func sidecarCounterOn(ctx context.Context, c *cluster.Cluster, node, name, label, value string) (float64, error) {
	n, err := c.Node(node)
	if err != nil {
		return 0, err
	}
	return scrapeSum(ctx, "http://"+n.SidecarHTTP+"/metrics", name, label, value)
}

// scrapeSum sums the gauge or counter series of name whose label has
// value at a Prometheus text endpoint.
func scrapeSum(ctx context.Context, url, name, label, value string) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("failed to parse %s: %w", url, err)
	}
	var sum float64
	for _, m := range families[name].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == label && l.GetValue() == value {
				sum += m.GetGauge().GetValue() + m.GetCounter().GetValue()
			}
		}
	}
	return sum, nil
}
