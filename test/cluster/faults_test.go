package cluster

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDescribeUnreadyNamesConditionAndLifecycleTaints(t *testing.T) {
	since := metav1.NewTime(time.Date(2026, 12, 7, 14, 3, 4, 0, time.UTC))
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "node-a3"},
		Spec: corev1.NodeSpec{Taints: []corev1.Taint{
			{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoSchedule},
			{Key: "drbd.linbit.com/lost-quorum", Effect: corev1.TaintEffectNoSchedule},
		}},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{
			{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastTransitionTime: since},
		}},
	}
	want := "node-a3 Ready=True (KubeletReady, since 14:03:04) taints=[node.kubernetes.io/not-ready:NoSchedule]"
	if got := describeUnready(n); got != want {
		t.Errorf("describeUnready = %q, want %q", got, want)
	}
	n.Status.Conditions = nil
	if got, want := describeUnready(n), "node-a3 Ready=Unknown taints=[node.kubernetes.io/not-ready:NoSchedule]"; got != want {
		t.Errorf("without a condition: describeUnready = %q, want %q", got, want)
	}
}
