package failover

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/linstor-ha/linstor-ha/csi-sidecar/clusterview"
	"github.com/linstor-ha/linstor-ha/pkg/metadata"
)

// AttacherFinalizer is the finalizer the external-attacher puts on the
// VolumeAttachments of the driver.
const AttacherFinalizer = "external-attacher/linstor-csi-linbit-com"

// CallTimeout bounds each action: a call that hangs on a dead connection
// must delay only its own action, and the next evaluation tries it again.
const CallTimeout = 10 * time.Second

// Executor performs actions against the API server and DRBD.
type Executor struct {
	Client clusterview.Clients
	// Nodes returns a node from the cache, nil when it holds none; a
	// change of a node starts from it instead of a read. Nil reads every
	// node from the API server.
	Nodes func(name string) *corev1.Node
	// ForceSecondary demotes a resource with drbdsetup secondary --force;
	// nil refuses demotions.
	ForceSecondary func(ctx context.Context, resource string) error
}

// Do performs one action. Actions are idempotent: an object that is already
// gone, or a taint that is already there, is success.
func (e *Executor) Do(ctx context.Context, a Action) error {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	var err error
	switch a.Kind {
	case TaintNode:
		err = e.setTaint(ctx, a.Node, a.Taint, true)
	case UntaintNode:
		err = e.setTaint(ctx, a.Node, a.Taint, false)
	case DeletePod:
		err = e.deletePod(ctx, a.Pod, a.GraceZero)
	case EvictPod:
		err = e.evictPod(ctx, a.Pod)
	case DeleteAttachment:
		err = e.Client.StorageV1().VolumeAttachments().Delete(ctx, a.Attachment, metav1.DeleteOptions{})
	case RemoveAttacherFinalizer:
		err = e.removeFinalizer(ctx, a.Attachment)
	case Demote:
		err = e.demote(ctx, a.Resource)
	case ReleaseVolume:
		err = e.releaseVolume(ctx, a.Node, a.Resource)
	default:
		return fmt.Errorf("unknown action %q", a.Kind)
	}
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// setTaint adds or removes the NoSchedule taint key. It writes the node's
// taints with a JSON patch that first tests them as they were read, from
// the cache at the first try: a change of any other field of the node in
// the meantime (the attach-detach controller reports volumes attached to
// a lost node, one by one) does not fail it, as the resource version of
// an update would, and a change of the taints does and is read again.
func (e *Executor) setTaint(ctx context.Context, node, key string, on bool) error {
	if key == "" {
		return fmt.Errorf("no taint key to set on node %s", node)
	}
	n := e.cachedNode(node)
	return retry.OnError(retry.DefaultRetry, taintsChanged, func() error {
		if n == nil {
			var err error
			if n, err = e.Client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{}); err != nil {
				return err
			}
		}
		taints := n.Spec.Taints
		n = nil
		if slices.ContainsFunc(taints, isNoScheduleTaint(key)) == on {
			return nil
		}
		var changed []corev1.Taint
		if on {
			changed = append(slices.Clone(taints), corev1.Taint{Key: key, Effect: corev1.TaintEffectNoSchedule, TimeAdded: ptr.To(metav1.Now())})
		} else {
			changed = slices.DeleteFunc(slices.Clone(taints), isNoScheduleTaint(key))
		}
		patch, err := json.Marshal([]map[string]any{
			// A node without taints has none to test: null matches
			// the absent field.
			{"op": "test", "path": "/spec/taints", "value": taints},
			{"op": "add", "path": "/spec/taints", "value": changed},
		})
		if err != nil {
			return err
		}
		_, err = e.Client.CoreV1().Nodes().Patch(ctx, node, types.JSONPatchType, patch, metav1.PatchOptions{})
		return err
	})
}

// taintsChanged reports whether a taint patch failed on taints that
// changed since they were read: the API server answers 422 to a failed
// test.
func taintsChanged(err error) bool {
	return apierrors.IsInvalid(err) || apierrors.IsConflict(err)
}

