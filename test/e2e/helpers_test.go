package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/linstor-ha/linstor-ha/test/cluster"
)

func TestMain(m *testing.M) {
	var err error
	if binDir, err = os.MkdirTemp("", "linstor-ha-e2e-bin-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(binDir)
	os.Exit(code)
}

// allBut returns the names of every node of the cluster but one.
func allBut(c *cluster.Cluster, node string) []string {
	var out []string
	for _, n := range c.Nodes() {
		if n.Spec.Name != node {
			out = append(out, n.Spec.Name)
		}
	}
	return out
}

// startCluster starts a cluster for one test and stops it when the test
// ends; on failure it prints the tail of every process log.
func startCluster(t testing.TB, opts cluster.Options) *cluster.Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test; run without -short")
	}
	opts.Logf = t.Logf
	if opts.Tools == "" {
		opts.Tools = os.Getenv("LINSTOR_HA_TOOLS")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	c, err := cluster.Start(ctx, opts)
	if err != nil {
		t.Fatalf("failed to start the cluster: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			dumpLogs(t, c)
		}
		c.Stop()
		assertNoProcessesLeft(t, c)
	})
	return c
}

func dumpLogs(t testing.TB, c *cluster.Cluster) {
	files, _ := c.Logs()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) > 40 {
			lines = lines[len(lines)-40:]
		}
		t.Logf("==> %s <==\n%s", f, strings.Join(lines, "\n"))
	}
}

// assertNoProcessesLeft checks that every process the cluster started is
// gone after Stop.
func assertNoProcessesLeft(t testing.TB, c *cluster.Cluster) {
	t.Helper()
	for _, pid := range c.PIDs() {
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("process %d is still running after Stop", pid)
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
	}
}

func namespace(t testing.TB, c *cluster.Cluster, name string) {
	t.Helper()
	_, err := c.Client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Pods are refused until the namespace's default service account exists.
	waitFor(t, 30*time.Second, "the default service account of "+name, func(ctx context.Context) (bool, error) {
		_, err := c.Client.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
}

func waitFor(t testing.TB, timeout time.Duration, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, cond); err != nil {
		t.Fatalf("timed out after %s waiting for %s: %v", timeout, what, err)
	}
}

func getPod(ctx context.Context, c *cluster.Cluster, ns, name string) (*corev1.Pod, error) {
	return c.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
}

func httpGet(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}
