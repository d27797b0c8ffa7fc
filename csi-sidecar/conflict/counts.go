package conflict

import (
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Counts reports whether a pod of the other actor counts as running: every
// pod that has not terminated does. A Pending pod may start its process any
// moment, and a terminating one may still be acting until its kubelet
// confirms that its containers exited: neither proves that the other actor
// is gone. A pod whose phase is Succeeded or Failed runs nothing. A pod
// left Terminating on a node that is gone counts too, since nothing shows
// whether its process still runs: deleting it with grace period 0 ends
// the refusal.
func Counts(p *corev1.Pod) bool {
	return p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed
}

// Running returns the pods that count, sorted by namespace and name.
func Running(pods []*corev1.Pod) []types.NamespacedName {
	var out []types.NamespacedName
	for _, p := range pods {
		if Counts(p) {
			out = append(out, types.NamespacedName{Namespace: p.Namespace, Name: p.Name})
		}
	}
	slices.SortFunc(out, func(a, b types.NamespacedName) int { return strings.Compare(a.String(), b.String()) })
	return out
}
