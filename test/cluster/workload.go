package cluster

import (
	"context"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// StatefulSet returns a one-replica StatefulSet whose pod <name>-0 mounts
// the claim data-<name>-0 of the replicated StorageClass; create the claim
// with CreateVolume first to choose where its replicas are.
func StatefulSet(ns, name string) *appsv1.StatefulSet {
	labels := map[string]string{"app": name}
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.StatefulSetSpec{
			Replicas:    ptr.To[int32](1),
			Selector:    &metav1.LabelSelector{MatchLabels: labels},
			ServiceName: name,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "postgres:17"}}},
			},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "data"},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					StorageClassName: ptr.To(StorageClassName),
					Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{
						corev1.ResourceStorage: resource.MustParse("1Gi"),
					}},
				},
			}},
		},
	}
}

// Placement is where a pod runs with its volume attached.
type Placement struct {
	Node string
	UID  types.UID
}

// WaitRunningAttached waits until the pod ns/name, other than the one with
// UID notUID, is Running on a node that the PV pv is attached to.
func (c *Cluster) WaitRunningAttached(ctx context.Context, ns, name, pv string, notUID types.UID) (Placement, error) {
	for {
		pod, err := c.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil && pod.UID != notUID && pod.DeletionTimestamp == nil && pod.Status.Phase == corev1.PodRunning {
			if va, err := c.Attachment(ctx, pv); err == nil && va != nil && va.Spec.NodeName == pod.Spec.NodeName && va.Status.Attached {
				return Placement{Node: pod.Spec.NodeName, UID: pod.UID}, nil
			}
		}
		select {
		case <-ctx.Done():
			return Placement{}, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
