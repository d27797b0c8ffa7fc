package podvolumes

import corev1 "k8s.io/api/core/v1"

// ClaimName returns the name of the PersistentVolumeClaim behind volume vol
// of pod, and false for volumes that are not backed by a claim. A generic
// ephemeral volume's claim is named as Kubernetes' ephemeral volume
// controller names it (k8s.io/component-helpers/storage/ephemeral); only the
// presence of the ephemeral source matters, so a pod whose claim templates
// were trimmed away still names its claims.
func ClaimName(pod *corev1.Pod, vol *corev1.Volume) (string, bool) {
	switch {
	case vol == nil:
		return "", false
	case vol.PersistentVolumeClaim != nil:
		return vol.PersistentVolumeClaim.ClaimName, true
	case vol.Ephemeral != nil && pod != nil:
		return pod.Name + "-" + vol.Name, true
	}
	return "", false
}

// ClaimNames returns the names of the claims pod uses, in the order of its
// volumes. The claims are in the pod's namespace.
func ClaimNames(pod *corev1.Pod) []string {
	if pod == nil {
		return nil
	}
	var names []string
	for i := range pod.Spec.Volumes {
		if name, ok := ClaimName(pod, &pod.Spec.Volumes[i]); ok {
			names = append(names, name)
		}
	}
	return names
}

// UsesClaim reports whether pod uses the claim namespace/name, directly or
// as a generic ephemeral volume. It is how a PersistentVolume's claimRef is
// mapped back to the pods that mount it.
func UsesClaim(pod *corev1.Pod, namespace, name string) bool {
	if pod == nil || pod.Namespace != namespace {
		return false
	}
	for i := range pod.Spec.Volumes {
		if claim, ok := ClaimName(pod, &pod.Spec.Volumes[i]); ok && claim == name {
			return true
		}
	}
	return false
}
