package mutation

import (
	"strings"

	"gomodules.xyz/jsonpatch/v2"
	corev1 "k8s.io/api/core/v1"

	"github.com/linstor-ha/linstor-ha/pkg/metadata"
)

// Patch returns the JSON patch that turns the pod as it came in into pod,
// for the changes Mutate reported. Each changed field is written whole:
// cheaper than diffing two encodings of the pod, and just as exact.
// hadAnnotations says whether the incoming pod had any annotations.
func Patch(pod *corev1.Pod, changes []string, hadAnnotations bool) []jsonpatch.JsonPatchOperation {
	if len(changes) == 0 {
		return nil
	}
	ops := make([]jsonpatch.JsonPatchOperation, 0, len(changes)+1)
	for _, c := range changes {
		// "add" on an existing member replaces it (RFC 6902, 4.1).
		switch c {
		case "schedulerName":
			ops = append(ops, jsonpatch.NewOperation("add", "/spec/schedulerName", pod.Spec.SchedulerName))
		case "tolerations":
			ops = append(ops, jsonpatch.NewOperation("add", "/spec/tolerations", pod.Spec.Tolerations))
		case "topologySpreadConstraints":
			ops = append(ops, jsonpatch.NewOperation("add", "/spec/topologySpreadConstraints", pod.Spec.TopologySpreadConstraints))
		case "affinity":
			ops = append(ops, jsonpatch.NewOperation("add", "/spec/affinity", pod.Spec.Affinity))
		}
	}
	if hadAnnotations {
		ops = append(ops, jsonpatch.NewOperation("add", "/metadata/annotations/"+escapePointer(metadata.AnnotationMutated), pod.Annotations[metadata.AnnotationMutated]))
	} else {
		ops = append(ops, jsonpatch.NewOperation("add", "/metadata/annotations", pod.Annotations))
	}
	return ops
}

// escapePointer escapes a JSON pointer token (RFC 6901).
func escapePointer(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}
