package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/linstor-ha/linstor-ha/pkg/metadata"
	"github.com/linstor-ha/linstor-ha/test/cluster"
	"github.com/linstor-ha/linstor-ha/test/drbdsim"
)

// BenchmarkFailOver50Pods crashes a node that runs 50 StatefulSet pods, each
// on its own volume, and reports how long after the fail-over timeout (from
// DRBD's detection) the sidecar had deleted all of them, when no
// VolumeAttachment was left on the dead node, and when all replacements ran
// with their volumes attached.
func BenchmarkFailOver50Pods(b *testing.B) {
	const pods = 50
	const timeout = 2 * time.Second
	for range b.N {
		b.StopTimer()
		c := startCluster(b, cluster.Options{
			StockScheduler:         true,
			NodeMonitorGracePeriod: 6 * time.Second,
			NodeMonitorPeriod:      time.Second,
			NodeLeaseDuration:      8 * time.Second,
			DRBDDelays:             fastDRBD,
			Sidecar:                sidecarBinary(b),
			SidecarArgs:            []string{"--fail-over-timeout=" + timeout.String(), "--report-heartbeat=500ms", "--report-stale-after=1500ms"},
		})
		ctx := context.Background()
		namespace(b, c, "db")
		release := onlyNode(b, c, "node-a1")
		uids := map[string]types.UID{}
		var vols []cluster.Volume
		for i := range pods {
			name := fmt.Sprintf("app%02d", i)
			vol := cluster.Volume{Namespace: "db", Claim: "data-" + name + "-0", Diskful: []string{"node-a1", "node-b1"}, Tiebreakers: []string{"node-a2"}}
			if err := c.CreateVolume(ctx, vol); err != nil {
				b.Fatal(err)
			}
			if _, err := c.Client.AppsV1().StatefulSets("db").Create(ctx, cluster.StatefulSet("db", name), metav1.CreateOptions{}); err != nil {
				b.Fatal(err)
			}
			vols = append(vols, vol)
		}
		wctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		for i, vol := range vols {
			at, err := c.WaitRunningAttached(wctx, "db", fmt.Sprintf("app%02d-0", i), vol.Resource(), "")
			if err != nil {
				b.Fatal(err)
			}
			uids[fmt.Sprintf("app%02d-0", i)] = at.UID
		}
		cancel()
		release()

		b.StartTimer()
		crashed := time.Now()
		if err := c.CrashNode("node-a1"); err != nil {
			b.Fatal(err)
		}
		var detected time.Time
		for detected.IsZero() {
			if v, ok := c.DRBD.View("node-b1", vols[0].Resource()); ok && !v.Connection("node-a1").Connected() {
				detected = time.Now()
			}
			time.Sleep(5 * time.Millisecond)
		}
		var allDeleted time.Time
		for allDeleted.IsZero() {
			list, err := c.Client.CoreV1().Pods("db").List(ctx, metav1.ListOptions{})
			if err != nil {
				b.Fatal(err)
			}
			old := 0
			for _, p := range list.Items {
				if uids[p.Name] == p.UID {
					old++
				}
			}
			if old == 0 {
				allDeleted = time.Now()
			}
			time.Sleep(20 * time.Millisecond)
		}
		var detached time.Time
		for detached.IsZero() {
			vas, err := c.Client.StorageV1().VolumeAttachments().List(ctx, metav1.ListOptions{})
			if err != nil {
				b.Fatal(err)
			}
			onDead := 0
			for _, va := range vas.Items {
				if va.Spec.NodeName == "node-a1" {
					onDead++
				}
			}
			if onDead == 0 {
				detached = time.Now()
			}
			time.Sleep(20 * time.Millisecond)
		}
		rctx, rcancel := context.WithTimeout(ctx, 5*time.Minute)
		for i, vol := range vols {
			name := fmt.Sprintf("app%02d-0", i)
			if _, err := c.WaitRunningAttached(rctx, "db", name, vol.Resource(), uids[name]); err != nil {
				b.Fatal(err)
			}
		}
		rcancel()
		allRunning := time.Now()
		b.StopTimer()
		due := detected.Add(timeout)
		b.ReportMetric(detected.Sub(crashed).Seconds(), "detection-s")
		b.ReportMetric(allDeleted.Sub(due).Seconds(), "deleted-after-timeout-s")
		b.ReportMetric(detached.Sub(due).Seconds(), "detached-after-timeout-s")
		b.ReportMetric(allRunning.Sub(due).Seconds(), "running-after-timeout-s")
	}
}

// BenchmarkSidecarMemory reports the resident memory of a sidecar whose node
// holds replicas of 1,000 DRBD resources, in a cluster of 10,000 pods.
func BenchmarkSidecarMemory(b *testing.B) {
	const resources, pods = 1000, 10000
	for range b.N {
		b.StopTimer()
		c := startCluster(b, cluster.Options{StockScheduler: true, DRBDDelays: fastDRBD, Sidecar: sidecarBinary(b)})
		ctx := context.Background()
		namespace(b, c, "load")
		for i := range resources {
			name := fmt.Sprintf("pvc-load-%04d", i)
			if err := c.DRBD.AddResource(drbdsim.ResourceSpec{Name: name, Replicas: []drbdsim.ReplicaSpec{
				{Node: "node-a1", Kind: drbdsim.Diskful}, {Node: "node-b1", Kind: drbdsim.Diskful}, {Node: "node-a2", Kind: drbdsim.Tiebreaker},
			}}); err != nil {
				b.Fatal(err)
			}
		}
		sem := make(chan struct{}, 16)
		errs := make(chan error, pods+resources)
		for i := range resources {
			sem <- struct{}{}
			go func() {
				defer func() { <-sem }()
				name := fmt.Sprintf("pvc-load-%04d", i)
				pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PersistentVolumeSpec{
					Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
					AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: metadata.DriverName, VolumeHandle: name}},
				}}
				if _, err := c.Client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
					errs <- err
				}
			}()
		}
		nodes := c.Nodes()
		for i := range pods {
			sem <- struct{}{}
			go func() {
				defer func() { <-sem }()
				pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "load", Name: fmt.Sprintf("p%05d", i)},
					Spec: corev1.PodSpec{NodeName: nodes[i%len(nodes)].Spec.Name, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
				if _, err := c.Client.CoreV1().Pods("load").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
					errs <- err
				}
			}()
		}
		for range cap(sem) {
			sem <- struct{}{}
		}
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		n, _ := c.Node("node-b1")
		waitFor(b, 5*time.Minute, "node-b1's report of every resource", func(ctx context.Context) (bool, error) {
			body, err := httpGet("http://" + n.SidecarHTTP + "/metrics")
			return err == nil && strings.Contains(body, fmt.Sprintf(`linstor_ha_drbd_resources{state="healthy"} %d`, resources)), nil
		})
		time.Sleep(5 * time.Second)
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", n.SidecarPID()))
		if err != nil {
			b.Fatal(err)
		}
		// Resident memory in all, and split into anonymous memory (heap,
		// stacks) and the pages of the binary it has touched.
		metrics := map[string]string{"VmRSS:": "rss-MiB", "RssAnon:": "rss-anon-MiB", "RssFile:": "rss-file-MiB"}
		for _, line := range strings.Split(string(status), "\n") {
			for field, unit := range metrics {
				if kb, ok := strings.CutPrefix(line, field); ok {
					var v float64
					fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(kb), " kB"), &v)
					b.ReportMetric(v/1024, unit)
				}
			}
		}
	}
}
