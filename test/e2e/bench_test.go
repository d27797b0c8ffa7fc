package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/linstor-ha/linstor-ha/test/cluster"
)

// BenchmarkFailOver50Pods crashes a node that runs 50 StatefulSet pods, each
// on its own volume, and reports how long after the fail-over timeout (from
// DRBD's detection) the sidecar had deleted all of them, and how long until
// all replacements ran with their volumes attached.
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
		b.ReportMetric(allRunning.Sub(due).Seconds(), "running-after-timeout-s")
	}
}
