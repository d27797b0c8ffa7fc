package main

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
	"github.com/linstor-ha/linstor-ha/test/cluster"
)

const roomNS = "rooms"

// roomLoss runs f.roomPods StatefulSets in room-a, each on a volume with
// replicas in both rooms and its tiebreaker in room-b, then crashes every
// node of room-a at once and measures until all of them run again in
// room-b with their volumes attached.
func roomLoss(ctx context.Context, f failoverFlags) error {
	// A room's worth of volumes moves at the pace of the attach-detach
	// controller and the external-attacher, whose default rate limits (20
	// and 5 requests per second) leave it at about one volume per 200 ms.
	c, err := cluster.Start(ctx, withComponents(f, cluster.Options{AttacherQPS: 50, ControllerManagerQPS: f.roomKCMQPS}))
	if err != nil {
		return err
	}
	defer c.Stop()
	started(f, c)
	vols, err := roomWorkloads(ctx, c, f.roomPods)
	if err != nil {
		return err
	}
	lostRoom := []string{"node-a1", "node-a2", "node-a3"}
	logf("%d StatefulSet pods run in room-a; crashing %v", len(vols), lostRoom)
	crashed := time.Now()
	for _, n := range lostRoom {
		if err := c.CrashNode(n); err != nil {
			return err
		}
	}
	detected, err := waitDetected(ctx, c, vols[0].Diskful[1], vols[0].Diskful[0], vols[0].Resource())
	if err != nil {
		return err
	}
	var running int
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
		running, err = runningOnData(ctx, c, vols, "room-b")
		return err == nil && running == len(vols), nil
	})
	if err != nil {
		return fmt.Errorf("%d of %d pods run again in room-b: %w", running, len(vols), err)
	}
	allRunning := time.Since(detected)
	fmt.Printf("room loss (kube-controller-manager --kube-api-qps=%s, external-attacher --kube-api-qps=50): ", qpsFlag(f.roomKCMQPS))
	fmt.Printf("DRBD noticed +%.1fs after the crash; all %d pods Running in room-b with their volumes attached %.1fs after detection (+%.1fs after the crash)\n",
		detected.Sub(crashed).Seconds(), len(vols), allRunning.Seconds(), time.Since(crashed).Seconds())
	fmt.Printf("room_failover_seconds all_running=%.1f pods=%d\n", allRunning.Seconds(), len(vols))
	return nil
}

// roomWorkloads creates n one-pod StatefulSets whose pods run in room-a:
// room-b is cordoned while they start. Volume i has replicas on
// node-a<i%3+1> and node-b<i%3+1> and its tiebreaker on another room-b
// node, so that room-b keeps quorum without room-a.
func roomWorkloads(ctx context.Context, c *cluster.Cluster, n int) ([]cluster.Volume, error) {
	if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: roomNS}}, metav1.CreateOptions{}); err != nil {
		return nil, err
	}
	roomB := []string{"node-b1", "node-b2", "node-b3"}
	if err := cordon(ctx, c, roomB, true); err != nil {
		return nil, err
	}
	vols := make([]cluster.Volume, n)
	for i := range vols {
		name := fmt.Sprintf("db-%03d", i)
		vols[i] = cluster.Volume{
			Namespace: roomNS, Claim: "data-" + name + "-0",
			Diskful:     []string{fmt.Sprintf("node-a%d", i%3+1), fmt.Sprintf("node-b%d", i%3+1)},
			Tiebreakers: []string{fmt.Sprintf("node-b%d", (i+1)%3+1)},
		}
		if err := c.CreateVolume(ctx, vols[i]); err != nil {
			return nil, err
		}
	}
	// The scheduler places a pod on its data once the replica reports
	// show that data; a pod placed before lands on any node of room-a.
	if err := waitReported(ctx, c, vols); err != nil {
		return nil, err
	}
	for i := range vols {
		if _, err := c.Client.AppsV1().StatefulSets(roomNS).Create(ctx, cluster.StatefulSet(roomNS, fmt.Sprintf("db-%03d", i)), metav1.CreateOptions{}); err != nil {
			return nil, err
		}
	}
	var running int
	err := wait.PollUntilContextTimeout(ctx, time.Second, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
		var err error
		running, err = runningOnData(ctx, c, vols, "room-a")
		return err == nil && running == n, nil
	})
	if err != nil {
		return nil, fmt.Errorf("only %d of %d pods started in room-a: %w", running, n, err)
	}
	return vols, cordon(ctx, c, roomB, false)
}

// waitReported waits until the report of each volume's diskful nodes lists
// it UpToDate.
func waitReported(ctx context.Context, c *cluster.Cluster, vols []cluster.Volume) error {
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

// cordon marks nodes unschedulable, or schedulable again.
func cordon(ctx context.Context, c *cluster.Cluster, nodes []string, off bool) error {
	for _, name := range nodes {
		patch := fmt.Appendf(nil, `{"spec":{"unschedulable":%v}}`, off)
		if _, err := c.Client.CoreV1().Nodes().Patch(ctx, name, "application/merge-patch+json", patch, metav1.PatchOptions{}); err != nil {
			return fmt.Errorf("failed to cordon %s: %w", name, err)
		}
	}
	return nil
}

// runningOnData counts the volumes whose pod runs, not terminating, on the
// volume's diskful node in room, with the volume attached there.
func runningOnData(ctx context.Context, c *cluster.Cluster, vols []cluster.Volume, room string) (int, error) {
	nodes, err := c.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0, err
	}
	inRoom := map[string]bool{}
	for _, n := range nodes.Items {
		inRoom[n.Name] = n.Labels[corev1.LabelTopologyZone] == room
	}
	pods, err := c.Client.CoreV1().Pods(roomNS).List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0, err
	}
	vas, err := c.Client.StorageV1().VolumeAttachments().List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0, err
	}
	attached := map[string]bool{} // pv/node
	for _, va := range vas.Items {
		if va.Status.Attached && va.DeletionTimestamp == nil {
			attached[ptr.Deref(va.Spec.Source.PersistentVolumeName, "")+"/"+va.Spec.NodeName] = true
		}
	}
	claimPod := map[string]*corev1.Pod{}
	for i := range pods.Items {
		p := &pods.Items[i]
		for _, v := range p.Spec.Volumes {
			if v.PersistentVolumeClaim != nil {
				claimPod[v.PersistentVolumeClaim.ClaimName] = p
			}
		}
	}
	count := 0
	for _, v := range vols {
		p := claimPod[v.Claim]
		if p != nil && p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning &&
			inRoom[p.Spec.NodeName] && slices.Contains(v.Diskful, p.Spec.NodeName) && attached[v.Resource()+"/"+p.Spec.NodeName] {
			count++
		}
	}
	return count, nil
}

// qpsFlag renders a rate limit, 0 being the component's default.
func qpsFlag(q int) string {
	if q == 0 {
		return "20 (default)"
	}
	return fmt.Sprint(q)
}
