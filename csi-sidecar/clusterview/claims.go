package clusterview

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/linstor-ha/linstor-ha/pkg/podvolumes"
)

// UsesClaim reports whether a pod mounts the claim ns/name, directly or as
// a generic ephemeral volume, by the rule the webhook and the scheduler
// plugin use too (podvolumes.UsesClaim). The fail-over controller maps a
// PV's claimRef back to the pods it must move with it; the trimmed pods of
// the cache keep just enough of their volumes for this.
func UsesClaim(pod *corev1.Pod, ns, name string) bool {
	return podvolumes.UsesClaim(pod, ns, name)
}
