package cluster

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// CrashNode kills a node the way a power loss does: its kwok (heartbeats
// stop), its kubelet stand-in, its CSI endpoint and its DRBD all die
// together. Nothing gets to clean up.
func (c *Cluster) CrashNode(name string) error {
	n, err := c.Node(name)
	if err != nil {
		return err
	}
	if !n.up {
		return fmt.Errorf("node %s is already down", name)
	}
	c.stopNode(n)
	if err := c.DRBD.Crash(name); err != nil {
		return fmt.Errorf("failed to crash %s in the DRBD simulator: %w", name, err)
	}
	return nil
}

// RestartNode brings a crashed node back: its DRBD comes back (and resyncs)
// and its processes start again.
func (c *Cluster) RestartNode(ctx context.Context, name string) error {
	n, err := c.Node(name)
	if err != nil {
		return err
	}
	if n.up {
		return fmt.Errorf("node %s is running", name)
	}
	if err := c.DRBD.Restart(name); err != nil {
		return fmt.Errorf("failed to restart %s in the DRBD simulator: %w", name, err)
	}
	// A kubelet takes its node lease back after a reboot; kwok refuses a
	// lease that another kwok created and waits 30 s before it retries, so
	// the dead one's lease goes first.
	err = c.Client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("failed to delete the node lease of %s: %w", name, err)
	}
	return c.startNode(ctx, n)
}

// SplitReplication cuts the DRBD replication network between two sets of
// nodes. The API server still reaches every node.
func (c *Cluster) SplitReplication(a, b []string) error {
	return c.DRBD.Partition(a, b)
}

// HealReplication restores every replication link.
func (c *Cluster) HealReplication() error {
	return c.DRBD.Heal()
}

// IsolateFromAPI cuts a node off from every API server as a partition
// does: its open connections hang, new ones do not complete. Its DRBD
// stays connected and its processes keep running.
func (c *Cluster) IsolateFromAPI(name string) error {
	n, err := c.Node(name)
	if err != nil {
		return err
	}
	c.network.setIsolated(n.Spec.Name, true)
	return nil
}

// ReconnectToAPI undoes IsolateFromAPI: the connections still open carry
// traffic again.
func (c *Cluster) ReconnectToAPI(name string) error {
	n, err := c.Node(name)
	if err != nil {
		return err
	}
	c.network.setIsolated(n.Spec.Name, false)
	return nil
}

// waitNodesReady waits until every running node is Ready.
func (c *Cluster) waitNodesReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var notReady []string
	err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		list, err := c.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		notReady = notReady[:0]
		for _, n := range list.Items {
			if !NodeReady(&n) || hasLifecycleTaint(&n) {
				notReady = append(notReady, describeUnready(&n))
			}
		}
		return len(list.Items) == len(c.opts.Nodes)+c.opts.BulkNodes && len(notReady) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("nodes not Ready or still tainted: %v: %w", notReady, err)
	}
	return nil
}

// describeUnready names a node with what keeps it from counting as
// Ready: its Ready condition and its lifecycle taints.
func describeUnready(n *corev1.Node) string {
	ready := "Ready=Unknown"
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			ready = fmt.Sprintf("Ready=%s (%s, since %s)", c.Status, c.Reason, c.LastTransitionTime.Format(time.TimeOnly))
		}
	}
	var taints []string
	for _, t := range n.Spec.Taints {
		if isLifecycleTaint(t) {
			taints = append(taints, t.Key+":"+string(t.Effect))
		}
	}
	return fmt.Sprintf("%s %s taints=%v", n.Name, ready, taints)
}

// hasLifecycleTaint reports whether the node lifecycle controller still
// keeps pods off the node: a node is only usable once those taints are gone.
func hasLifecycleTaint(n *corev1.Node) bool {
	return slices.ContainsFunc(n.Spec.Taints, isLifecycleTaint)
}

// isLifecycleTaint matches the taints of the node lifecycle controller.
func isLifecycleTaint(t corev1.Taint) bool {
	return t.Key == corev1.TaintNodeNotReady || t.Key == corev1.TaintNodeUnreachable
}

// NodeReady reports whether the node's Ready condition is True.
func NodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
