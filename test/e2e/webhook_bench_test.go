package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/linstor-ha/linstor-ha/test/cluster"
)

// BenchmarkWebhookPodCreation creates 500 pods with DRBD volumes through
// the real API server with the webhook registered and 500 without, in
// alternating blocks of 100, and reports the latency of a create call and
// the ratio of the means. The NoMutation variant runs the webhook with every
// mutation switched off: it looks the pod up and answers "allowed", which
// is the cost of the call alone.
func BenchmarkWebhookPodCreation(b *testing.B) {
	b.Run("Mutating", func(b *testing.B) { benchmarkPodCreation(b, true) })
	b.Run("NoMutation", func(b *testing.B) { benchmarkPodCreation(b, false) })
}

func benchmarkPodCreation(b *testing.B, mutating bool) {
	const pods, block = 1000, 100
	opts := cluster.Options{Webhook: webhookBinary(b)}
	if !mutating {
		opts.WebhookArgs = []string{"--set-scheduler=false", "--set-tolerations=false", "--spread-zones=false", "--prefer-data-zones=false"}
	}
	c := startCluster(b, opts)
	ctx := context.Background()
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		b.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 1000, 2000
	client := kubernetes.NewForConfigOrDie(cfg)
	namespace(b, c, "app")
	parallel(b, pods, 16, func(i int) error {
		return createBoundVolume(ctx, client, "app", fmt.Sprintf("data-%d", i), fmt.Sprintf("pvc-app-%d", i))
	}, nil)

	hooks := client.AdmissionregistrationV1().MutatingWebhookConfigurations()
	registered, err := hooks.Get(ctx, "linstor-ha", metav1.GetOptions{})
	if err != nil {
		b.Fatal(err)
	}
	setRegistered := func(on bool) {
		if on {
			mwc := &admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: registered.Name}, Webhooks: registered.Webhooks}
			if _, err := hooks.Create(ctx, mwc, metav1.CreateOptions{}); err != nil {
				b.Fatal(err)
			}
		} else if err := hooks.Delete(ctx, registered.Name, metav1.DeleteOptions{}); err != nil {
			b.Fatal(err)
		}
		time.Sleep(2 * time.Second) // the API server reloads webhook registrations
	}

	latency := map[bool][]time.Duration{}
	mutated := 0
	on := true
	for start := 0; start < pods; start += block {
		if start > 0 {
			on = !on
			setRegistered(on)
		}
		for i := start; i < start+block; i++ {
			began := time.Now()
			pod, err := client.CoreV1().Pods("app").Create(ctx, claimPod("app", fmt.Sprintf("p-%d", i), fmt.Sprintf("data-%d", i), ""), metav1.CreateOptions{})
			if err != nil {
				b.Fatal(err)
			}
			latency[on] = append(latency[on], time.Since(began))
			if pod.Spec.SchedulerName != "default-scheduler" {
				mutated++
			}
		}
	}
	if want := map[bool]int{true: pods / 2, false: 0}[mutating]; mutated != want {
		b.Fatalf("%d pods mutated, want %d", mutated, want)
	}
	stats := func(d []time.Duration) (mean, p99 time.Duration) {
		slices.Sort(d)
		var sum time.Duration
		for _, x := range d {
			sum += x
		}
		return sum / time.Duration(len(d)), d[len(d)*99/100]
	}
	withMean, withP99 := stats(latency[true])
	withoutMean, withoutP99 := stats(latency[false])
	ratio := float64(withMean) / float64(withoutMean)
	fmt.Printf("webhook-pod-creation mutating=%v pods=%d with_mean_ms=%.2f with_p99_ms=%.2f without_mean_ms=%.2f without_p99_ms=%.2f ratio=%.2f\n",
		mutating, pods/2, ms(withMean), ms(withP99), ms(withoutMean), ms(withoutP99), ratio)
	b.ReportMetric(ms(withMean), "with-mean-ms")
	b.ReportMetric(ms(withoutMean), "without-mean-ms")
	b.ReportMetric(ratio, "ratio")
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
