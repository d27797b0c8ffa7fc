package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/linstor-ha/linstor-ha/test/csidriver"
	"github.com/linstor-ha/linstor-ha/test/drbdsim"
	"github.com/linstor-ha/linstor-ha/test/drbdsim/server"
)

// startSimulator starts the DRBD simulator and its exec server, and builds
// the drbdsetup stand-in that every node's drbdsetup wrapper runs.
func (c *Cluster) startSimulator() error {
	sim, err := drbdsim.New(drbdsim.Options{Delays: c.opts.DRBDDelays})
	if err != nil {
		return err
	}
	c.DRBD = sim
	c.drbd = &drbdBackend{sim: sim}
	bin := c.opts.Drbdsetup
	if bin == "" {
		bin = filepath.Join(c.Dir, "bin", "drbdsetup")
		if err := buildStandIn(bin); err != nil {
			return err
		}
	}
	c.drbdSv, err = startDRBDServer(filepath.Join(c.Dir, "drbdsim.sock"), sim, bin)
	return err
}

// buildStandIn compiles the drbdsetup stand-in.
func buildStandIn(out string) error {
	cmd := exec.Command("go", "build", "-o", out, "./test/cmd/drbdsetup")
	cmd.Dir = filepath.Join(sourceDir(), "..", "..")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("failed to build the drbdsetup stand-in: %w: %s", err, b)
	}
	return nil
}

// drbdServer serves the simulator to the drbdsetup stand-ins.
type drbdServer struct {
	socket string
	bin    string
	cancel context.CancelFunc
	done   chan error
}

func startDRBDServer(socket string, sim *drbdsim.Cluster, bin string) (*drbdServer, error) {
	ctx, cancel := context.WithCancel(context.Background())
	s := &drbdServer{socket: socket, bin: bin, cancel: cancel, done: make(chan error, 1)}
	ready := make(chan struct{})
	go func() {
		close(ready)
		s.done <- server.ListenAndServe(ctx, socket, server.New(sim))
	}()
	<-ready
	return s, nil
}

// wrapper writes a drbdsetup for one node: a script that runs the stand-in
// against that node's view, so that processes exec it as plain drbdsetup.
func (s *drbdServer) wrapper(dir, node string) (string, error) {
	path := filepath.Join(dir, "drbdsetup")
	script := fmt.Sprintf("#!/bin/sh\nexec %s --sim-node=%s --sim-socket=%s \"$@\"\n",
		shellQuote(s.bin), shellQuote(node), shellQuote(s.socket))
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		return "", fmt.Errorf("failed to write drbdsetup wrapper for %s: %w", node, err)
	}
	return path, nil
}

func (s *drbdServer) stop() {
	s.cancel()
	<-s.done
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// drbdBackend adapts the simulator to the CSI stand-in and the kubelet
// stand-in.
type drbdBackend struct {
	sim *drbdsim.Cluster

	mu sync.Mutex
	// clients are the diskless replicas that publishing created, which
	// unpublishing removes again, as LINSTOR does.
	clients map[[2]string]bool
}

// AddNodeIfMissing adds a node to the simulator unless it has it.
func (d *drbdBackend) AddNodeIfMissing(name string) error {
	if err := d.sim.AddNode(name); err != nil && !errors.Is(err, drbdsim.ErrExists) {
		return err
	}
	return nil
}

func (d *drbdBackend) Open(node, res string) error  { return d.sim.OpenDevice(node, res) }
func (d *drbdBackend) Close(node, res string) error { return d.sim.CloseDevice(node, res) }

// VolumeExists reports whether the DRBD resource exists.
func (d *drbdBackend) VolumeExists(res string) bool {
	st, err := d.sim.State()
	if err != nil {
		return false
	}
	for _, r := range st.Resources {
		if r.Spec.Name == res {
			return true
		}
	}
	return false
}

// Publish gives a node without a replica a diskless one, so that it can
// access the data over the network.
func (d *drbdBackend) Publish(res, node string) error {
	if _, err := d.sim.Replica(node, res); err == nil {
		return nil
	}
	err := d.sim.AddReplica(res, drbdsim.ReplicaSpec{Node: node, Kind: drbdsim.Diskless})
	switch {
	case errors.Is(err, drbdsim.ErrNodeDown):
		return fmt.Errorf("%w: %v", csidriver.ErrUnavailable, err)
	case errors.Is(err, drbdsim.ErrUnknownNode), errors.Is(err, drbdsim.ErrUnknownResource):
		return fmt.Errorf("%w: %v", csidriver.ErrNotFound, err)
	case err != nil:
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.clients == nil {
		d.clients = make(map[[2]string]bool)
	}
	d.clients[[2]string{res, node}] = true
	return nil
}

// Unpublish removes the diskless replica that Publish created.
func (d *drbdBackend) Unpublish(res, node string) error {
	d.mu.Lock()
	created := d.clients[[2]string{res, node}]
	delete(d.clients, [2]string{res, node})
	d.mu.Unlock()
	if !created {
		return nil
	}
	err := d.sim.RemoveReplica(node, res)
	if errors.Is(err, drbdsim.ErrUnknownNode) || errors.Is(err, drbdsim.ErrUnknownResource) {
		return fmt.Errorf("%w: %v", csidriver.ErrNotFound, err)
	}
	return err
}
