package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/linstor-ha/linstor-ha/pkg/metadata"
	"github.com/linstor-ha/linstor-ha/test/cluster"
)

func webhookBinary(t testing.TB) string { return binary(t, "webhook") }

// servedSerial returns the serial number of the certificate the webhook
// serves now.
func servedSerial(addr string) (string, error) {
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // only reads the served certificate
	if err != nil {
		return "", err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.String(), nil
}

func toleration(pod *corev1.Pod, key string) int64 {
	for _, t := range pod.Spec.Tolerations {
		if t.Key == key && t.TolerationSeconds != nil {
			return *t.TolerationSeconds
		}
	}
	return -1
}

// TestWebhook runs the webhook as deployed (account, RBAC, configuration,
// registration from manifests/webhook) on the real API server: DRBD pods
// are mutated, others and excluded namespaces are not, pods are created
// while it is down, and a rotated certificate is served without restart.
func TestWebhook(t *testing.T) {
	c := startCluster(t, cluster.Options{
		StockScheduler: true,
		Scheduler:      schedulerBinary(t),
		Webhook:        webhookBinary(t),
		Sidecar:        sidecarBinary(t),
		SidecarArgs:    []string{"--report-heartbeat=2s"},
	})
	ctx := context.Background()
	namespace(t, c, "db")
	vol := cluster.Volume{Namespace: "db", Claim: "data-pg-0", Diskful: []string{"node-a1", "node-b1"}, Tiebreakers: []string{"node-a2"}}
	if err := c.CreateVolume(ctx, vol); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "the reports of node-a1 and node-b1", func(ctx context.Context) (bool, error) {
		for _, n := range []string{"node-a1", "node-b1"} {
			r, err := reports(t, c).Get(ctx, n)
			if err != nil || r.Status.Summary.Healthy != 1 {
				return false, nil
			}
		}
		return true, nil
	})

	// A StatefulSet written without any of it.
	if _, err := c.Client.AppsV1().StatefulSets("db").Create(ctx, cluster.StatefulSet("db", "pg"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var pod *corev1.Pod
	waitFor(t, 30*time.Second, "pod pg-0", func(ctx context.Context) (bool, error) {
		var err error
		pod, err = c.Client.CoreV1().Pods("db").Get(ctx, "pg-0", metav1.GetOptions{})
		return err == nil, nil
	})
	if pod.Spec.SchedulerName != metadata.SchedulerName {
		t.Errorf("schedulerName %q, want %q", pod.Spec.SchedulerName, metadata.SchedulerName)
	}
	for _, key := range []string{corev1.TaintNodeNotReady, corev1.TaintNodeUnreachable} {
		if s := toleration(pod, key); s != 30 {
			t.Errorf("toleration %s: %d s, want 30", key, s)
		}
	}
	spread := pod.Spec.TopologySpreadConstraints
	if len(spread) != 1 || spread[0].TopologyKey != metadata.LabelTopologyZone || spread[0].LabelSelector.MatchLabels["app"] != "pg" {
		t.Errorf("zone spread %+v, want one over %s for app=pg", spread, metadata.LabelTopologyZone)
	}
	var zones []string
	if a := pod.Spec.Affinity; a != nil && a.NodeAffinity != nil && len(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution) == 1 {
		zones = a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].Preference.MatchExpressions[0].Values
	}
	if !slices.Equal(zones, []string{"room-a", "room-b"}) {
		t.Errorf("preferred zones %v, want the zones with data [room-a room-b]", zones)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	at, err := c.WaitRunningAttached(wctx, "db", "pg-0", vol.Resource(), "")
	if err != nil {
		t.Fatalf("the mutated pod never ran: %v", err)
	}
	if at.Node != "node-a1" && at.Node != "node-b1" {
		t.Errorf("the mutated pod runs on %s, want a node with its data", at.Node)
	}

	// A pod without DRBD volumes is untouched.
	plain, err := c.Client.CoreV1().Pods("db").Create(ctx, claimPod("db", "plain", "", ""), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if plain.Spec.SchedulerName != corev1.DefaultSchedulerName || toleration(plain, corev1.TaintNodeNotReady) != 300 || plain.Annotations[metadata.AnnotationMutated] != "" {
		t.Errorf("a pod without DRBD volumes was changed: scheduler %q, not-ready toleration %d s", plain.Spec.SchedulerName, toleration(plain, corev1.TaintNodeNotReady))
	}

	// A DRBD pod in a namespace that opted out is untouched.
	namespace(t, c, "quiet")
	if _, err := c.Client.CoreV1().Namespaces().Patch(ctx, "quiet", types.MergePatchType,
		fmt.Appendf(nil, `{"metadata":{"labels":{%q:%q}}}`, metadata.LabelNamespaceMutation, metadata.LabelValueDisabled), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateVolume(ctx, cluster.Volume{Namespace: "quiet", Claim: "data", Diskful: []string{"node-a3", "node-b3"}}); err != nil {
		t.Fatal(err)
	}
	quiet, err := c.Client.CoreV1().Pods("quiet").Create(ctx, claimPod("quiet", "q", "data", ""), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if quiet.Spec.SchedulerName != corev1.DefaultSchedulerName || quiet.Annotations[metadata.AnnotationMutated] != "" {
		t.Errorf("a pod in an opted-out namespace was mutated")
	}

	// A rotated certificate is served without a restart, and the API server
	// (same CA) keeps calling the webhook.
	before, err := servedSerial(c.WebhookAddr())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.RotateWebhookCert(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the rotated certificate to be served", func(context.Context) (bool, error) {
		now, err := servedSerial(c.WebhookAddr())
		return err == nil && now != before, nil
	})
	if err := c.CreateVolume(ctx, cluster.Volume{Namespace: "db", Claim: "after-rotation", Diskful: []string{"node-a3", "node-b3"}}); err != nil {
		t.Fatal(err)
	}
	rotated, err := c.Client.CoreV1().Pods("db").Create(ctx, claimPod("db", "after-rotation", "after-rotation", ""), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rotated.Spec.SchedulerName != metadata.SchedulerName {
		t.Errorf("after the rotation the webhook no longer mutates: schedulerName %q", rotated.Spec.SchedulerName)
	}

	// With the webhook down, pods are still created, unmutated.
	c.StopWebhook()
	if err := c.CreateVolume(ctx, cluster.Volume{Namespace: "db", Claim: "while-down", Diskful: []string{"node-a3", "node-b3"}}); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	down, err := c.Client.CoreV1().Pods("db").Create(ctx, claimPod("db", "while-down", "while-down", ""), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("pod creation failed with the webhook down: %v", err)
	}
	t.Logf("pod created %s after the request with the webhook down", time.Since(began).Round(time.Millisecond))
	if down.Spec.SchedulerName != corev1.DefaultSchedulerName {
		t.Errorf("schedulerName %q with the webhook down", down.Spec.SchedulerName)
	}
	if err := c.StartWebhook(ctx); err != nil {
		t.Fatal(err)
	}
}