// cachedNode returns a copy of the node as the cache holds it, nil when
// there is no cache or the node is not in it.
func (e *Executor) cachedNode(name string) *corev1.Node {
	if e.Nodes == nil {
		return nil
	}
	if n := e.Nodes(name); n != nil {
		return n.DeepCopy()
	}
	return nil
}

// isNoScheduleTaint matches the NoSchedule taint key; no key matches
// nothing.
func isNoScheduleTaint(key string) func(corev1.Taint) bool {
	return func(t corev1.Taint) bool {
		return key != "" && t.Key == key && t.Effect == corev1.TaintEffectNoSchedule
	}
}

// deletePod deletes exactly the pod that was decided on: the UID
// precondition makes a replacement with the same name safe.
func (e *Executor) deletePod(ctx context.Context, p *Pod, graceZero bool) error {
	opts := metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: ptr.To(p.UID)}}
	if graceZero {
		opts.GracePeriodSeconds = ptr.To[int64](0)
	}
	err := e.Client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, opts)
	if apierrors.IsConflict(err) {
		// The UID differs: the pod was already replaced.
		return nil
	}
	return err
}

func (e *Executor) evictPod(ctx context.Context, p *Pod) error {
	ev := &policyv1.Eviction{
		ObjectMeta:    metav1.ObjectMeta{Namespace: p.Namespace, Name: p.Name},
		DeleteOptions: &metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: ptr.To(p.UID)}},
	}
	err := e.Client.PolicyV1().Evictions(p.Namespace).Evict(ctx, ev)
	if apierrors.IsConflict(err) {
		return nil
	}
	return err
}

// removeFinalizer removes the external-attacher's finalizer in one call:
// a strategic-merge patch that deletes that one value from the list
// leaves every other finalizer, and a concurrent change of them, alone,
// and needs no read first.
func (e *Executor) removeFinalizer(ctx context.Context, name string) error {
	patch, _ := json.Marshal(map[string]any{
		"metadata": map[string]any{"$deleteFromPrimitiveList/finalizers": []string{AttacherFinalizer}},
	})
	_, err := e.Client.StorageV1().VolumeAttachments().Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	return err
}

// demote forces the resource to Secondary; its frozen I/O then fails, which
// lets the node rejoin once quorum is back.
func (e *Executor) demote(ctx context.Context, resource string) error {
	if e.ForceSecondary == nil {
		return fmt.Errorf("cannot demote %s: no drbdsetup configured", resource)
	}
	return e.ForceSecondary(ctx, resource)
}

// releaseVolume removes the driver's volume from a node's volumesInUse.
func (e *Executor) releaseVolume(ctx context.Context, node, handle string) error {
	return e.ReleaseVolumes(ctx, node, []string{handle})
}

// ReleaseVolumes removes the volumes of handles from node's volumesInUse
// in one call, unread: a strategic-merge patch that deletes those values
// from the list. Survivors that release volumes of the same lost node at
// once, each for the resources it leads, and the attach-detach controller
// reporting that node's attached volumes, never conflict with each other;
// a room's worth of volumes waits neither for a read nor for a retry.
func (e *Executor) ReleaseVolumes(ctx context.Context, node string, handles []string) error {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	release := make([]string, len(handles))
	for i, h := range handles {
		release[i] = UniqueVolumeName(h)
	}
	patch, err := json.Marshal(map[string]any{
		"status": map[string]any{"$deleteFromPrimitiveList/volumesInUse": release},
	})
	if err != nil {
		return err
	}
	_, err = e.Client.CoreV1().Nodes().Patch(ctx, node, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// UniqueVolumeName is how the kubelet and the attach-detach controller name
// a volume of the driver.
func UniqueVolumeName(handle string) string {
	return "kubernetes.io/csi/" + metadata.DriverName + "^" + handle
}
