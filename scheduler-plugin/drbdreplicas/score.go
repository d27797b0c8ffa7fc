package drbdreplicas

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/linstor-ha/linstor-ha/pkg/metadata"
)

// PreScore skips scoring when no fresh report knows any of the pod's
// replicas: every node would score the same.
func (p *Plugin) PreScore(_ context.Context, cs fwk.CycleState, _ *corev1.Pod, _ []fwk.NodeInfo) *fwk.Status {
	s, ok := readState(cs)
	if !ok || !s.hasFreshData() {
		return fwk.NewStatus(fwk.Skip)
	}
	return nil
}

// Score sums over the pod's volumes: local UpToDate data scores best, then
// a zone holding such data, then a healthy diskless replica.
func (p *Plugin) Score(_ context.Context, cs fwk.CycleState, _ *corev1.Pod, nodeInfo fwk.NodeInfo) (int64, *fwk.Status) {
	s, ok := readState(cs)
	if !ok {
		return 0, nil
	}
	node := nodeInfo.Node()
	return s.score(node.Name, node.Labels[metadata.LabelTopologyZone], p.settings), nil
}

// ScoreExtensions returns the plugin, which normalizes its scores.
func (p *Plugin) ScoreExtensions() fwk.ScoreExtensions { return p }

// NormalizeScore scales the raw sums to the framework's range, the best
// node getting MaxScore.
func (p *Plugin) NormalizeScore(_ context.Context, _ fwk.CycleState, _ *corev1.Pod, scores fwk.NodeScoreList) *fwk.Status {
	var best int64
	for _, s := range scores {
		best = max(best, s.Score)
	}
	if best == 0 {
		return nil
	}
	for i := range scores {
		scores[i].Score = scores[i].Score * fwk.MaxScore / best
	}
	return nil
}
