package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	"github.com/linstor-ha/linstor-ha/pkg/metadata"
	"github.com/linstor-ha/linstor-ha/test/drbdsim"
)

// DeviceOpener opens and closes a node's DRBD device, as the application of
// a running pod does; opening auto-promotes the resource to Primary.
type DeviceOpener interface {
	Open(node, resource string) error
	Close(node, resource string) error
}

// kubelet stands in for what kwok does not do: while a pod that uses a DRBD
// volume runs on the node and the volume's VolumeAttachment to the node is
// attached, it holds the device open, and it reports the volume in the
// node's status.volumesInUse, as the kubelet does for mounted volumes. When
// the pod is deleted it closes the device, stops reporting it, and only
// then confirms the deletion (removes the pod with grace period 0), as the
// kubelet does once the pod's containers are gone and its volumes are
// unmounted. kwok confirms the deletion of every pod without a claim.
//
// A pod's processes exit as soon as they are told to, unless they sleep in
// DRBD I/O that is suspended: then nothing kills them, the close waits
// (drbdsim.ErrCloseBlocked) until DRBD resumes or fails the I/O, and the
// pod stays Terminating all along. A deletion with grace period 0 needs no
// kubelet: the API server removes the pod at once.
//
// It reaches the API server through the node's proxy, so it goes blind
// when the node is cut off, and it dies with the node.
type kubelet struct {
	node   string
	client kubernetes.Interface
	dev    DeviceOpener
	logger klog.Logger

	trigger chan struct{}
	cancel  context.CancelFunc
	done    chan struct{}

	mu       sync.Mutex
	opened   map[string]bool // DRBD resources this node holds open
	reported []corev1.UniqueVolumeName
	// reportFailed is true while the last report did not reach the API
	// server: an empty list must be sent again too, and nil and empty
	// compare equal.
	reportFailed bool
}

func startKubelet(node string, client kubernetes.Interface, dev DeviceOpener, logger klog.Logger) *kubelet {
	ctx, cancel := context.WithCancel(context.Background())
	k := &kubelet{
		node: node, client: client, dev: dev, logger: logger.WithValues("node", node),
		trigger: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{}),
		opened: make(map[string]bool),
	}
	go k.run(ctx)
	return k
}

// stop ends the kubelet without closing any device: a node that stops
// does not get to clean up.
func (k *kubelet) stop() {
	k.cancel()
	<-k.done
}

func (k *kubelet) poke() {
	select {
	case k.trigger <- struct{}{}:
	default:
	}
}

func (k *kubelet) run(ctx context.Context) {
	defer close(k.done)
	factory := informers.NewSharedInformerFactory(k.client, 0)
	podFactory := informers.NewSharedInformerFactoryWithOptions(k.client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", k.node).String()
		}))
	pods := podFactory.Core().V1().Pods()
	pvcs := factory.Core().V1().PersistentVolumeClaims()
	pvs := factory.Core().V1().PersistentVolumes()
	vas := factory.Storage().V1().VolumeAttachments()
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { k.poke() },
		UpdateFunc: func(any, any) { k.poke() },
		DeleteFunc: func(any) { k.poke() },
	}
	for _, inf := range []cache.SharedIndexInformer{pods.Informer(), pvcs.Informer(), pvs.Informer(), vas.Informer()} {
		_, _ = inf.AddEventHandler(handler)
	}
	podFactory.Start(ctx.Done())
	factory.Start(ctx.Done())
	defer podFactory.Shutdown()
	defer factory.Shutdown()
	// Work that could not be done (caches not synced yet, an open refused
	// because the volume is still Primary elsewhere) is retried soon,
	// without waiting for the next API event; otherwise only events wake
	// the kubelet.
	var retry <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-k.trigger:
		case <-retry:
		}
		retry = time.After(250 * time.Millisecond)
		if !pods.Informer().HasSynced() || !vas.Informer().HasSynced() || !pvs.Informer().HasSynced() || !pvcs.Informer().HasSynced() {
			continue
		}
		want, deleted := k.wanted(pods.Lister(), pvcs.Lister(), pvs.Lister(), vas.Lister())
		pending := k.sync(ctx, want)
		if k.confirmDeletions(ctx, deleted) {
			pending = true
		}
		if !pending {
			retry = nil
		}
	}
}

