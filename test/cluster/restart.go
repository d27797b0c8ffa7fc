package cluster

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// RestartAPIServer kills the primary kube-apiserver, as a crash would, and
// starts it again on the same port; it returns once the new one is ready.
func (c *Cluster) RestartAPIServer(ctx context.Context) error {
	s := c.cp.primary()
	s.proc.kill()
	return c.cp.startAPIServer(ctx, s)
}

// RestartControllerManager kills kube-controller-manager and starts it
// again; it returns once the new one is healthy.
func (c *Cluster) RestartControllerManager(ctx context.Context) error {
	c.cp.kcm.kill()
	return c.cp.startControllerManager(ctx)
}

// KillDrbdsetup kills the node's running `drbdsetup events2`, as a crash of
// that process would, and returns how many it killed. The sidecar that ran
// it is expected to start it again.
func (c *Cluster) KillDrbdsetup(node string) int {
	// The socket names this cluster: other local clusters have the same
	// node names.
	return killMatching("--sim-node="+node, "--sim-socket="+c.drbdSv.socket, "events2")
}

// killMatching SIGKILLs every process whose command line holds all of
// args.
func killMatching(args ...string) int {
	dirs, _ := os.ReadDir("/proc")
	killed := 0
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err != nil {
			continue
		}
		cmdline := strings.Split(string(raw), "\x00")
		if !slices.ContainsFunc(args, func(a string) bool { return !slices.Contains(cmdline, a) }) &&
			syscall.Kill(pid, syscall.SIGKILL) == nil {
			killed++
		}
	}
	return killed
}
