package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/linstor-ha/linstor-ha/test/cluster"
)

// runBaseline measures stock Kubernetes with its default settings (50 s node
// grace period, 300 s tolerations, DRBD's default detection delays): the
// time from a node crash to the StatefulSet's replacement pod Running with
// its volume attached, or "never" within the bound.
func runBaseline(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench-baseline", flag.ContinueOnError)
	bound := fs.Duration("bound", 10*time.Minute, "give up after this long and report never")
	if err := fs.Parse(args); err != nil {
		return err
	}
	took, ok, err := stockTrial(ctx, *bound, logf)
	if err != nil {
		return err
	}
	value := "never"
	if ok {
		value = fmt.Sprintf("%.1f", took.Seconds())
	}
	fmt.Printf("stock_failover_seconds value=%s bound=%d\n", value, int(bound.Seconds()))
	return nil
}

// stockTrial crashes the node under pg-0 on a cluster of stock Kubernetes
// with default settings, and returns how long the replacement took to run
// with its volume attached, or false when it did not within bound.
func stockTrial(ctx context.Context, bound time.Duration, logf func(string, ...any)) (time.Duration, bool, error) {
	c, err := cluster.Start(ctx, cluster.Options{StockScheduler: true, Logf: logf})
	if err != nil {
		return 0, false, err
	}
	defer c.Stop()
	vol, first, err := statefulPod(ctx, c)
	if err != nil {
		return 0, false, err
	}
	node := first.Node
	logf("stock Kubernetes: pg-0 runs on %s with its volume attached; crashing %s and waiting up to %s", node, node, bound)
	crashed := time.Now()
	if err := c.CrashNode(node); err != nil {
		return 0, false, err
	}
	bctx, bcancel := context.WithTimeout(ctx, bound)
	defer bcancel()
	replacement, err := c.WaitRunningAttached(bctx, vol.Namespace, "pg-0", vol.Resource(), first.UID)
	switch {
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
		pod, _ := c.Client.CoreV1().Pods(vol.Namespace).Get(ctx, "pg-0", metav1.GetOptions{})
		if pod != nil {
			logf("after %s: pg-0 (uid %s) on %s, terminating=%v", bound, pod.UID, pod.Spec.NodeName, pod.DeletionTimestamp != nil)
		}
		return 0, false, nil
	case err != nil:
		return 0, false, err
	}
	took := time.Since(crashed)
	logf("replacement pg-0 Running on %s with its volume attached after %.1fs", replacement.Node, took.Seconds())
	return took, true, nil
}
