package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"sigs.k8s.io/yaml"
)

// startLinstorScheduler deploys manifests/scheduler without its Deployment
// (the namespace, service account, RBAC and configuration) and runs the
// scheduler binary with that configuration and account, as its pod would.
func (c *Cluster) startLinstorScheduler(ctx context.Context) error {
	comp, err := c.deployComponent(ctx, "scheduler")
	if err != nil {
		return err
	}
	var config map[string]any
	if err := yaml.Unmarshal([]byte(comp.config.Data["scheduler-config.yaml"]), &config); err != nil {
		return fmt.Errorf("failed to read the scheduler's configuration: %w", err)
	}
	// In a pod the scheduler uses its in-cluster account; here the same
	// account comes through a kubeconfig.
	config["clientConnection"] = map[string]any{"kubeconfig": comp.kubeconfig, "qps": c.opts.SchedulerQPS, "burst": 2 * c.opts.SchedulerQPS}
	out, err := yaml.Marshal(config)
	if err != nil {
		return err
	}
	configPath := filepath.Join(comp.dir, "config.yaml")
	if err := os.WriteFile(configPath, out, 0o644); err != nil {
		return err
	}
	c.schedulerArgs = []string{
		"--config=" + configPath,
		"--authentication-kubeconfig=" + comp.kubeconfig,
		"--authorization-kubeconfig=" + comp.kubeconfig,
		"--bind-address=127.0.0.1",
		"-v=2",
	}
	return c.StartScheduler(ctx)
}

// StartScheduler (re)starts linstor-ha's scheduler and waits until it is
// healthy.
func (c *Cluster) StartScheduler(ctx context.Context) error {
	c.schedMu.Lock()
	defer c.schedMu.Unlock()
	return c.startSchedulerLocked(ctx)
}

func (c *Cluster) startSchedulerLocked(ctx context.Context) error {
	if c.linstorScheduler != nil || c.schedulerArgs == nil {
		return fmt.Errorf("linstor-ha-scheduler running or not configured")
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	args := append([]string{"--secure-port=" + strconv.Itoa(port)}, c.schedulerArgs...)
	c.linstorScheduler, err = c.procs.start(c.Dir, "linstor-ha-scheduler", c.opts.Scheduler, args, nil)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return c.linstorScheduler.waitFor(ctx, "linstor-ha-scheduler health", func() error {
		return httpsOK("https://127.0.0.1:" + strconv.Itoa(port) + "/healthz")
	})
}

// StopScheduler kills linstor-ha's scheduler, as the loss of its pod
// would; the supervisor does not start it again.
func (c *Cluster) StopScheduler() {
	c.schedMu.Lock()
	defer c.schedMu.Unlock()
	if c.linstorScheduler != nil {
		c.linstorScheduler.kill()
		c.linstorScheduler = nil
	}
}
