package failover

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	"github.com/linstor-ha/linstor-ha/csi-sidecar/conflict"
	"github.com/linstor-ha/linstor-ha/pkg/metadata"
)

// conflict records that another fail-over actor runs (pods), or no more:
// the gauge on every evaluation, a log line whenever its pods change, and
// one Warning Event on this node when the refusal to act begins. Each
// evaluation would otherwise say it again; a DaemonSet's pods replaced one
// by one are the same refusal going on. held is how many actions the
// decision held back.
func (r *recorder) conflict(ctx context.Context, node string, pods []types.NamespacedName, held int) {
	r.metrics.ConflictingActorPods.Set(float64(len(pods)))
	if slices.Equal(pods, r.conflicting) {
		return
	}
	logger := klog.FromContext(ctx)
	was := r.conflicting
	r.conflicting = slices.Clone(pods)
	switch {
	case len(pods) == 0:
		logger.Info("No other fail-over actor runs any more, acting again", "lastPods", podRefs(was))
	case len(was) == 0:
		logger.Info("Not acting: another fail-over actor runs", "pods", podRefs(pods), "heldActions", held)
		r.event(nil, node, "", corev1.EventTypeWarning, metadata.ReasonConflictingFailOverActor, actionFailOver, fmt.Sprintf(
			"another fail-over actor runs (%s): the sidecar on %s takes no fail-over action until it is gone, since two actors void the proof that only the minority side of a split loses its pods; switch Piraeus' HA controller off (spec.highAvailabilityController.enabled: false in the LinstorCluster)",
			conflict.Describe(pods), node))
	default:
		logger.Info("Still not acting: the other fail-over actor's pods changed", "pods", podRefs(pods), "heldActions", held)
	}
}

func podRefs(pods []types.NamespacedName) []klog.ObjectRef {
	out := make([]klog.ObjectRef, len(pods))
	for i, p := range pods {
		out[i] = klog.KRef(p.Namespace, p.Name)
	}
	return out
}
