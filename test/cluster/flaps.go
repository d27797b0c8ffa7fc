package cluster

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/linstor-ha/linstor-ha/pkg/metadata"
)

// FlapResult is what link flaps cost: how many polls saw the pod deleted
// or being deleted, and how many saw a node carry the lost-quorum taint.
type FlapResult struct {
	Flaps, Deletions, Taints int
}

// LinkFlaps cuts node's replication links to every other node for down,
// heals them and waits until DRBD on observer sees node connected again,
// flaps times in a row, while every API connection and Lease stays alive.
// Throughout, it polls whether the pod ns/name (of the given UID) is
// deleted and whether any node is tainted. A fail-over timeout longer than
// down must leave both at zero.
func (c *Cluster) LinkFlaps(ctx context.Context, node, observer, resource, ns, name string, uid types.UID, flaps int, down time.Duration) (FlapResult, error) {
	res := FlapResult{Flaps: flaps}
	others := c.NodeNamesBut(node)

	pollCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var mu sync.Mutex
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = wait.PollUntilContextCancel(pollCtx, 50*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			deleted := c.podGoneOrDeleting(ctx, ns, name, uid)
			tainted := c.nodesTainted(ctx, metadata.TaintLostQuorum)
			mu.Lock()
			defer mu.Unlock()
			if deleted {
				res.Deletions++
			}
			res.Taints += tainted
			return false, nil
		})
	}()
	err := c.flap(ctx, node, observer, resource, others, flaps, down)
	stop()
	wg.Wait()
	return res, err
}

func (c *Cluster) flap(ctx context.Context, node, observer, resource string, others []string, flaps int, down time.Duration) error {
	for i := 0; i < flaps; i++ {
		if err := c.SplitReplication([]string{node}, others); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(down):
		}
		if err := c.HealReplication(); err != nil {
			return err
		}
		err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
			v, ok := c.DRBD.View(observer, resource)
			p := v.Connection(node)
			return ok && p != nil && p.Connected(), nil
		})
		if err != nil {
			return fmt.Errorf("flap %d: %s never reconnected to %s: %w", i+1, node, observer, err)
		}
	}
	return nil
}

// podGoneOrDeleting reports whether the pod of uid is gone (replaced or
// removed) or has a deletion timestamp; another API error counts as
// neither.
func (c *Cluster) podGoneOrDeleting(ctx context.Context, ns, name string, uid types.UID) bool {
	pod, err := c.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return apierrors.IsNotFound(err)
	}
	return pod.UID != uid || pod.DeletionTimestamp != nil
}

// nodesTainted counts the nodes that carry the taint key.
func (c *Cluster) nodesTainted(ctx context.Context, key string) int {
	list, err := c.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0
	}
	var n int
	for _, node := range list.Items {
		if slices.ContainsFunc(node.Spec.Taints, func(t corev1.Taint) bool { return t.Key == key }) {
			n++
		}
	}
	return n
}

// NodeNamesBut returns the names of every node but node.
func (c *Cluster) NodeNamesBut(node string) []string {
	var out []string
	for _, n := range c.Nodes() {
		if n.Spec.Name != node {
			out = append(out, n.Spec.Name)
		}
	}
	return out
}
