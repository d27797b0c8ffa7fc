package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/linstor-ha/linstor-ha/csi-sidecar/liveness"
	"github.com/linstor-ha/linstor-ha/pkg/apis/linstorha/v1alpha1"
	"github.com/linstor-ha/linstor-ha/pkg/reportclient"
	"github.com/linstor-ha/linstor-ha/pkg/restconfig"
	"github.com/linstor-ha/linstor-ha/test/cluster"
)

// TestSidecarWritesOnlyItsOwnReport: with node-a1's sidecar credentials
// (the shared service account, with a token bound to node-a1), writing
// node-b1's report is refused by the API server, while node-a1's own
// report can be written; the same holds for the nodes' liveness Leases.
// Every sidecar test writes its own reports and Leases under the same
// policy.
func TestSidecarWritesOnlyItsOwnReport(t *testing.T) {
	c := startCluster(t, cluster.Options{Sidecar: sidecarBinary(t)})
	ctx := context.Background()
	cfg, err := clientcmd.BuildConfigFromFlags("", c.SidecarKubeconfig("node-a1"))
	if err != nil {
		t.Fatal(err)
	}
	asA1, err := reportclient.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "node-b1's own report", func(ctx context.Context) (bool, error) {
		_, err := asA1.Get(ctx, "node-b1")
		return err == nil, nil
	})
	forged := []byte(`{"status":{"synced":true,"resources":[{"name":"pvc-forged","disk":"Outdated","quorum":false,"mayPromote":false}]}}`)
	err = asA1.PatchStatus(ctx, "node-b1", forged)
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "only the replica report and the liveness lease of its own node") {
		t.Fatalf("node-a1's sidecar patched node-b1's report: got %v, want Forbidden by the policy", err)
	}
	err = asA1.Create(ctx, &v1alpha1.ReplicaReport{ObjectMeta: metav1.ObjectMeta{Name: "node-x"}})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("node-a1's sidecar created node-x's report: got %v, want Forbidden", err)
	}
	if err := asA1.PatchStatus(ctx, "node-a1", []byte(`{"status":{"synced":true}}`)); err != nil {
		t.Fatalf("node-a1's sidecar cannot write its own report: %v", err)
	}

	// Nor may it keep a peer looking alive by renewing the peer's Lease.
	leases := kubernetes.NewForConfigOrDie(cfg).CoordinationV1().Leases(c.SidecarNamespace())
	var b1Lease *coordinationv1.Lease
	waitFor(t, 30*time.Second, "node-b1's liveness lease", func(ctx context.Context) (bool, error) {
		b1Lease, err = leases.Get(ctx, liveness.LeaseName("node-b1"), metav1.GetOptions{})
		return err == nil, nil
	})
	b1Lease.Spec.RenewTime = &metav1.MicroTime{Time: time.Now().Add(time.Hour)}
	if _, err := leases.Update(ctx, b1Lease, metav1.UpdateOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("node-a1's sidecar renewed node-b1's lease: got %v, want Forbidden", err)
	}
	a1Lease, err := leases.Get(ctx, liveness.LeaseName("node-a1"), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leases.Update(ctx, a1Lease, metav1.UpdateOptions{}); err != nil && !apierrors.IsConflict(err) {
		t.Fatalf("node-a1's sidecar cannot write its own lease: %v", err)
	}

	assertNoTokensInLogs(t, c)

	b1, err := reports(t, c).Get(ctx, "node-b1")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range b1.Status.Resources {
		if r.Name == "pvc-forged" {
			t.Fatal("the forged resource is in node-b1's report")
		}
	}
}

