// Command scheduler is kube-scheduler with the DRBDReplicas plugin built
// in, run as the secondary scheduler linstor-ha-scheduler.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	"k8s.io/component-base/metrics/legacyregistry"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"

	"github.com/linstor-ha/linstor-ha/pkg/buildinfo"
	"github.com/linstor-ha/linstor-ha/pkg/version"
	"github.com/linstor-ha/linstor-ha/scheduler-plugin/drbdreplicas"
)

func main() {
	command := app.NewSchedulerCommand(app.WithPlugin(drbdreplicas.Name, drbdreplicas.New))
	ownVersion(command, os.Stdout, os.Exit)
	registerBuildInfo()
	os.Exit(cli.Run(command))
}

// registerBuildInfo adds linstor_ha_build_info to the registry that
// kube-scheduler serves on /metrics, next to its kubernetes_build_info.
func registerBuildInfo() {
	legacyregistry.Registerer().MustRegister(buildinfo.NewCollector())
}

// kubeSchedulerVersion is the release of k8s.io/kubernetes this scheduler
// is built from.
func kubeSchedulerVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "k8s.io/kubernetes" {
				return d.Version
			}
		}
	}
	return "unknown"
}

// ownVersion makes kube-scheduler's --version (component-base's, which
// prints the Kubernetes version) print linstor-ha's version, and says so
// in its help; --version=raw still prints the Kubernetes version
// information.
func ownVersion(cmd *cobra.Command, out io.Writer, exit func(int)) {
	f := cmd.Flags().Lookup("version")
	if f == nil {
		return
	}
	kube := kubeSchedulerVersion()
	f.Usage = fmt.Sprintf("--version prints linstor-ha's version of this scheduler and quits; --version=raw prints the version information of "+
		"the Kubernetes scheduler it is built on (kube-scheduler of k8s.io/kubernetes %s) and quits; --version=vX.Y.Z... sets the Kubernetes version it reports", kube)
	next := cmd.PersistentPreRunE
	cmd.PersistentPreRunE = func(c *cobra.Command, args []string) error {
		if f.Value.String() == "true" {
			fmt.Fprintf(out, "%s, kube-scheduler %s\n", version.Get().Line("scheduler"), kube)
			exit(0)
		}
		if next != nil {
			return next(c, args)
		}
		return nil
	}
}
