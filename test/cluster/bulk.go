package cluster

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// labelBulk marks the nodes that one shared kwok serves.
const labelBulk = "linstor-ha.io/bulk-node"

// BulkNodeName is the name of the i-th bulk node.
func BulkNodeName(i int) string { return fmt.Sprintf("bulk-%03d", i) }

// startBulkNodes registers Options.BulkNodes nodes, alternately in room-a
// and room-b, all served by one kwok. They have no CSI endpoint, DRBD view
// or sidecar: they are capacity for scheduling at scale, not for faults.
func (c *Cluster) startBulkNodes(ctx context.Context) error {
	if c.opts.BulkNodes == 0 {
		return nil
	}
	for i := range c.opts.BulkNodes {
		spec := NodeSpec{Name: BulkNodeName(i), Zone: []string{"room-a", "room-b"}[i%2]}
		node := nodeObject(spec)
		node.Labels[labelBulk] = "true"
		if _, err := c.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("failed to create node %s: %w", spec.Name, err)
		}
		if _, err := c.Client.StorageV1().CSINodes().Create(ctx, csiNodeObject(spec), metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("failed to create CSINode %s: %w", spec.Name, err)
		}
	}
	bin, err := toolPath(c.tools, toolKwok)
	if err != nil {
		return err
	}
	c.bulkKwok, err = c.procs.start(c.Dir, "kwok-bulk", bin, []string{
		"--kubeconfig=" + c.Kubeconfig,
		"--config=" + filepath.Join(c.tools, "kwok-stages.yaml"),
		"--manage-nodes-with-label-selector=" + labelBulk + "=true",
		"--node-ip=127.0.0.1",
		"--node-lease-duration-seconds=" + strconv.Itoa(int(c.opts.NodeLeaseDuration/time.Second)),
	}, nil)
	return err
}