// TestSidecarRunsWithItsContainersCredentials: a sidecar gets the API
// server from KUBERNETES_SERVICE_HOST/_PORT (its node's way to the API
// server) and its credentials only from the projected volume its container
// mounts at the in-cluster path, in a mount namespace of its own: no
// kubeconfig, and a token bound to its CSI node pod on its node.
func TestSidecarRunsWithItsContainersCredentials(t *testing.T) {
	c := startCluster(t, cluster.Options{Sidecar: sidecarBinary(t)})
	ctx := context.Background()
	n, err := c.Node("node-a1")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "node-a1's sidecar ready", func(context.Context) (bool, error) {
		resp, err := http.Get("http://" + n.SidecarHTTP + "/readyz")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	pid := n.SidecarPID()
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(cmdline), "--kubeconfig") {
		t.Errorf("the sidecar runs with a kubeconfig: %q", cmdline)
	}
	environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		t.Fatal(err)
	}
	kc, err := clientcmd.LoadFromFile(n.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := url.Parse(kc.Clusters[kc.Contexts[kc.CurrentContext].Cluster].Server)
	if err != nil {
		t.Fatal(err)
	}
	env := strings.Split(string(environ), "\x00")
	for _, want := range []string{"KUBERNETES_SERVICE_HOST=" + proxy.Hostname(), "KUBERNETES_SERVICE_PORT=" + proxy.Port(), "NODE_NAME=node-a1", "POD_NAMESPACE=" + c.SidecarNamespace()} {
		if !slices.Contains(env, want) {
			t.Errorf("the sidecar's environment lacks %s", want)
		}
	}

	// What the sidecar sees at the in-cluster path is its own mount: the
	// token of its container's volume, the cluster's CA, its namespace.
	// Absolute symlinks (/var/run) resolve against this process's root,
	// not through /proc/<pid>/root, so they are resolved first.
	saDir := resolvedPath(restconfig.ServiceAccountDir)
	inside := func(name string) string {
		b, err := os.ReadFile(filepath.Join(fmt.Sprintf("/proc/%d/root", pid), saDir, name))
		if err != nil {
			t.Fatalf("the sidecar sees no %s: %v", name, err)
		}
		return string(b)
	}
	token, err := os.ReadFile(c.SidecarTokenFile("node-a1"))
	if err != nil {
		t.Fatal(err)
	}
	if inside("token") != string(token) || len(token) == 0 {
		t.Error("the sidecar's token is not its container's")
	}
	if got := inside("namespace"); got != c.SidecarNamespace() {
		t.Errorf("the sidecar's namespace file says %q, want %q", got, c.SidecarNamespace())
	}
	rootCA, err := c.Client.CoreV1().ConfigMaps(c.SidecarNamespace()).Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if inside("ca.crt") != rootCA.Data["ca.crt"] {
		t.Error("the sidecar's ca.crt is not kube-root-ca.crt's")
	}
	mountinfo, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid))
	if err != nil {
		t.Fatal(err)
	}
	mounted := false
	for _, line := range strings.Split(string(mountinfo), "\n") {
		if f := strings.Fields(line); len(f) > 4 && f[4] == saDir {
			mounted = true
		}
	}
	if !mounted {
		t.Errorf("the sidecar's mount namespace has no mount at %s", restconfig.ServiceAccountDir)
	}

	// The token is bound to the node's CSI node pod, and through it to the
	// node: what the report policy checks.
	claims := jwtClaims(t, string(token))
	pod, err := c.Client.CoreV1().Pods(c.SidecarNamespace()).Get(ctx, claims.Kubernetes.Pod.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the token's pod %q: %v", claims.Kubernetes.Pod.Name, err)
	}
	if string(pod.UID) != claims.Kubernetes.Pod.UID || pod.Spec.NodeName != "node-a1" || claims.Kubernetes.Node.Name != "node-a1" {
		t.Errorf("the token is bound to pod %s (uid %s) on node %q, want node-a1's CSI node pod", claims.Kubernetes.Pod.Name, claims.Kubernetes.Pod.UID, claims.Kubernetes.Node.Name)
	}
	if pod.Spec.AutomountServiceAccountToken == nil || *pod.Spec.AutomountServiceAccountToken {
		t.Error("the CSI node pod automounts a token for all its containers")
	}
}

// resolvedPath resolves the symlinks of the longest prefix of path that
// exists here.
func resolvedPath(path string) string {
	rest := ""
	for dir := path; dir != "/"; dir = filepath.Dir(dir) {
		if real, err := filepath.EvalSymlinks(dir); err == nil {
			return filepath.Join(real, rest)
		}
		rest = filepath.Join(filepath.Base(dir), rest)
	}
	return path
}

// tokenClaims are the claims of a service account token that say what it
// is bound to.
type tokenClaims struct {
	Kubernetes struct {
		Pod struct {
			Name string `json:"name"`
			UID  string `json:"uid"`
		} `json:"pod"`
		Node struct {
			Name string `json:"name"`
		} `json:"node"`
	} `json:"kubernetes.io"`
}

func jwtClaims(t *testing.T, token string) tokenClaims {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("the token is no JWT")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims tokenClaims
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

// assertNoTokensInLogs fails if a sidecar's service account token appears
// in any log of the cluster.
func assertNoTokensInLogs(t *testing.T, c *cluster.Cluster) {
	t.Helper()
	var tokens []string
	for _, n := range c.Nodes() {
		cfg, err := clientcmd.LoadFromFile(c.SidecarKubeconfig(n.Spec.Name))
		if err != nil {
			t.Fatal(err)
		}
		for _, auth := range cfg.AuthInfos {
			if auth.Token != "" {
				tokens = append(tokens, auth.Token)
			}
		}
	}
	if len(tokens) == 0 {
		t.Fatal("no sidecar tokens found")
	}
	logs, err := c.Logs()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range logs {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, tok := range tokens {
			// A JWT's signature alone is enough to leak it.
			if sig := tok[strings.LastIndex(tok, ".")+1:]; strings.Contains(string(raw), sig) {
				t.Errorf("%s holds a sidecar's token", filepath.Base(f))
			}
		}
	}
}
