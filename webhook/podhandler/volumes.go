package podhandler

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/linstor-ha/linstor-ha/pkg/metadata"
)

// annDefaultClass marks the StorageClass that claims without a class get.
const annDefaultClass = "storageclass.kubernetes.io/is-default-class"

// drbdVolumes is what the pod's volumes say about DRBD.
type drbdVolumes struct {
	// uses is true when at least one volume is (or will be) DRBD.
	uses bool
	// resources are the DRBD resources of bound volumes.
	resources []string
}

// lookupVolumes follows each volume of the pod to its driver: a claim
// bound to a PV of our CSI driver, an unbound claim or a generic ephemeral
// volume whose StorageClass uses our provisioner. A claim that does not
// exist is an error: the pod cannot be judged.
func lookupVolumes(ctx context.Context, c client.Reader, pod *corev1.Pod) (drbdVolumes, error) {
	var out drbdVolumes
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		switch {
		case v.PersistentVolumeClaim != nil:
			var pvc corev1.PersistentVolumeClaim
			if err := c.Get(ctx, types.NamespacedName{Namespace: pod.Namespace, Name: v.PersistentVolumeClaim.ClaimName}, &pvc); err != nil {
				return out, fmt.Errorf("failed to get PersistentVolumeClaim %s/%s: %w", pod.Namespace, v.PersistentVolumeClaim.ClaimName, err)
			}
			if pvc.Spec.VolumeName != "" {
				var pv corev1.PersistentVolume
				if err := c.Get(ctx, types.NamespacedName{Name: pvc.Spec.VolumeName}, &pv); err != nil {
					return out, fmt.Errorf("failed to get PersistentVolume %s: %w", pvc.Spec.VolumeName, err)
				}
				if csi := pv.Spec.CSI; csi != nil && csi.Driver == metadata.DriverName {
					out.uses = true
					out.resources = append(out.resources, csi.VolumeHandle)
				}
				continue
			}
			ours, err := ourClass(ctx, c, pvc.Spec.StorageClassName)
			if err != nil {
				return out, err
			}
			out.uses = out.uses || ours
		case v.Ephemeral != nil && v.Ephemeral.VolumeClaimTemplate != nil:
			ours, err := ourClass(ctx, c, v.Ephemeral.VolumeClaimTemplate.Spec.StorageClassName)
			if err != nil {
				return out, err
			}
			out.uses = out.uses || ours
		}
	}
	return out, nil
}

// ourClass reports whether a claim of StorageClass name (nil: the default
// class) is provisioned by our driver.
func ourClass(ctx context.Context, c client.Reader, name *string) (bool, error) {
	if name != nil && *name == "" {
		return false, nil // explicitly no class: static binding only
	}
	if name != nil {
		var sc storagev1.StorageClass
		if err := c.Get(ctx, types.NamespacedName{Name: *name}, &sc); err != nil {
			return false, fmt.Errorf("failed to get StorageClass %s: %w", *name, err)
		}
		return sc.Provisioner == metadata.DriverName, nil
	}
	var list storagev1.StorageClassList
	if err := c.List(ctx, &list); err != nil {
		return false, fmt.Errorf("failed to list StorageClasses: %w", err)
	}
	// With several default classes, Kubernetes gives claims the newest.
	var def *storagev1.StorageClass
	for i := range list.Items {
		sc := &list.Items[i]
		if sc.Annotations[annDefaultClass] == "true" && (def == nil || def.CreationTimestamp.Before(&sc.CreationTimestamp)) {
			def = sc
		}
	}
	return def != nil && def.Provisioner == metadata.DriverName, nil
}
