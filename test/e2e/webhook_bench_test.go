package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/linstor-ha/linstor-ha/test/cluster"
)

// BenchmarkWebhookPodCreation creates pods with DRBD volumes through the
// real API server, one at a time as a client waiting for each answer does,
// and prints the latency of a create call in four arms, alternated in
// blocks so that drift weighs on all alike:
//
//   - without: no webhook registered;
//   - with: linstor-ha's webhook registered, mutating every pod;
//   - allow: the same registration pointed at a webhook that answers
//     "allowed" and nothing else: what calling any webhook costs the API
//     server;
//   - patch: a webhook that answers at once with the patch linstor-ha's
//     gives these pods: what calling a webhook and applying that patch
//     costs, the floor under "with".
//
// ProductionEtcd runs etcd as production does, syncing its log to disk
// before it answers; NoFsyncEtcd as the other tests do, which leaves the
// API server's own work alone in the baseline.
func BenchmarkWebhookPodCreation(b *testing.B) {
	b.Run("ProductionEtcd", func(b *testing.B) { benchmarkPodCreation(b, true) })
	b.Run("NoFsyncEtcd", func(b *testing.B) { benchmarkPodCreation(b, false) })
}

// Arms of the pod-creation benchmark.
const (
	armWithout = "without"
	armWith    = "with"
	armAllow   = "allow"
	armPatch   = "patch"
)

func benchmarkPodCreation(b *testing.B, fsync bool) {
	const perArm, block = 500, 50
	// One pod every pace, as a controller creating a workload's pods does;
	// back-to-back creates would measure a saturated 2-core machine, where
	// every pod's follow-up work (its claim's status, the watchers) delays
	// the next create.
	const pace = 20 * time.Millisecond
	arms := []string{armWith, armWithout, armAllow, armPatch}
	// The webhook logs at the manifests' verbosity, not the tests'. The
	// controller manager's higher rate only speeds up the claims' binding
	// before the measurement.
	c := startCluster(b, cluster.Options{Webhook: webhookBinary(b), WebhookArgs: []string{"-v=0"}, EtcdFsync: fsync, ControllerManagerQPS: 100})
	ctx := context.Background()
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		b.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 1000, 2000
	client := kubernetes.NewForConfigOrDie(cfg)
	namespace(b, c, "app")
	total := perArm * len(arms)
	parallel(b, total, 16, func(i int) error {
		return createBoundVolume(ctx, client, "app", fmt.Sprintf("data-%d", i), fmt.Sprintf("pvc-app-%d", i))
	}, nil)
	if err := waitClaimsSettled(ctx, client, "app", total); err != nil {
		b.Fatal(err)
	}
	patch, err := claimPodPatch()
	if err != nil {
		b.Fatal(err)
	}
	reference, err := startReferenceWebhook(c.WebhookCertDir, patch)
	if err != nil {
		b.Fatal(err)
	}
	defer reference.Close()

	hooks := client.AdmissionregistrationV1().MutatingWebhookConfigurations()
	registered, err := hooks.Get(ctx, "linstor-ha", metav1.GetOptions{})
	if err != nil {
		b.Fatal(err)
	}
	register := func(arm string) {
		if err := hooks.Delete(ctx, registered.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			b.Fatal(err)
		}
		if arm != armWithout {
			webhooks := []admissionregistrationv1.MutatingWebhook{*registered.Webhooks[0].DeepCopy()}
			switch arm {
			case armAllow:
				webhooks[0].ClientConfig.URL = &reference.AllowURL
			case armPatch:
				webhooks[0].ClientConfig.URL = &reference.PatchURL
			}
			mwc := &admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: registered.Name}, Webhooks: webhooks}
			if _, err := hooks.Create(ctx, mwc, metav1.CreateOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		time.Sleep(2 * time.Second) // the API server reloads webhook registrations
	}

	latency := map[string][]time.Duration{}
	mutated := map[string]int{}
	// The last pod of each arm, to compare what the webhooks did.
	last := map[string]*corev1.Pod{}
	i := 0
	for round := 0; i < total; round++ {
		for k := range arms {
			// Each round starts with another arm, so none always follows
			// the same one.
			arm := arms[(round+k)%len(arms)]
			register(arm)
			tick := time.NewTicker(pace)
			for range block {
				<-tick.C
				began := time.Now()
				pod, err := client.CoreV1().Pods("app").Create(ctx, claimPod("app", fmt.Sprintf("p-%d", i), fmt.Sprintf("data-%d", i), ""), metav1.CreateOptions{})
				if err != nil {
					b.Fatal(err)
				}
				latency[arm] = append(latency[arm], time.Since(began))
				if pod.Spec.SchedulerName != corev1.DefaultSchedulerName {
					mutated[arm]++
				}
				last[arm] = pod
				i++
			}
			tick.Stop()
		}
	}
	if mutated[armWith] != perArm || mutated[armPatch] != perArm || mutated[armWithout]+mutated[armAllow] != 0 {
		b.Fatalf("pods mutated per arm: %v; want %d with ours and with the patch, none otherwise", mutated, perArm)
	}
	ours, fixed := last[armWith], last[armPatch]
	if !equality.Semantic.DeepEqual(ours.Spec.Tolerations, fixed.Spec.Tolerations) || ours.Spec.SchedulerName != fixed.Spec.SchedulerName ||
		!equality.Semantic.DeepEqual(ours.Annotations, fixed.Annotations) {
		b.Fatalf("the patch arm does not do what linstor-ha's webhook does:\nours:  %s %v %v\npatch: %s %v %v",
			ours.Spec.SchedulerName, ours.Spec.Tolerations, ours.Annotations, fixed.Spec.SchedulerName, fixed.Spec.Tolerations, fixed.Annotations)
	}
	st := map[string]latencyStats{}
	for _, arm := range arms {
		st[arm] = statsOf(latency[arm])
	}
	ratioOf := func(arm string) float64 { return float64(st[arm].mean) / float64(st[armWithout].mean) }
	p50Ratio := float64(st[armWith].p50) / float64(st[armWithout].p50)
	fmt.Printf("webhook-pod-creation etcd_fsync=%v pods_per_arm=%d %s %s %s %s ratio=%.2f p50_ratio=%.2f allow_ratio=%.2f patch_ratio=%.2f\n",
		fsync, perArm, st[armWith].format(armWith), st[armWithout].format(armWithout), st[armAllow].format(armAllow), st[armPatch].format(armPatch),
		ratioOf(armWith), p50Ratio, ratioOf(armAllow), ratioOf(armPatch))
	b.ReportMetric(ms(st[armWith].mean), "with-mean-ms")
	b.ReportMetric(ms(st[armWithout].mean), "without-mean-ms")
	b.ReportMetric(ratioOf(armWith), "ratio")
	b.ReportMetric(ratioOf(armPatch), "patch-ratio")
}

