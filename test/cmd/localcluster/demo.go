package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/linstor-ha/linstor-ha/pkg/metadata"
	"github.com/linstor-ha/linstor-ha/test/cluster"
)

// runDemo shows, on a local cluster, what happens when the node under a
// stateful pod crashes: how fast DRBD knows, how stock Kubernetes leaves the
// pod Terminating and its volume attached to the dead node, and, with
// --sidecar, how the linstor-ha sidecar fails it over. DRBD's detection
// delays are its defaults; Kubernetes' too when linstor-ha runs, while
// without it grace periods are shortened so that the demo takes about a
// minute.
func runDemo(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	watch := fs.Duration("watch", 45*time.Second, "how long to watch after the crash")
	sidecar := fs.String("sidecar", "", "a built csi-sidecar binary to run on every node")
	scheduler := fs.String("scheduler", "", "a built cmd/scheduler binary to run as linstor-ha-scheduler")
	webhook := fs.String("webhook", "", "a built cmd/webhook binary to run and register")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logf := func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }
	opts := cluster.Options{
		StockScheduler: true,
		Logf:           logf,
		Sidecar:        *sidecar,
		Scheduler:      *scheduler,
		Webhook:        *webhook,
		// The fail-over timeout of manifests/sidecar/csi-node-patch.yaml;
		// every other flag keeps its default, as there.
		SidecarArgs: []string{"--fail-over-timeout=5s"},
	}
	if *sidecar == "" {
		// Without linstor-ha nothing happens for minutes: shorter node
		// grace and tolerations show within the watch what stock
		// Kubernetes does in the end.
		opts.NodeMonitorGracePeriod, opts.NodeMonitorPeriod, opts.NodeLeaseDuration = 10*time.Second, time.Second, 12*time.Second
		opts.DefaultTolerationSeconds = 15
	}
	c, err := cluster.Start(ctx, opts)
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
	fmt.Println("DRBD: ping-int 10s, ping-timeout 0.5s, timeout 6s (its defaults).")
	if *sidecar != "" {
		fmt.Println("Kubernetes: node grace period 50s (its default). linstor-ha sidecar on every node: fail-over timeout 5s, liveness Lease renewed every 1s.")
	} else {
		fmt.Printf("Stock Kubernetes, shortened to fit the demo: node grace period 10s, tolerations %ds.\n", opts.DefaultTolerationSeconds)
	}
	if *webhook != "" {
		pod, err := c.Client.CoreV1().Pods(vol.Namespace).Get(ctx, "pg-0", metav1.GetOptions{})
		if err == nil {
			fmt.Printf("linstor-ha webhook: pg-0 was admitted with schedulerName %s.\n", pod.Spec.SchedulerName)
		}
	}
	fmt.Println()

	tl := cluster.NewTimeline(os.Stdout)
	if err := c.CrashNode(first.Node); err != nil {
		return err
	}
	tl.Mark("crash: " + first.Node + " loses power")
	deadline := time.After(*watch)
	for {
		if observe(ctx, c, tl, vol, first, survivor) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline:
			return summarize(ctx, c, vol, first, *watch)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// observe marks on the timeline what the cluster shows now, and reports
// whether the workload runs again.
func observe(ctx context.Context, c *cluster.Cluster, tl *cluster.Timeline, vol cluster.Volume, first cluster.Placement, survivor string) bool {
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
			switch {
			case t.Key == metadata.TaintLostQuorum:
				tl.Mark("linstor-ha sidecar tainted " + first.Node + " " + t.Key + ":NoSchedule")
			case t.Effect == corev1.TaintEffectNoExecute:
				tl.Mark("taint " + t.Key + ":NoExecute on " + first.Node)
			}
		}
	}
	pod, err := c.Client.CoreV1().Pods(vol.Namespace).Get(ctx, "pg-0", metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err) || (err == nil && pod.UID != first.UID):
		tl.Mark("old pg-0 deleted")
	case err == nil && pod.DeletionTimestamp != nil:
		tl.Mark("taint manager evicted pg-0: Terminating, and no kubelet will confirm it")
	}
	if va, err := c.Attachment(ctx, vol.Resource()); err == nil && va == nil {
		tl.Mark("VolumeAttachment to " + first.Node + " removed")
	}
	if err != nil || pod.UID == first.UID {
		return false
	}
	tl.Mark("replacement pg-0 scheduled on " + pod.Spec.NodeName + " by " + pod.Spec.SchedulerName + placementReason(vol, pod.Spec.NodeName))
	va, err := c.Attachment(ctx, vol.Resource())
	if err == nil && va != nil && va.Spec.NodeName == pod.Spec.NodeName && va.Status.Attached {
		tl.Mark("volume attached to " + pod.Spec.NodeName)
		if pod.Status.Phase == corev1.PodRunning {
			tl.Mark("replacement pg-0 Running on " + pod.Spec.NodeName + " with its volume attached")
			return true
		}
	}
	return false
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

// placementReason says what the node holds of the volume.
func placementReason(vol cluster.Volume, node string) string {
	for _, n := range vol.Diskful {
		if n == node {
			return " (it holds an UpToDate replica)"
		}
	}
	for _, n := range vol.Tiebreakers {
		if n == node {
			return " (it holds only the tiebreaker)"
		}
	}
	return " (it holds no replica)"
}
