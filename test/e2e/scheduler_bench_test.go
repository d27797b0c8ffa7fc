package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/linstor-ha/linstor-ha/pkg/apis/linstorha/v1alpha1"
	"github.com/linstor-ha/linstor-ha/pkg/metadata"
	"github.com/linstor-ha/linstor-ha/test/cluster"
)

// BenchmarkSchedulerThroughput schedules 1,000 pods with DRBD volumes on
// 100 nodes with the stock scheduler, then 1,000 more with
// linstor-ha-scheduler, side by side in one cluster with the same API rate
// limits, and reports both rates and their ratio. Each volume has UpToDate
// replicas on two nodes, from reports refreshed as sidecars would.
func BenchmarkSchedulerThroughput(b *testing.B) {
	const pods, workers = 1000, 16
	c := startCluster(b, cluster.Options{
		StockScheduler: true,
		Scheduler:      schedulerBinary(b),
		SchedulerQPS:   500,
		// The PV controller binds 2,000 claims; at its default rate that
		// alone takes minutes.
		ControllerManagerQPS: 300,
		BulkNodes:            94,
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		b.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 1000, 2000
	client := kubernetes.NewForConfigOrDie(cfg)

	var nodes []string
	zones := map[string]string{}
	list, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range list.Items {
		nodes = append(nodes, n.Name)
		zones[n.Name] = n.Labels[metadata.LabelTopologyZone]
	}
	// Volume i of either namespace has its data on two nodes.
	dataNodes := func(i int) [2]string {
		return [2]string{nodes[(7*i)%len(nodes)], nodes[(7*i+len(nodes)/2+1)%len(nodes)]}
	}

	parallel(b, 2*pods, workers, func(k int) error {
		ns, i := []string{"stock", "ours"}[k/pods], k%pods
		return createBoundVolume(ctx, client, ns, fmt.Sprintf("data-%d", i), fmt.Sprintf("pvc-%s-%d", ns, i))
	}, func() { namespace(b, c, "stock"); namespace(b, c, "ours") })
	waitFor(b, 5*time.Minute, "every claim bound", func(ctx context.Context) (bool, error) {
		bound := 0
		for _, ns := range []string{"stock", "ours"} {
			l, err := client.CoreV1().PersistentVolumeClaims(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return false, nil
			}
			for _, pvc := range l.Items {
				if pvc.Status.Phase == corev1.ClaimBound {
					bound++
				}
			}
		}
		return bound == 2*pods, nil
	})

	// The reports, refreshed every 5 s as the sidecars' heartbeats would.
	rc := reports(b, c)
	byNode := map[string][]v1alpha1.ResourceReport{}
	for _, ns := range []string{"stock", "ours"} {
		for i := range pods {
			for _, n := range dataNodes(i) {
				byNode[n] = append(byNode[n], v1alpha1.ResourceReport{Name: fmt.Sprintf("pvc-%s-%d", ns, i), Disk: "UpToDate", Quorum: true})
			}
		}
	}
	writeAll := func() error {
		for _, n := range nodes {
			status, _ := json.Marshal(map[string]any{"status": v1alpha1.ReplicaReportStatus{NodeName: n, Zone: zones[n], Synced: true,
				HeartbeatTime: metav1.NewMicroTime(time.Now()), Resources: byNode[n]}})
			if err := rc.PatchStatus(ctx, n, status); err != nil {
				return err
			}
		}
		return nil
	}
	for _, n := range nodes {
		if err := rc.Create(ctx, &v1alpha1.ReplicaReport{ObjectMeta: metav1.ObjectMeta{Name: n}}); err != nil {
			b.Fatal(err)
		}
	}
	if err := writeAll(); err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(5 * time.Second):
				_ = writeAll()
			}
		}
	})
	defer wg.Wait()
	defer cancel()
	time.Sleep(2 * time.Second) // the scheduler's index takes the reports in

	// Four rounds of 500 pods, in the order stock, ours, ours, stock, each
	// after the previous round's pods run: the load earlier pods leave
	// behind (kwok status updates, attachments) falls on both alike.
	const round = pods / 2
	took := map[string]time.Duration{}
	onData := map[string]int{}
	for r, ns := range []string{"stock", "ours", "ours", "stock"} {
		name := map[string]string{"stock": corev1.DefaultSchedulerName, "ours": metadata.SchedulerName}[ns]
		offset := 0
		if r >= 2 {
			offset = round
		}
		began := time.Now()
		parallel(b, round, workers, func(i int) error {
			i += offset
			_, err := client.CoreV1().Pods(ns).Create(ctx, claimPod(ns, fmt.Sprintf("p-%d", i), fmt.Sprintf("data-%d", i), name), metav1.CreateOptions{})
			return err
		}, nil)
		placed := waitScheduled(b, c, ns, offset+round, 10*time.Minute)
		took[ns] += time.Since(began)
		for pod, node := range placed {
			var i int
			if _, err := fmt.Sscanf(pod, "p-%d", &i); err != nil || i < offset {
				continue
			}
			if d := dataNodes(i); d[0] == node || d[1] == node {
				onData[ns]++
			}
		}
		b.Logf("round %d, %s: %d pods scheduled in %s", r+1, name, round, time.Since(began).Round(time.Millisecond))
		waitFor(b, 5*time.Minute, "the round's pods to run", func(ctx context.Context) (bool, error) {
			l, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return false, nil
			}
			running := 0
			for _, p := range l.Items {
				if p.Status.Phase == corev1.PodRunning {
					running++
				}
			}
			return running == offset+round, nil
		})
		time.Sleep(3 * time.Second)
	}
	rate := map[string]float64{}
	for ns, d := range took {
		rate[ns] = float64(pods) / d.Seconds()
	}
	ratio := rate["ours"] / rate["stock"]
	fmt.Printf("scheduler-throughput nodes=%d pods=%d stock_pods_per_s=%.1f linstor_ha_pods_per_s=%.1f ratio=%.2f stock_on_data=%d linstor_ha_on_data=%d\n",
		len(nodes), pods, rate["stock"], rate["ours"], ratio, onData["stock"], onData["ours"])
	b.ReportMetric(rate["stock"], "stock-pods/s")
	b.ReportMetric(rate["ours"], "linstor-ha-pods/s")
	b.ReportMetric(ratio, "ratio")
}

// parallel runs fn(0..n-1) on workers goroutines after setup, failing b on
// the first error.
func parallel(b testing.TB, n, workers int, fn func(int) error, setup func()) {
	b.Helper()
	if setup != nil {
		setup()
	}
	next := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				if err := fn(i); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
}

// createBoundVolume creates a PV of the DRBD driver for resource and a
// claim bound to it, as cluster.CreateVolume does, without a DRBD resource
// behind: scheduling only reads the objects and the reports.
func createBoundVolume(ctx context.Context, client kubernetes.Interface, ns, claim, res string) error {
	size := resource.MustParse("1Gi")
	sc := cluster.StorageClassName
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: res},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: size},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			StorageClassName:              sc,
			ClaimRef:                      &corev1.ObjectReference{Namespace: ns, Name: claim},
			PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{
				Driver: metadata.DriverName, VolumeHandle: res}},
		},
	}
	if _, err := client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
		return err
	}
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: claim},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: &sc,
			VolumeName:       res,
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: size}},
		},
	}
	_, err := client.CoreV1().PersistentVolumeClaims(ns).Create(ctx, pvc, metav1.CreateOptions{})
	return err
}
