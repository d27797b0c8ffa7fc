package cluster

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
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
	p, err := c.RoomProgress(ctx, vols, room)
	return p.Running, err
}

// RoomProgress counts, of vols moving into room, how many have passed each
// step of a move; a volume counts at a step once it is past it, whatever
// the later steps say.
type RoomProgress struct {
	// OldPodsGone: no pod of the volume's claim is left outside room.
	OldPodsGone int
	// Detached: no VolumeAttachment of the volume is left outside room.
	Detached int
	// Created: a pod of the claim exists that is not terminating and not
	// outside room (scheduled or not).
	Created int
	// Scheduled: that pod is bound to a node of room.
	Scheduled int
	// Attached: the volume is attached to that pod's node.
	Attached int
	// Running: that pod runs, on a diskful node of the volume, with the
	// volume attached there.
	Running int
}

// RoomProgress reads how far the volumes' move into room has come, with
// three lists from the API server.
func (c *Cluster) RoomProgress(ctx context.Context, vols []Volume, room string) (RoomProgress, error) {
	nodes, err := c.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return RoomProgress{}, err
	}
	vas, err := c.Client.StorageV1().VolumeAttachments().List(ctx, metav1.ListOptions{})
	if err != nil {
		return RoomProgress{}, err
	}
	var pods []*corev1.Pod
	for _, ns := range namespacesOf(vols) {
		list, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return RoomProgress{}, err
		}
		for i := range list.Items {
			pods = append(pods, &list.Items[i])
		}
	}
	return progressOf(vols, room, pointers(nodes.Items), pointers(vas.Items), pods), nil
}

// RoomWatch follows a room's move from watches, so that measuring it often
// adds no load to the API server that the move itself depends on.
type RoomWatch struct {
	vols  []Volume
	room  string
	nodes corelisters.NodeLister
	vas   storagelisters.VolumeAttachmentLister
	pods  corelisters.PodLister
}

// WatchRoom starts watching the nodes, the VolumeAttachments and the pods
// of vols' namespace until ctx ends, and returns once they are listed.
func (c *Cluster) WatchRoom(ctx context.Context, vols []Volume, room string) (*RoomWatch, error) {
	namespaces := namespacesOf(vols)
	if len(namespaces) != 1 {
		return nil, fmt.Errorf("watching a room's move needs the volumes of one namespace, not %d", len(namespaces))
	}
	cluster := informers.NewSharedInformerFactory(c.Client, 0)
	namespaced := informers.NewSharedInformerFactoryWithOptions(c.Client, 0, informers.WithNamespace(namespaces[0]))
	w := &RoomWatch{
		vols: vols, room: room,
		nodes: cluster.Core().V1().Nodes().Lister(),
		vas:   cluster.Storage().V1().VolumeAttachments().Lister(),
		pods:  namespaced.Core().V1().Pods().Lister(),
	}
	cluster.Start(ctx.Done())
	namespaced.Start(ctx.Done())
	for _, synced := range []map[reflect.Type]bool{cluster.WaitForCacheSync(ctx.Done()), namespaced.WaitForCacheSync(ctx.Done())} {
		for typ, ok := range synced {
			if !ok {
				return nil, fmt.Errorf("failed to list %v to watch the move into %s", typ, room)
			}
		}
	}
	return w, nil
}

// Progress is how far the move has come by the watches' account.
func (w *RoomWatch) Progress() (RoomProgress, error) {
	nodes, err := w.nodes.List(labels.Everything())
	if err != nil {
		return RoomProgress{}, err
	}
	vas, err := w.vas.List(labels.Everything())
	if err != nil {
		return RoomProgress{}, err
	}
	pods, err := w.pods.List(labels.Everything())
	if err != nil {
		return RoomProgress{}, err
	}
	return progressOf(w.vols, w.room, nodes, vas, pods), nil
}

// progressOf counts how far vols' move into room has come, given every
// node and VolumeAttachment and the pods of the volumes' namespaces.
func progressOf(vols []Volume, room string, nodes []*corev1.Node, vas []*storagev1.VolumeAttachment, pods []*corev1.Pod) RoomProgress {
	var p RoomProgress
	inRoom := map[string]bool{}
	for _, n := range nodes {
		inRoom[n.Name] = n.Labels[corev1.LabelTopologyZone] == room
	}
	attached := map[string]bool{}        // pv/node
	attachedOutside := map[string]bool{} // pv
	for _, va := range vas {
		pv := ptr.Deref(va.Spec.Source.PersistentVolumeName, "")
		if !inRoom[va.Spec.NodeName] {
			attachedOutside[pv] = true
		}
		if va.Status.Attached && va.DeletionTimestamp == nil {
			attached[pv+"/"+va.Spec.NodeName] = true
		}
	}
	newPod := map[string]*corev1.Pod{} // namespace/claim
	oldPod := map[string]bool{}        // namespace/claim
	for _, pod := range pods {
		for _, v := range pod.Spec.Volumes {
			if v.PersistentVolumeClaim == nil {
				continue
			}
			key := pod.Namespace + "/" + v.PersistentVolumeClaim.ClaimName
			switch {
			case pod.Spec.NodeName != "" && !inRoom[pod.Spec.NodeName]:
				oldPod[key] = true
			case pod.DeletionTimestamp == nil:
				newPod[key] = pod
			}
		}
	}
	for _, v := range vols {
		key := v.Namespace + "/" + v.Claim
		if !oldPod[key] {
			p.OldPodsGone++
		}
		if !attachedOutside[v.Resource()] {
			p.Detached++
		}
		pod := newPod[key]
		if pod == nil {
			continue
		}
		p.Created++
		if pod.Spec.NodeName == "" {
			continue
		}
		p.Scheduled++
		if !attached[v.Resource()+"/"+pod.Spec.NodeName] {
			continue
		}
		p.Attached++
		if pod.Status.Phase == corev1.PodRunning && slices.Contains(v.Diskful, pod.Spec.NodeName) {
			p.Running++
		}
	}
	return p
}

// namespacesOf returns the namespaces of vols, sorted.
func namespacesOf(vols []Volume) []string {
	var out []string
	for _, v := range vols {
		if !slices.Contains(out, v.Namespace) {
			out = append(out, v.Namespace)
		}
	}
	slices.Sort(out)
	return out
}

// pointers returns pointers to the items of a list.
func pointers[T any](items []T) []*T {
	out := make([]*T, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out
}
