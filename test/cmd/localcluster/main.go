// Command localcluster starts the local test cluster of package cluster and
// runs measurements on it.
//
//	localcluster up [flags]              start a cluster and keep it until interrupted
//	localcluster bench-baseline [flags]  measure stock Kubernetes' fail-over after a node crash
//	localcluster demo [flags]            crash the node under a stateful pod and print what happens
//	localcluster chaos [flags]           seeded fault injection with invariants
//	localcluster bench-failover [flags]  measure linstor-ha's fail-over: node crashes, a lost room, stock for comparison
//
// Run "localcluster <command> -h" for a command's flags.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: localcluster up|bench-baseline|bench-failover|chaos|demo [flags]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "up":
		err = runUp(ctx, os.Args[2:])
	case "bench-baseline":
		err = runBaseline(ctx, os.Args[2:])
	case "bench-failover":
		err = runBenchFailover(ctx, os.Args[2:])
	case "chaos":
		err = runChaos(ctx, os.Args[2:])
	case "demo":
		err = runDemo(ctx, os.Args[2:])
	default:
		fmt.Fprintf(os.Stderr, "localcluster: unknown command %q (want up, bench-baseline, bench-failover, chaos or demo)\n", os.Args[1])
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "localcluster: %v\n", err)
		os.Exit(1)
	}
}
