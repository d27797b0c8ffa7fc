package clusterview

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestTrimKeepsWhatTheSidecarReads(t *testing.T) {
	now := metav1.Now()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "db", Name: "pg-0", UID: "u", DeletionTimestamp: &now,
			Annotations:     map[string]string{"drbd.linbit.com/ignore-fail-over": ""},
			OwnerReferences: []metav1.OwnerReference{{Kind: "StatefulSet", Name: "pg"}},
			ManagedFields:   []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}},
		Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c", Image: "i"}}, Volumes: []corev1.Volume{
			{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data-pg-0"}}},
			{Name: "scratch", VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{}}},
			{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}},
		}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
	obj, err := trim(pod)
	if err != nil {
		t.Fatal(err)
	}
	got := obj.(*corev1.Pod)
	if len(got.ManagedFields) != 0 || len(got.Spec.Containers) != 0 || len(got.Spec.Volumes) != 2 {
		t.Errorf("trimmed pod keeps too much: %+v", got)
	}
	if !UsesClaim(got, "db", "data-pg-0") || !UsesClaim(got, "db", "pg-0-scratch") || UsesClaim(got, "other", "data-pg-0") {
		t.Error("trimmed pod lost its claims")
	}
	if got.DeletionTimestamp == nil || got.UID != "u" || got.Spec.NodeName != "n1" || got.Status.Phase != corev1.PodRunning ||
		metav1.GetControllerOf(got) != nil || len(got.OwnerReferences) != 1 || len(got.Annotations) != 1 {
		t.Errorf("trimmed pod lost what the sidecar reads: %+v", got)
	}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"},
		Spec: corev1.NodeSpec{Taints: []corev1.Taint{{Key: "k"}}},
		Status: corev1.NodeStatus{
			Conditions:   []corev1.NodeCondition{{Type: corev1.NodeMemoryPressure}, {Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
			Images:       []corev1.ContainerImage{{Names: []string{"big"}}},
			VolumesInUse: []corev1.UniqueVolumeName{"v"},
		}}
	obj, _ = trim(node)
	n := obj.(*corev1.Node)
	if len(n.Status.Images) != 0 || len(n.Status.Conditions) != 1 || n.Status.Conditions[0].Status != corev1.ConditionTrue || len(n.Spec.Taints) != 1 || len(n.Status.VolumesInUse) != 1 {
		t.Errorf("trimmed node = %+v", n)
	}
}
