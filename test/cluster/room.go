package cluster

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"

	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
	"github.com/linstor-ha/linstor-ha/pkg/reportclient"
)

// RoomWorkloads creates, in namespace ns, n one-pod StatefulSets
// <prefix>-NNN whose pods run in room-a of the default nodes, room-b being
// cordoned while they start. Volume i has diskful replicas on
// node-a<i%3+1> and node-b<i%3+1> and its tiebreaker on another room-b
// node, so that room-b keeps quorum without room-a. It needs the sidecars
// (their reports place each pod on its data) and linstor-ha's scheduler.
func (c *Cluster) RoomWorkloads(ctx context.Context, ns, prefix string, n int) ([]Volume, error) {
	if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return nil, err
	}
	roomB := []string{"node-b1", "node-b2", "node-b3"}
	if err := c.Cordon(ctx, roomB, true); err != nil {
		return nil, err
	}
	vols := make([]Volume, n)
	for i := range vols {
		vols[i] = Volume{
			Namespace: ns, Claim: fmt.Sprintf("data-%s-%03d-0", prefix, i),
			Diskful:     []string{fmt.Sprintf("node-a%d", i%3+1), fmt.Sprintf("node-b%d", i%3+1)},
			Tiebreakers: []string{fmt.Sprintf("node-b%d", (i+1)%3+1)},
		}
		if err := c.CreateVolume(ctx, vols[i]); err != nil {
			return nil, err
		}
	}
	// The scheduler places a pod on its data once the replica reports
	// show that data; a pod placed before lands on any node of room-a.
	if err := c.waitReported(ctx, vols); err != nil {
		return nil, err
	}
	for i := range vols {
		if _, err := c.Client.AppsV1().StatefulSets(ns).Create(ctx, StatefulSet(ns, fmt.Sprintf("%s-%03d", prefix, i)), metav1.CreateOptions{}); err != nil {
			return nil, err
		}
	}
	var running int
	err := wait.PollUntilContextTimeout(ctx, time.Second, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
		var err error
		running, err = c.RunningOnData(ctx, vols, "room-a")
		return err == nil && running == n, nil
	})
	if err != nil {
		return nil, fmt.Errorf("only %d of %d pods started in room-a: %w", running, n, err)
	}
	return vols, c.Cordon(ctx, roomB, false)
}

// waitReported waits until the reports of each volume's diskful nodes list
// it UpToDate.
func (c *Cluster) waitReported(ctx context.Context, vols []Volume) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		return err
	}
	reports, err := reportclient.New(cfg)
	if err != nil {
		return err
	}
	var missing string
	err = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		list, err := reports.List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		upToDate := map[string]bool{} // node/resource
		for _, rr := range list.Items {
			for _, r := range rr.Status.Resources {
				if r.Disk == state.DiskUpToDate {
					upToDate[rr.Name+"/"+r.Name] = true
				}
			}
		}
		for _, v := range vols {
			for _, n := range v.Diskful {
				if !upToDate[n+"/"+v.Resource()] {
					missing = n + "/" + v.Resource()
					return false, nil
				}
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("replica reports never showed %s UpToDate: %w", missing, err)
	}
	return nil
}

// Cordon marks nodes unschedulable, or schedulable again.
func (c *Cluster) Cordon(ctx context.Context, nodes []string, unschedulable bool) error {
	for _, name := range nodes {
		patch := fmt.Appendf(nil, `{"spec":{"unschedulable":%v}}`, unschedulable)
		if _, err := c.Client.CoreV1().Nodes().Patch(ctx, name, "application/merge-patch+json", patch, metav1.PatchOptions{}); err != nil {
			return fmt.Errorf("failed to set %s unschedulable=%v: %w", name, unschedulable, err)
		}
	}
	return nil
}

// RunningOnData counts the volumes whose pod runs, not terminating, on the
// volume's diskful node in room, with the volume attached there.
func (c *Cluster) RunningOnData(ctx context.Context, vols []Volume, room string) (int, error) {
	nodes, err := c.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0, err
	}
	inRoom := map[string]bool{}
	for _, n := range nodes.Items {
		inRoom[n.Name] = n.Labels[corev1.LabelTopologyZone] == room
	}
	attached := map[string]bool{} // pv/node
	vas, err := c.Client.StorageV1().VolumeAttachments().List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0, err
	}
	for _, va := range vas.Items {
		if va.Status.Attached && va.DeletionTimestamp == nil {
			attached[ptr.Deref(va.Spec.Source.PersistentVolumeName, "")+"/"+va.Spec.NodeName] = true
		}
	}
	claimPod := map[string]*corev1.Pod{} // namespace/claim
	namespaces := map[string]bool{}
	for _, v := range vols {
		namespaces[v.Namespace] = true
	}
	for ns := range namespaces {
		pods, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return 0, err
		}
		for i := range pods.Items {
			p := &pods.Items[i]
			for _, v := range p.Spec.Volumes {
				if v.PersistentVolumeClaim != nil {
					claimPod[ns+"/"+v.PersistentVolumeClaim.ClaimName] = p
				}
			}
		}
	}
	count := 0
	for _, v := range vols {
		p := claimPod[v.Namespace+"/"+v.Claim]
		if p != nil && p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning &&
			inRoom[p.Spec.NodeName] && slices.Contains(v.Diskful, p.Spec.NodeName) && attached[v.Resource()+"/"+p.Spec.NodeName] {
			count++
		}
	}
	return count, nil
}
