package e2e

import (
	"context"
	"os"
	"path/filepath"
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
	leases := kubernetes.NewForConfigOrDie(cfg).CoordinationV1().Leases("piraeus-datastore")
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
