// Command webhook is linstor-ha's mutating admission webhook: pods with
// DRBD volumes get linstor-ha's scheduler, short not-ready and unreachable
// tolerations and zone-aware placement.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/klog/v2"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/linstor-ha/linstor-ha/pkg/buildinfo"
	"github.com/linstor-ha/linstor-ha/pkg/version"
	"github.com/linstor-ha/linstor-ha/webhook/app"
)

func main() {
	// An own flag set: controller-runtime registers --kubeconfig on the
	// global one.
	fs := flag.NewFlagSet(os.Args[0], flag.ExitOnError)
	klog.InitFlags(fs)
	var opts app.Options
	opts.AddFlags(fs)
	showVersion := fs.Bool("version", false, "Print the version and exit.")
	_ = fs.Parse(os.Args[1:])
	if *showVersion {
		fmt.Println(version.Get().Line("webhook"))
		return
	}
	logger := klog.Background()
	if err := opts.Complete(); err != nil {
		logger.Error(err, "Invalid flags or configuration")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx = klog.NewContext(ctx, logger)
	logger.Info("Starting linstor-ha webhook", "version", version.Get().Version, "commit", version.Get().Commit)
	// controller-runtime serves this registry on --metrics-bind-address.
	ctrlmetrics.Registry.MustRegister(buildinfo.NewCollector())
	if err := app.Run(ctx, &opts); err != nil {
		logger.Error(err, "Webhook failed")
		os.Exit(1)
	}
}
