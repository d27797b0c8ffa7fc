package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/linstor-ha/linstor-ha/test/cluster"
)

// warnings collects the warnings the API server returns.
type warnings struct {
	mu   sync.Mutex
	seen []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seen = append(w.seen, text)
}

// take returns the warnings seen since the last call.
func (w *warnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.seen
	w.seen = nil
	return out
}

// warningClient returns a client whose warnings land in w.
func warningClient(t *testing.T, c *cluster.Cluster, w *warnings) kubernetes.Interface {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg.WarningHandler = w
	client, err := kubernetes.NewForConfig(rest.CopyConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	return client
}

func protectionWarnings(ws []string) []string {
	var out []string
	for _, w := range ws {
		if strings.HasPrefix(w, "linstor-ha: volume ") {
			out = append(out, w)
		}
	}
	return out
}

// TestProtectionWebhookWarning creates pods through the real API server
// with the webhook as deployed: a pod on a volume that would not fail over
// after room-a's loss is admitted, and the client, kubectl too, gets a
// warning that names the zone, the reason and the fix; a pod on a volume
// with its tiebreaker in a third room gets none.
func TestProtectionWebhookWarning(t *testing.T) {
	o := sidecarOptions(t)
	o.Nodes = roomsAndThird()
	o.Webhook = webhookBinary(t)
	c := startCluster(t, o)
	ctx := context.Background()
	namespace(t, c, "db")
	stuck := cluster.Volume{Namespace: "db", Claim: "stuck", Diskful: []string{"node-a1", "node-b1"}, Tiebreakers: []string{"node-a2"}}
	safe := cluster.Volume{Namespace: "db", Claim: "safe", Diskful: []string{"node-a1", "node-b1"}, Tiebreakers: []string{"node-c1"}}
	for _, v := range []cluster.Volume{stuck, safe} {
		if err := c.CreateVolume(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	w := &warnings{}
	client := warningClient(t, c, w)

	// Server-side dry runs call the webhook too (it has no side effects):
	// wait until it has the replica reports of both volumes.
	waitFor(t, time.Minute, "the webhook to judge the volume stuck with room-a", func(ctx context.Context) (bool, error) {
		w.take()
		_, err := client.CoreV1().Pods("db").Create(ctx, claimPod("db", "probe", stuck.Claim, ""), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err == nil && len(protectionWarnings(w.take())) == 1, nil
	})

	pod, err := client.CoreV1().Pods("db").Create(ctx, claimPod("db", "on-stuck", stuck.Claim, ""), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("the pod on a volume stuck with room-a was not admitted: %v", err)
	}
	got := protectionWarnings(w.take())
	if len(got) != 1 {
		t.Fatalf("warnings %q, want one about %s", got, stuck.Resource())
	}
	t.Logf("warning: %s", got[0])
	for _, want := range []string{
		"linstor-ha: volume " + stuck.Resource() + " would not fail over after the loss of zone room-a",
		"losing zone room-a leaves 1 of 2 diskful replicas and no tiebreaker: no quorum",
		"To survive a room loss: move the tiebreaker on node node-a2 to a third zone.",
		"The pod is admitted",
	} {
		if !strings.Contains(got[0], want) {
			t.Errorf("warning %q lacks %q", got[0], want)
		}
	}
	// The webhook still did its work.
	if pod.Spec.SchedulerName != "linstor-ha-scheduler" {
		t.Errorf("pod admitted with scheduler %q, want it mutated too", pod.Spec.SchedulerName)
	}

	// The volume that survives a room loss gets no warning, once every
	// one of its replicas is reported (before, nothing is judged).
	waitFor(t, 30*time.Second, "the reports to show the volume with its tiebreaker in room-c ZoneSafe", func(context.Context) (bool, error) {
		return statusOf(t, c, safe.Resource()).Protection == "ZoneSafe", nil
	})
	if _, err := client.CoreV1().Pods("db").Create(ctx, claimPod("db", "on-safe", safe.Claim, ""), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := protectionWarnings(w.take()); len(got) != 0 {
		t.Errorf("warnings %q for a volume with its tiebreaker in room-c, want none", got)
	}

	// kubectl prints the warning as it prints every admission warning.
	manifest, err := yaml.Marshal(claimPod("db", "applied", stuck.Claim, ""))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "pod.yaml")
	if err := os.WriteFile(file, append([]byte("apiVersion: v1\nkind: Pod\n"), manifest...), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := kubectlWithPath(t, c, nil, "apply", "-f", file)
	if err != nil {
		t.Fatalf("kubectl apply: %v\n%s", err, out)
	}
	if !strings.Contains(out, "Warning: linstor-ha: volume "+stuck.Resource()+" would not fail over after the loss of zone room-a") ||
		!strings.Contains(out, "pod/applied created") {
		t.Errorf("kubectl apply printed:\n%s\nwant the warning and the pod created", out)
	}
	if _, err := c.Client.CoreV1().Pods("db").Get(ctx, "applied", metav1.GetOptions{}); err != nil {
		t.Errorf("the applied pod is not there: %v", err)
	}
}
