package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
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
	logf := func(f string, a ...any) {
		fmt.Fprintf(os.Stderr, "%s "+f+"\n", append([]any{time.Now().Format("15:04:05")}, a...)...)
	}
	c, err := cluster.Start(ctx, cluster.Options{StockScheduler: true, Logf: logf})
	if err != nil {
		return err
	}
	defer c.Stop()
	vol, first, err := statefulPod(ctx, c)
	if err != nil {
		return err
	}
	node := first.Node
	logf("pg-0 runs on %s with its volume attached; crashing %s", node, node)
	crashed := time.Now()
	if err := c.CrashNode(node); err != nil {
		return err
	}
	bctx, bcancel := context.WithTimeout(ctx, *bound)
	defer bcancel()
	replacement, err := c.WaitRunningAttached(bctx, vol.Namespace, "pg-0", vol.Resource(), first.UID)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		pod, _ := c.Client.CoreV1().Pods(vol.Namespace).Get(ctx, "pg-0", metav1.GetOptions{})
		if pod != nil {
			logf("after %s: pg-0 (uid %s) on %s, terminating=%v", *bound, pod.UID, pod.Spec.NodeName, pod.DeletionTimestamp != nil)
		}
		fmt.Printf("stock_failover_seconds value=never bound=%d\n", int(bound.Seconds()))
		return nil
	case err != nil:
		return err
	}
	took := time.Since(crashed)
	logf("replacement pg-0 Running on %s with its volume attached", replacement.Node)
	fmt.Printf("stock_failover_seconds value=%.1f bound=%d\n", took.Seconds(), int(bound.Seconds()))
	return nil
}