type latencyStats struct{ mean, p50, p99 time.Duration }

func statsOf(d []time.Duration) latencyStats {
	slices.Sort(d)
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	return latencyStats{mean: sum / time.Duration(len(d)), p50: d[len(d)/2], p99: d[len(d)*99/100]}
}

func (s latencyStats) format(arm string) string {
	return fmt.Sprintf("%[1]s_mean_ms=%.2[2]f %[1]s_p50_ms=%.2[3]f %[1]s_p99_ms=%.2[4]f", arm, ms(s.mean), ms(s.p50), ms(s.p99))
}

// waitClaimsSettled waits until the n claims in ns are bound and the
// controller manager has marked them unused, so that no status update of
// the setup runs during the measurement.
func waitClaimsSettled(ctx context.Context, client kubernetes.Interface, ns string, n int) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	settled := 0
	err := wait.PollUntilContextCancel(ctx, time.Second, true, func(ctx context.Context) (bool, error) {
		claims, err := client.CoreV1().PersistentVolumeClaims(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil // the next poll tries again
		}
		settled = 0
		for _, pvc := range claims.Items {
			unused := slices.ContainsFunc(pvc.Status.Conditions, func(c corev1.PersistentVolumeClaimCondition) bool {
				return c.Type == corev1.PersistentVolumeClaimUnused
			})
			if pvc.Status.Phase == corev1.ClaimBound && unused {
				settled++
			}
		}
		return settled == n, nil
	})
	if err != nil {
		return fmt.Errorf("%d of %d claims bound and marked unused: %w", settled, n, err)
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
