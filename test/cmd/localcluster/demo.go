package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/linstor-ha/linstor-ha/test/cluster"
)

// runDemo shows, on a local cluster, what happens today when the node under
// a stateful pod crashes: how fast DRBD knows, and how stock Kubernetes
// leaves the pod Terminating and its volume attached to the dead node. Grace
// periods are shortened so that the demo takes about a minute; DRBD's
// detection delays are its defaults.
func runDemo(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	watch := fs.Duration("watch", 45*time.Second, "how long to watch after the crash")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logf := func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }
	const tolerationSeconds = 15
	c, err := cluster.Start(ctx, cluster.Options{
		StockScheduler:           true,
		NodeMonitorGracePeriod:   10 * time.Second,
		NodeMonitorPeriod:        time.Second,
		NodeLeaseDuration:        12 * time.Second,
		DefaultTolerationSeconds: tolerationSeconds,
		Logf:                     logf,
	})
	if err != nil {
		return err
	}
	defer c.Stop()
	vol, first, err := statefulPod(ctx, c)
	if err != nil {
		return err
	}
	survivor := "node-b1"
	if first.Node == survivor {
		survivor = "node-a1"
	}
	fmt.Printf("\nStatefulSet pod pg-0 runs on %s; its DRBD volume has replicas on node-a1 and node-b1 and a tiebreaker on node-a2.\n", first.Node)
	fmt.Printf("Stock Kubernetes: node grace period 10s, tolerations %ds; DRBD: ping-int 10s, ping-timeout 0.5s, timeout 6s.\n\n", tolerationSeconds)

	tl := cluster.NewTimeline(os.Stdout)
	if err := c.CrashNode(first.Node); err != nil {
		return err
	}
	tl.Mark("crash: " + first.Node + " loses power")
	deadline := time.After(*watch)
	for {
		observe(ctx, c, tl, vol, first, survivor)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline:
			return summarize(ctx, c, vol, first, *watch)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// observe marks on the timeline what the cluster shows now.
func observe(ctx context.Context, c *cluster.Cluster, tl *cluster.Timeline, vol cluster.Volume, first cluster.Placement, survivor string) {
	if v, ok := c.DRBD.View(survivor, vol.Resource()); ok {
		if p := v.Connection(first.Node); p != nil && !p.Connected() {
			tl.Mark(fmt.Sprintf("DRBD on %s noticed: connection to %s %s", survivor, first.Node, p.State))
		}
		if v.CanPromote() {
			tl.Mark(fmt.Sprintf("DRBD on %s: quorum, may_promote:yes (the old Primary is frozen)", survivor))
		}
	}
	if n, err := c.Client.CoreV1().Nodes().Get(ctx, first.Node, metav1.GetOptions{}); err == nil {
		if !cluster.NodeReady(n) {
			tl.Mark("node lifecycle controller: " + first.Node + " NotReady")
		}
		for _, t := range n.Spec.Taints {
			if t.Effect == corev1.TaintEffectNoExecute {
				tl.Mark("taint " + t.Key + ":NoExecute on " + first.Node)
			}
		}
	}
	if pod, err := c.Client.CoreV1().Pods(vol.Namespace).Get(ctx, "pg-0", metav1.GetOptions{}); err == nil {
		if pod.UID == first.UID && pod.DeletionTimestamp != nil {
			tl.Mark("taint manager evicted pg-0: Terminating, and no kubelet will confirm it")
		}
		if pod.UID != first.UID {
			tl.Mark("replacement pg-0 created on " + pod.Spec.NodeName)
		}
	}
}

// summarize prints where the workload stands at the end of the demo.
func summarize(ctx context.Context, c *cluster.Cluster, vol cluster.Volume, first cluster.Placement, watched time.Duration) error {
	pod, err := c.Client.CoreV1().Pods(vol.Namespace).Get(ctx, "pg-0", metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("failed to read pg-0: %w", err)
	}
	va, err := c.Attachment(ctx, vol.Resource())
	if err != nil {
		return fmt.Errorf("failed to read the VolumeAttachment: %w", err)
	}
	podState := fmt.Sprintf("pg-0 %s on %s", pod.Status.Phase, pod.Spec.NodeName)
	if pod.UID == first.UID && pod.DeletionTimestamp != nil {
		podState = "pg-0 still Terminating on the dead node " + pod.Spec.NodeName + ", no replacement"
	}
	vaState := "no VolumeAttachment"
	if va != nil {
		vaState = fmt.Sprintf("VolumeAttachment on %s (attached=%v)", va.Spec.NodeName, va.Status.Attached)
	}
	fmt.Printf("%+8.1fs  %s; %s\n", watched.Seconds(), podState, vaState)
	return nil
}
