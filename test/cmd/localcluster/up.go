package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/linstor-ha/linstor-ha/test/cluster"
)

func runUp(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	keep := fs.Bool("keep-dir", false, "keep the cluster directory (logs, kubeconfigs) after stopping")
	if err := fs.Parse(args); err != nil {
		return err
	}
	began := time.Now()
	c, err := cluster.Start(ctx, cluster.Options{
		StockScheduler: true,
		KeepDir:        *keep,
		Logf:           func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) },
	})
	if err != nil {
		return err
	}
	defer c.Stop()
	fmt.Printf("cluster ready in %s\nexport KUBECONFIG=%s\n", time.Since(began).Round(10*time.Millisecond), c.Kubeconfig)
	for _, n := range c.Nodes() {
		fmt.Printf("node %s (zone %s): drbdsetup %s\n", n.Spec.Name, n.Spec.Zone, n.Drbdsetup)
	}
	fmt.Println("press Ctrl-C to stop")
	<-ctx.Done()
	return nil
}
