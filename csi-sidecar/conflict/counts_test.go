package conflict

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestCounts(t *testing.T) {
	now := metav1.Now()
	for _, tc := range []struct {
		name        string
		phase       corev1.PodPhase
		terminating bool
		want        bool
	}{
		{"running", corev1.PodRunning, false, true},
		{"pending: may start any moment", corev1.PodPending, false, true},
		{"no phase yet", "", false, true},
		{"unknown: its node stopped reporting", corev1.PodUnknown, false, true},
		{"terminating but not confirmed", corev1.PodRunning, true, true},
		{"succeeded", corev1.PodSucceeded, false, false},
		{"failed", corev1.PodFailed, false, false},
		{"failed and terminating", corev1.PodFailed, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &corev1.Pod{Status: corev1.PodStatus{Phase: tc.phase}}
			if tc.terminating {
				p.DeletionTimestamp = &now
			}
			if got := Counts(p); got != tc.want {
				t.Errorf("Counts = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRunningSortsAndSkipsTerminated(t *testing.T) {
	pod := func(ns, name string, phase corev1.PodPhase) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Status: corev1.PodStatus{Phase: phase}}
	}
	got := Running([]*corev1.Pod{
		pod("storage", "ha-controller-z", corev1.PodRunning),
		pod("storage", "ha-controller-done", corev1.PodSucceeded),
		pod("other", "ha-controller-a", corev1.PodPending),
		pod("storage", "ha-controller-b", corev1.PodRunning),
	})
	want := []types.NamespacedName{{Namespace: "other", Name: "ha-controller-a"}, {Namespace: "storage", Name: "ha-controller-b"}, {Namespace: "storage", Name: "ha-controller-z"}}
	if !slices.Equal(got, want) {
		t.Errorf("Running = %v, want %v", got, want)
	}
}

func TestDescribeNamesAFewPods(t *testing.T) {
	var pods []types.NamespacedName
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		pods = append(pods, types.NamespacedName{Namespace: "storage", Name: "ha-controller-" + n})
	}
	for _, tc := range []struct {
		n    int
		want string
	}{
		{1, "storage/ha-controller-a"},
		{3, "storage/ha-controller-a, storage/ha-controller-b, storage/ha-controller-c"},
		{5, "storage/ha-controller-a, storage/ha-controller-b, storage/ha-controller-c and 2 more"},
	} {
		if got := Describe(pods[:tc.n]); got != tc.want {
			t.Errorf("Describe(%d pods) = %q, want %q", tc.n, got, tc.want)
		}
	}
	if got := NotReady(pods[:1], "app.kubernetes.io/component=ha-controller"); got != "not failing over while another fail-over actor runs: 1 pod(s) matching app.kubernetes.io/component=ha-controller: storage/ha-controller-a" {
		t.Errorf("NotReady = %q", got)
	}
}
