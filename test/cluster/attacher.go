package cluster

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/linstor-ha/linstor-ha/test/csidriver"
)

// startAttacher starts the CSI controller endpoint of the stand-in driver
// and the real external-attacher in front of it, which attaches and
// detaches VolumeAttachments and owns their finalizer.
func (c *Cluster) startAttacher(ctx context.Context) error {
	sock := filepath.Join(c.Dir, "csi-controller.sock")
	var err error
	if c.ctrl, err = csidriver.Start(sock, csidriver.Options{Backend: c.drbd}); err != nil {
		return err
	}
	bin, err := toolPath(c.tools, toolAttacher)
	if err != nil {
		return err
	}
	args := []string{
		"--kubeconfig=" + c.Kubeconfig,
		"--csi-address=" + sock,
		"--timeout=10s",
		"--retry-interval-start=200ms",
		"--retry-interval-max=5s",
		"--worker-threads=20",
		"-v=2",
	}
	if q := c.opts.AttacherQPS; q > 0 {
		args = append(args, "--kube-api-qps="+strconv.Itoa(q), "--kube-api-burst="+strconv.Itoa(2*q))
	}
	c.attach, err = c.procs.start(c.Dir, "csi-attacher", bin, args, nil)
	if err != nil {
		return fmt.Errorf("failed to start the external-attacher: %w", err)
	}
	return nil
}
