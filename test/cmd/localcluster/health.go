package main

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
	"github.com/linstor-ha/linstor-ha/test/cluster"
)

// healthProblem says what keeps the cluster from being healthy for vol: a
// replica not UpToDate or not connected, a node not Ready or tainted; ""
// when nothing does.
func healthProblem(ctx context.Context, c *cluster.Cluster, vol cluster.Volume) string {
	for _, n := range vol.Diskful {
		v, ok := c.DRBD.View(n, vol.Resource())
		if !ok {
			return "no DRBD view on " + n
		}
		if !v.UpToDate() {
			return "the replica on " + n + " is not UpToDate"
		}
		for _, conn := range v.Connections {
			if conn.State != state.ConnConnected {
				return fmt.Sprintf("%s is %s to %s", n, conn.State, conn.Name)
			}
		}
	}
	nodes, err := c.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err.Error()
	}
	for _, n := range nodes.Items {
		if !cluster.NodeReady(&n) {
			return n.Name + " is not Ready"
		}
		if len(n.Spec.Taints) > 0 {
			return n.Name + " is tainted " + n.Spec.Taints[0].Key
		}
	}
	return ""
}
