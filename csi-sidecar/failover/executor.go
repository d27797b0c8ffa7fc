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
	"k8s.io/apimachinery/pkg/util/wait"
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

// setTaint adds or removes the NoSchedule taint key.
func (e *Executor) setTaint(ctx context.Context, node, key string, on bool) error {
	if key == "" {
		return fmt.Errorf("no taint key to set on node %s", node)
	}
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := e.Client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			return err
		}
		has := slices.ContainsFunc(n.Spec.Taints, isNoScheduleTaint(key))
		if has == on {
			return nil
		}
		if on {
			now := metav1.Now()
			n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: key, Effect: corev1.TaintEffectNoSchedule, TimeAdded: &now})
		} else {
			n.Spec.Taints = slices.DeleteFunc(n.Spec.Taints, isNoScheduleTaint(key))
		}
		_, err = e.Client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
		return err
	})
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

// ReleaseVolumes removes the volumes of handles from node's volumesInUse in
// one status update: a room's worth of volumes must not queue behind each
// other on the same node object.
func (e *Executor) ReleaseVolumes(ctx context.Context, node string, handles []string) error {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	release := map[corev1.UniqueVolumeName]bool{}
	for _, h := range handles {
		release[corev1.UniqueVolumeName(UniqueVolumeName(h))] = true
	}
	inUse := func(v corev1.UniqueVolumeName) bool { return release[v] }
	err := retry.RetryOnConflict(releaseBackoff, func() error {
		n, err := e.Client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(n.Status.VolumesInUse, inUse) {
			return nil
		}
		n.Status.VolumesInUse = slices.DeleteFunc(n.Status.VolumesInUse, inUse)
		_, err = e.Client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
		return err
	})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// releaseBackoff spreads the retries of survivors that release volumes of
// the same lost node at once: each leads some of its resources, and all
// write the one node status. Jitter (each wait between d and 2d) keeps
// them from colliding again in step, and more tries than client-go's
// default (eight before the cap ends them) outlast a room's worth.
var releaseBackoff = wait.Backoff{Steps: 10, Duration: 10 * time.Millisecond, Factor: 2, Jitter: 1, Cap: 2 * time.Second}

// UniqueVolumeName is how the kubelet and the attach-detach controller name
// a volume of the driver.
func UniqueVolumeName(handle string) string {
	return "kubernetes.io/csi/" + metadata.DriverName + "^" + handle
}
