// Command scheduler is kube-scheduler with the DRBDReplicas plugin built
// in, run as the secondary scheduler linstor-ha-scheduler.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"

	"github.com/linstor-ha/linstor-ha/scheduler-plugin/drbdreplicas"
)

func main() {
	command := app.NewSchedulerCommand(app.WithPlugin(drbdreplicas.Name, drbdreplicas.New))
	os.Exit(cli.Run(command))
}