// sync opens and closes devices to match want and reports the volumes in
// use; it reports whether something is left to retry.
func (k *kubelet) sync(ctx context.Context, want map[string]bool) (pending bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	changed := false
	for res := range want {
		if k.opened[res] {
			continue
		}
		if err := k.dev.Open(k.node, res); err != nil {
			k.logger.V(2).Info("Device not opened yet", "resource", res, "err", err)
			pending = true
			continue
		}
		k.opened[res] = true
		changed = true
	}
	for res := range k.opened {
		if _, ok := want[res]; ok {
			continue
		}
		if err := k.dev.Close(k.node, res); err != nil {
			// The unmount hangs on frozen I/O: the device stays open and in
			// use, and the close completes once DRBD resumes or fails it.
			if errors.Is(err, drbdsim.ErrCloseBlocked) {
				k.logger.V(2).Info("Device close waits for frozen I/O", "resource", res)
			} else {
				k.logger.Error(err, "Failed to close device", "resource", res)
			}
			pending = true
			continue
		}
		delete(k.opened, res)
		changed = true
	}
	inUse := []corev1.UniqueVolumeName{}
	for res := range k.opened {
		inUse = append(inUse, corev1.UniqueVolumeName(uniqueVolumeName(res)))
	}
	slices.Sort(inUse)
	if changed || k.reportFailed || !slices.Equal(inUse, k.reported) {
		if !k.reportInUse(ctx, inUse) {
			pending = true
		}
	}
	return pending
}

// reportInUse patches the node's status.volumesInUse and reports whether
// it succeeded; a failed report is retried.
func (k *kubelet) reportInUse(ctx context.Context, inUse []corev1.UniqueVolumeName) bool {
	patch, _ := json.Marshal(map[string]any{"status": map[string]any{"volumesInUse": inUse}})
	if _, err := k.client.CoreV1().Nodes().Patch(ctx, k.node, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status"); err != nil {
		k.logger.V(2).Info("Failed to report volumes in use", "err", err)
		k.reported = nil
		k.reportFailed = true
		return false
	}
	k.reported = inUse
	k.reportFailed = false
	return true
}

// deletedPod is a pod of the node that is being deleted and uses claims,
// with the DRBD resources it uses.
type deletedPod struct {
	namespace, name string
	uid             types.UID
	resources       []string
}

// wanted returns the DRBD resources the node's pods need open: those of pods
// bound to the node and not terminating, whose volume is attached here; and
// the pods with claims whose deletion waits for this kubelet.
func (k *kubelet) wanted(pods corelisters.PodLister, pvcs corelisters.PersistentVolumeClaimLister,
	pvs corelisters.PersistentVolumeLister, vas storagelisters.VolumeAttachmentLister) (map[string]bool, []deletedPod) {
	want := map[string]bool{}
	var deleted []deletedPod
	podList, _ := pods.List(labels.Everything())
	attachments, _ := vas.List(labels.Everything())
	for _, pod := range podList {
		gone := pod.DeletionTimestamp != nil
		if !gone && (pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed) {
			continue
		}
		var resources []string
		claims := false
		for _, vol := range pod.Spec.Volumes {
			if vol.PersistentVolumeClaim == nil {
				continue
			}
			claims = true
			pvc, err := pvcs.PersistentVolumeClaims(pod.Namespace).Get(vol.PersistentVolumeClaim.ClaimName)
			if err != nil || pvc.Spec.VolumeName == "" {
				continue
			}
			pv, err := pvs.Get(pvc.Spec.VolumeName)
			if err != nil || pv.Spec.CSI == nil || pv.Spec.CSI.Driver != metadata.DriverName {
				continue
			}
			resources = append(resources, pv.Spec.CSI.VolumeHandle)
			if !gone && slices.ContainsFunc(attachments, func(va *storagev1.VolumeAttachment) bool { return openable(va, k.node, pv.Name) }) {
				want[pv.Spec.CSI.VolumeHandle] = true
			}
		}
		if gone && claims {
			deleted = append(deleted, deletedPod{namespace: pod.Namespace, name: pod.Name, uid: pod.UID, resources: resources})
		}
	}
	return want, deleted
}

// confirmDeletions removes the deleted pods whose devices this kubelet no
// longer holds open, and reports whether one is left to retry.
func (k *kubelet) confirmDeletions(ctx context.Context, deleted []deletedPod) (pending bool) {
	for _, p := range deleted {
		k.mu.Lock()
		open := slices.ContainsFunc(p.resources, func(res string) bool { return k.opened[res] })
		k.mu.Unlock()
		if open {
			pending = true
			continue
		}
		err := k.client.CoreV1().Pods(p.namespace).Delete(ctx, p.name, metav1.DeleteOptions{
			GracePeriodSeconds: ptr.To[int64](0),
			Preconditions:      &metav1.Preconditions{UID: ptr.To(p.uid)},
		})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			k.logger.V(2).Info("Failed to confirm a pod's deletion", "pod", klog.KRef(p.namespace, p.name), "err", err)
			pending = true
		}
	}
	return pending
}

// uniqueVolumeName is how the kubelet and the attach-detach controller name
// a CSI volume.
func uniqueVolumeName(handle string) string {
	return "kubernetes.io/csi/" + metadata.DriverName + "^" + handle
}

// openable reports whether the VolumeAttachment attaches pv to node.
func openable(va *storagev1.VolumeAttachment, node, pv string) bool {
	return va.Spec.NodeName == node && va.Spec.Source.PersistentVolumeName != nil &&
		*va.Spec.Source.PersistentVolumeName == pv && va.Status.Attached && va.DeletionTimestamp == nil
}
