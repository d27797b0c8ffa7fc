package clusterview

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	policyv1client "k8s.io/client-go/kubernetes/typed/policy/v1"
	storagev1client "k8s.io/client-go/kubernetes/typed/storage/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/linstor-ha/linstor-ha/pkg/metadata"
	"github.com/linstor-ha/linstor-ha/pkg/podvolumes"
)

const pvByHandle = "volumeHandle"

// Clients are the typed API clients the sidecar uses; a full clientset
// satisfies it, and so do the three group clients alone.
type Clients interface {
	CoreV1() corev1client.CoreV1Interface
	StorageV1() storagev1client.StorageV1Interface
	PolicyV1() policyv1client.PolicyV1Interface
}

// View caches what the sidecar needs of the cluster.
type View struct {
	client Clients
	node   string

	informers []cache.SharedIndexInformer
	nodes     corelisters.NodeLister
	pvs       cache.Indexer
	vas       storagelisters.VolumeAttachmentLister
	localPods corelisters.PodLister
	peers     *peerPods
}

// New returns a view for the sidecar of node. onChange is called for every
// change of a cached object.
func New(client Clients, node string, onChange func()) (*View, error) {
	v := &View{client: client, node: node, peers: newPeerPods(client, onChange)}
	newInformer := func(lw *cache.ListWatch, obj runtime.Object, indexers cache.Indexers) (cache.SharedIndexInformer, error) {
		// The wrapper tells the reflector whether the client can stream
		// the initial list (a fake clientset cannot).
		inf := cache.NewSharedIndexInformer(cache.ToListWatcherWithWatchListSemantics(lw, client), obj, 0, indexers)
		if err := inf.SetTransform(trim); err != nil {
			return nil, fmt.Errorf("failed to set the cache transform: %w", err)
		}
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(any) { onChange() },
			UpdateFunc: func(any, any) { onChange() },
			DeleteFunc: func(any) { onChange() },
		}); err != nil {
			return nil, err
		}
		v.informers = append(v.informers, inf)
		return inf, nil
	}
	core, storage := client.CoreV1(), client.StorageV1()
	nodes, err := newInformer(listWatch(core.Nodes().List, core.Nodes().Watch, ""), &corev1.Node{}, cache.Indexers{})
	if err != nil {
		return nil, err
	}
	pvs, err := newInformer(listWatch(core.PersistentVolumes().List, core.PersistentVolumes().Watch, ""),
		&corev1.PersistentVolume{}, cache.Indexers{pvByHandle: indexPVByHandle})
	if err != nil {
		return nil, err
	}
	vas, err := newInformer(listWatch(storage.VolumeAttachments().List, storage.VolumeAttachments().Watch, ""),
		&storagev1.VolumeAttachment{}, cache.Indexers{})
	if err != nil {
		return nil, err
	}
	// Only this node's pods are cached; others are listed when needed.
	allPods := core.Pods(metav1.NamespaceAll)
	pods, err := newInformer(listWatch(allPods.List, allPods.Watch, fields.OneTermEqualSelector("spec.nodeName", node).String()),
		&corev1.Pod{}, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	if err != nil {
		return nil, err
	}
	v.nodes = corelisters.NewNodeLister(nodes.GetIndexer())
	v.pvs = pvs.GetIndexer()
	v.vas = storagelisters.NewVolumeAttachmentLister(vas.GetIndexer())
	v.localPods = corelisters.NewPodLister(pods.GetIndexer())
	return v, nil
}

// listWatch builds the ListWatch of a typed client's List and Watch,
// restricted to fieldSelector when it is not empty.
func listWatch[L runtime.Object](
	list func(context.Context, metav1.ListOptions) (L, error),
	watchFn func(context.Context, metav1.ListOptions) (watch.Interface, error),
	fieldSelector string,
) *cache.ListWatch {
	restrict := func(o metav1.ListOptions) metav1.ListOptions {
		if fieldSelector != "" {
			o.FieldSelector = fieldSelector
		}
		return o
	}
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return list(ctx, restrict(o))
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return watchFn(ctx, restrict(o))
		},
	}
}

// indexPVByHandle indexes the PVs of the DRBD driver by their DRBD
// resource; other PVs are cached but not indexed.
func indexPVByHandle(obj any) ([]string, error) {
	pv, _ := obj.(*corev1.PersistentVolume)
	if res, ok := podvolumes.Resource(pv); ok {
		return []string{res}, nil
	}
	return nil, nil
}

// Start starts the informers; they stop when ctx ends.
func (v *View) Start(ctx context.Context) {
	for _, inf := range v.informers {
		go inf.RunWithContext(ctx)
	}
	v.peers.start(ctx)
}

// Synced reports whether every cache holds a complete list.
func (v *View) Synced() bool {
	for _, inf := range v.informers {
		if !inf.HasSynced() {
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

// PodsOn returns the pods of another node, from a watch of that node's
// pods that the first call starts (see peerPods).
func (v *View) PodsOn(ctx context.Context, node string) ([]*corev1.Pod, error) {
	return v.peers.list(ctx, node)
}
