// Command csi-sidecar runs next to the LINSTOR CSI node plugin: it follows
// DRBD, publishes the node's replica report and fails pods over when DRBD
// proves their node lost quorum.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"k8s.io/klog/v2"

	"github.com/linstor-ha/linstor-ha/csi-sidecar/app"
	"github.com/linstor-ha/linstor-ha/pkg/version"
)

func main() {
	klog.InitFlags(nil)
	var opts app.Options
	opts.AddFlags(flag.CommandLine)
	showVersion := flag.Bool("version", false, "Print the version and exit.")
	flag.Parse()
	if *showVersion {
		fmt.Println(version.Get().Line("csi-sidecar"))
		return
	}
	logger := klog.Background()
	if err := opts.Complete(); err != nil {
		logger.Error(err, "Invalid flags")
		os.Exit(2)
	}
	for _, d := range opts.Deprecations {
		logger.Info("Deprecated flag", "message", d)
	}
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set && opts.MemoryLimit > 0 {
		debug.SetMemoryLimit(opts.MemoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx = klog.NewContext(ctx, logger)
	logger.Info("Starting linstor-ha sidecar", "version", version.Get().Version, "commit", version.Get().Commit, "node", opts.NodeName)

	conn, zone, err := app.ConnectCSI(ctx, &opts)
	if err != nil {
		logger.Error(err, "Failed to start")
		os.Exit(1)
	}
	defer conn.Close()
	if err := app.Run(ctx, &opts, zone); err != nil {
		logger.Error(err, "Sidecar failed")
		os.Exit(1)
	}
}
