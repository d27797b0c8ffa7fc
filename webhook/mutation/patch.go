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
// in says what of the metadata the incoming pod had.
func Patch(pod *corev1.Pod, changes []string, in Incoming) []jsonpatch.JsonPatchOperation {
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
	switch {
	case in.HadAnnotations:
		ops = append(ops, jsonpatch.NewOperation("add", "/metadata/annotations/"+escapePointer(metadata.AnnotationMutated), pod.Annotations[metadata.AnnotationMutated]))
	case in.HadMetadata:
		ops = append(ops, jsonpatch.NewOperation("add", "/metadata/annotations", pod.Annotations))
	default:
		// A path into a member that is not there does not apply.
		ops = append(ops, jsonpatch.NewOperation("add", "/metadata", map[string]any{"annotations": pod.Annotations}))
	}
	return ops
}

// Incoming says what of the metadata the pod had before Mutate.
type Incoming struct {
	// HadMetadata is true when the pod's JSON had a metadata member;
	// HadAnnotations when it had a non-empty metadata.annotations.
	HadMetadata, HadAnnotations bool
}

// escapePointer escapes a JSON pointer token (RFC 6901).
func escapePointer(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}
