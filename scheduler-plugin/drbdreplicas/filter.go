package drbdreplicas

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/linstor-ha/linstor-ha/pkg/replicas"
)

// Filter rejects a node whose replica of one of the pod's resources is
// known bad, and in strict mode a node without UpToDate data. Preemption
// cannot change either, hence UnschedulableAndUnresolvable.
func (p *Plugin) Filter(_ context.Context, cs fwk.CycleState, _ *corev1.Pod, nodeInfo fwk.NodeInfo) *fwk.Status {
	s, ok := readState(cs)
	if !ok {
		return nil
	}
	node := nodeInfo.Node().Name
	knownNode := false
	if s.strict {
		knownNode = replicas.Fresh(p.index.Heartbeat(node), p.now(), p.settings.staleAfter)
	}
	if reason := s.verdict(node, knownNode); reason != "" {
		return fwk.NewStatus(fwk.UnschedulableAndUnresolvable, reason)
	}
	return nil
}
