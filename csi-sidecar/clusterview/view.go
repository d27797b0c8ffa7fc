// Package clusterview is the sidecar's view of the cluster: the nodes, the
// PersistentVolumes of the DRBD driver, their VolumeAttachments, the replica
// reports and the pods of this node, cached by informers. Pods of other
// nodes are listed only when a fail-over needs them, so that memory does
// not grow with the cluster's pod count.
package clusterview

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/linstor-ha/linstor-ha/pkg/metadata"
)

const pvByHandle = "volumeHandle"

// View caches what the sidecar needs of the cluster.
type View struct {
	client kubernetes.Interface
	node   string

	factory    informers.SharedInformerFactory
	podFactory informers.SharedInformerFactory
	nodes      corelisters.NodeLister
	pvs        cache.Indexer
	vas        storagelisters.VolumeAttachmentLister
	localPods  corelisters.PodLister
	synced     []cache.InformerSynced
}

// New returns a view for the sidecar of node. onChange is called for every
// change of a cached object.
func New(client kubernetes.Interface, node string, onChange func()) (*View, error) {
	v := &View{client: client, node: node}
	v.factory = informers.NewSharedInformerFactory(client, 0)
	v.podFactory = informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", node).String()
	}))
	nodes := v.factory.Core().V1().Nodes()
	pvs := v.factory.Core().V1().PersistentVolumes()
	vas := v.factory.Storage().V1().VolumeAttachments()
	pods := v.podFactory.Core().V1().Pods()
	if err := pvs.Informer().AddIndexers(cache.Indexers{pvByHandle: indexPVByHandle}); err != nil {
		return nil, fmt.Errorf("failed to index PersistentVolumes: %w", err)
	}
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { onChange() },
		UpdateFunc: func(any, any) { onChange() },
		DeleteFunc: func(any) { onChange() },
	}
	for _, inf := range []cache.SharedIndexInformer{nodes.Informer(), pvs.Informer(), vas.Informer(), pods.Informer()} {
		if err := inf.SetTransform(trim); err != nil {
			return nil, fmt.Errorf("failed to set the cache transform: %w", err)
		}
		if _, err := inf.AddEventHandler(handler); err != nil {
			return nil, err
		}
		v.synced = append(v.synced, inf.HasSynced)
	}
	v.nodes, v.pvs, v.vas, v.localPods = nodes.Lister(), pvs.Informer().GetIndexer(), vas.Lister(), pods.Lister()
	return v, nil
}

func indexPVByHandle(obj any) ([]string, error) {
	pv, ok := obj.(*corev1.PersistentVolume)
	if !ok || pv.Spec.CSI == nil || pv.Spec.CSI.Driver != metadata.DriverName {
		return nil, nil
	}
	return []string{pv.Spec.CSI.VolumeHandle}, nil
}

// Start starts the informers; they stop when ctx ends.
func (v *View) Start(ctx context.Context) {
	v.factory.Start(ctx.Done())
	v.podFactory.Start(ctx.Done())
}

// Synced reports whether every cache holds a complete list.
func (v *View) Synced() bool {
	for _, s := range v.synced {
		if !s() {
			return false
		}
	}
	return true
}

// PV returns the PersistentVolume of a DRBD resource, or nil.
func (v *View) PV(resource string) *corev1.PersistentVolume {
	objs, err := v.pvs.ByIndex(pvByHandle, resource)
	if err != nil || len(objs) == 0 {
		return nil
	}
	return objs[0].(*corev1.PersistentVolume)
}

// Node returns a node, or nil.
func (v *View) Node(name string) *corev1.Node {
	n, err := v.nodes.Get(name)
	if err != nil {
		return nil
	}
	return n
}

// Attachments returns the VolumeAttachments of a PV.
func (v *View) Attachments(pv string) []*storagev1.VolumeAttachment {
	all, _ := v.vas.List(labelsEverything)
	var out []*storagev1.VolumeAttachment
	for _, va := range all {
		if va.Spec.Attacher == metadata.DriverName && va.Spec.Source.PersistentVolumeName != nil && *va.Spec.Source.PersistentVolumeName == pv {
			out = append(out, va)
		}
	}
	return out
}

// LocalPods returns the pods of this node.
func (v *View) LocalPods() []*corev1.Pod {
	pods, _ := v.localPods.List(labelsEverything)
	return pods
}

// PodsOn lists the pods of another node from the API server.
func (v *View) PodsOn(ctx context.Context, node string) ([]*corev1.Pod, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	list, err := v.client.CoreV1().Pods("").List(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("spec.nodeName", node).String(),
	})
	if err != nil {
		return nil, fmt.Errorf("failed to list the pods of node %s: %w", node, err)
	}
	out := make([]*corev1.Pod, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}

// UsesClaim reports whether a pod mounts the claim ns/name, directly or as
// a generic ephemeral volume.
func UsesClaim(pod *corev1.Pod, ns, name string) bool {
	if pod.Namespace != ns {
		return false
	}
	for _, vol := range pod.Spec.Volumes {
		if vol.PersistentVolumeClaim != nil && vol.PersistentVolumeClaim.ClaimName == name {
			return true
		}
		if vol.Ephemeral != nil && pod.Name+"-"+vol.Name == name {
			return true
		}
	}
	return false
}
