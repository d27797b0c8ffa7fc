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

// FlapResult is what link flaps cost: how many pods of the workload were
// deleted, and how many times a node got the lost-quorum taint.
type FlapResult struct {
	Flaps, Deletions, Taints int
}

// LinkFlaps cuts node's replication links to every other node for down,
// then heals them for as long and waits until DRBD on observer sees node
// connected, flaps times in a row, while every API connection and Lease
// stays alive. Throughout, it watches the pod ns/name (first the one of
// the given UID, then each replacement) and the nodes' taints. A fail-over
// timeout longer than down must leave both counts at zero.
func (c *Cluster) LinkFlaps(ctx context.Context, node, observer, resource, ns, name string, uid types.UID, flaps int, down time.Duration) (FlapResult, error) {
	res := FlapResult{Flaps: flaps}
	others := c.NodeNamesBut(node)

	pollCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var mu sync.Mutex
	wg.Add(1)
	go func() {
		defer wg.Done()
		watched, counted := uid, false
		tainted := map[string]bool{}
		_ = wait.PollUntilContextCancel(pollCtx, 50*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			mu.Lock()
			defer mu.Unlock()
			if !counted && c.podGoneOrDeleting(ctx, ns, name, watched) {
				res.Deletions++
				counted = true
			}
			// Follow the replacement, so that a second fail-over counts too.
			if pod, err := c.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{}); err == nil && pod.UID != watched && pod.DeletionTimestamp == nil {
				watched, counted = pod.UID, false
			}
			now := c.nodesWithTaint(ctx, metadata.TaintLostQuorum)
			for n := range now {
				if !tainted[n] {
					res.Taints++
				}
			}
			tainted = now
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
		// Up as long as it was down: DRBD needs its reconnect time, and a
		// link that is never up long enough is a long cut, not flaps.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(down):
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

// nodesWithTaint returns the nodes that carry the taint key; none when the
// list fails.
func (c *Cluster) nodesWithTaint(ctx context.Context, key string) map[string]bool {
	out := map[string]bool{}
	list, err := c.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return out
	}
	for _, node := range list.Items {
		if slices.ContainsFunc(node.Spec.Taints, func(t corev1.Taint) bool { return t.Key == key }) {
			out[node.Name] = true
		}
	}
	return out
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
