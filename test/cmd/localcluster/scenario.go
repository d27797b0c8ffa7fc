package main

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/linstor-ha/linstor-ha/test/cluster"
)

// statefulPod sets up the scenario both measurements start from: a
// StatefulSet pod db/pg-0 on a volume with diskful replicas on node-a1 and
// node-b1 and a tiebreaker on node-a2, Running with its volume attached.
func statefulPod(ctx context.Context, c *cluster.Cluster) (cluster.Volume, cluster.Placement, error) {
	const ns = "db"
	vol := cluster.Volume{Namespace: ns, Claim: "data-pg-0", Diskful: []string{"node-a1", "node-b1"}, Tiebreakers: []string{"node-a2"}}
	if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return vol, cluster.Placement{}, err
	}
	if err := c.CreateVolume(ctx, vol); err != nil {
		return vol, cluster.Placement{}, err
	}
	if _, err := c.Client.AppsV1().StatefulSets(ns).Create(ctx, cluster.StatefulSet(ns, "pg"), metav1.CreateOptions{}); err != nil {
		return vol, cluster.Placement{}, err
	}
	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	first, err := c.WaitRunningAttached(sctx, ns, "pg-0", vol.Resource(), "")
	if err != nil {
		return vol, first, fmt.Errorf("pg-0 never ran: %w", err)
	}
	return vol, first, nil
}
