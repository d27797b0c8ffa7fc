package clusterview

import (
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The informers keep only what the sidecar reads: on a busy node every
// cached pod, and in a large cluster every PV, would otherwise hold its
// managed fields, container specs and status for nothing.

func trimMeta(m metav1.ObjectMeta) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion,
		DeletionTimestamp: m.DeletionTimestamp, OwnerReferences: m.OwnerReferences,
		Annotations: m.Annotations, Finalizers: m.Finalizers,
	}
}

func trimPod(p *corev1.Pod) *corev1.Pod {
	out := &corev1.Pod{ObjectMeta: trimMeta(p.ObjectMeta)}
	out.Spec.NodeName = p.Spec.NodeName
	for _, v := range p.Spec.Volumes {
		if v.PersistentVolumeClaim != nil || v.Ephemeral != nil {
			keep := corev1.Volume{Name: v.Name}
			keep.PersistentVolumeClaim = v.PersistentVolumeClaim
			if v.Ephemeral != nil {
				keep.Ephemeral = &corev1.EphemeralVolumeSource{}
			}
			out.Spec.Volumes = append(out.Spec.Volumes, keep)
		}
	}
	out.Status.Phase = p.Status.Phase
	return out
}

func trimPV(pv *corev1.PersistentVolume) *corev1.PersistentVolume {
	out := &corev1.PersistentVolume{ObjectMeta: trimMeta(pv.ObjectMeta)}
	out.Spec.ClaimRef = pv.Spec.ClaimRef
	if pv.Spec.CSI != nil {
		out.Spec.CSI = &corev1.CSIPersistentVolumeSource{Driver: pv.Spec.CSI.Driver, VolumeHandle: pv.Spec.CSI.VolumeHandle}
	}
	return out
}

func trimNode(n *corev1.Node) *corev1.Node {
	out := &corev1.Node{ObjectMeta: trimMeta(n.ObjectMeta)}
	out.Labels = n.Labels
	out.Spec.Taints = n.Spec.Taints
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			out.Status.Conditions = []corev1.NodeCondition{{Type: c.Type, Status: c.Status}}
		}
	}
	out.Status.VolumesInUse = n.Status.VolumesInUse
	return out
}

func trimVA(va *storagev1.VolumeAttachment) *storagev1.VolumeAttachment {
	out := &storagev1.VolumeAttachment{ObjectMeta: trimMeta(va.ObjectMeta), Spec: va.Spec}
	out.Status.Attached = va.Status.Attached
	return out
}

// trim is the informers' transform.
func trim(obj any) (any, error) {
	switch o := obj.(type) {
	case *corev1.Pod:
		return trimPod(o), nil
	case *corev1.PersistentVolume:
		return trimPV(o), nil
	case *corev1.Node:
		return trimNode(o), nil
	case *storagev1.VolumeAttachment:
		return trimVA(o), nil
	}
	return obj, nil
}
