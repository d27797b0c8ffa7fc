package podhandler

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kjson "sigs.k8s.io/json"

	"github.com/linstor-ha/linstor-ha/webhook/mutation"
)

// admittedPod is what the handler reads or patches of a pod. Decoding only
// these members skips the containers, the managed fields and the status:
// most of what the API server sends, and most of the decoding time.
type admittedPod struct {
	// Metadata is nil when the pod has no metadata member, or a null one.
	Metadata *admittedMeta `json:"metadata"`
	Spec     admittedSpec  `json:"spec"`
}

type admittedMeta struct {
	Name            string                  `json:"name"`
	GenerateName    string                  `json:"generateName"`
	Namespace       string                  `json:"namespace"`
	Labels          map[string]string       `json:"labels"`
	Annotations     map[string]string       `json:"annotations"`
	OwnerReferences []metav1.OwnerReference `json:"ownerReferences"`
}

type admittedSpec struct {
	Volumes                   []corev1.Volume                   `json:"volumes"`
	SchedulerName             string                            `json:"schedulerName"`
	Tolerations               []corev1.Toleration               `json:"tolerations"`
	Affinity                  *corev1.Affinity                  `json:"affinity"`
	TopologySpreadConstraints []corev1.TopologySpreadConstraint `json:"topologySpreadConstraints"`
}

// decodePod decodes the members of raw that the mutation needs into a pod,
// and says what of the metadata came in. It decodes case-sensitively, as
// the API server does: the patch's paths are, and a "Metadata" member is
// not metadata.
func decodePod(raw []byte) (*corev1.Pod, mutation.Incoming, error) {
	if len(raw) == 0 {
		return nil, mutation.Incoming{}, fmt.Errorf("empty object")
	}
	var in admittedPod
	if err := kjson.UnmarshalCaseSensitivePreserveInts(raw, &in); err != nil {
		return nil, mutation.Incoming{}, err
	}
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		Volumes:                   in.Spec.Volumes,
		SchedulerName:             in.Spec.SchedulerName,
		Tolerations:               in.Spec.Tolerations,
		Affinity:                  in.Spec.Affinity,
		TopologySpreadConstraints: in.Spec.TopologySpreadConstraints,
	}}
	var incoming mutation.Incoming
	if m := in.Metadata; m != nil {
		pod.ObjectMeta = metav1.ObjectMeta{
			Name: m.Name, GenerateName: m.GenerateName, Namespace: m.Namespace,
			Labels: m.Labels, Annotations: m.Annotations, OwnerReferences: m.OwnerReferences,
		}
		incoming = mutation.Incoming{HadMetadata: true, HadAnnotations: len(m.Annotations) > 0}
	}
	return pod, incoming, nil
}
