package drbdreplicas

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/linstor-ha/linstor-ha/pkg/metadata"
)

// PreFilter finds the pod's DRBD resources and takes the snapshot of their
// replicas that Filter and Score read. Pods without bound DRBD volumes are
// skipped, so they cost nothing further.
func (p *Plugin) PreFilter(ctx context.Context, cs fwk.CycleState, pod *corev1.Pod, _ []fwk.NodeInfo) (*fwk.PreFilterResult, *fwk.Status) {
	resources, err := p.volumes.resourcesOf(ctx, pod)
	if err != nil {
		return nil, fwk.AsStatus(err)
	}
	if len(resources) == 0 {
		return nil, fwk.NewStatus(fwk.Skip)
	}
	strictPod := pod.Annotations[metadata.AnnotationStrictPlacement] == "true"
	cs.Write(stateKey, newPodState(resources, p.index.Replicas, p.now(), p.settings.staleAfter, p.settings.strict || strictPod))
	return nil, nil
}

// PreFilterExtensions returns nil: other pods do not change the verdict.
func (p *Plugin) PreFilterExtensions() fwk.PreFilterExtensions { return nil }
