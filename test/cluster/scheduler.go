package cluster

import (
	"context"
	"path/filepath"
	"strconv"
)

// startScheduler runs the upstream kube-scheduler as the cluster's default
// scheduler.
func (cp *controlPlane) startScheduler(ctx context.Context, qps int) error {
	bin, err := toolPath(cp.tools, toolScheduler)
	if err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	kubeconfig := filepath.Join(cp.dir, "kube-scheduler.kubeconfig")
	cp.scheduler, err = cp.procs.start(cp.dir, "kube-scheduler", bin, []string{
		"--kubeconfig=" + kubeconfig,
		"--authentication-kubeconfig=" + kubeconfig,
		"--authorization-kubeconfig=" + kubeconfig,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--leader-elect=false",
		"--kube-api-qps=" + strconv.Itoa(qps),
		"--kube-api-burst=" + strconv.Itoa(2*qps),
		"-v=1",
	}, nil)
	if err != nil {
		return err
	}
	return cp.scheduler.waitFor(ctx, "kube-scheduler health", func() error {
		return httpsOK("https://127.0.0.1:" + strconv.Itoa(port) + "/healthz")
	})
}
