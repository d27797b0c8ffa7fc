package failover

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"

	"github.com/linstor-ha/linstor-ha/csi-sidecar/metrics"
	"github.com/linstor-ha/linstor-ha/pkg/metadata"
)

// recorder turns what a decision led to into log lines, metrics and
// Events. A refusal or a notice that lasts across evaluations is recorded
// once, and once more if it goes away and comes back.
type recorder struct {
	events  events.EventRecorder
	metrics *metrics.Metrics
	dryRun  bool

	refused map[string]bool // refusals already recorded
	noticed map[string]bool // notices already recorded
	// conflicting are the other fail-over actor's pods last recorded.
	conflicting []types.NamespacedName
}

// outcome records an action that was done, failed with err, or in dry-run
// mode would have been done; lost tells since when its peer was lost. It
// reports whether the action is done.
func (r *recorder) outcome(ctx context.Context, a Action, err error, lost map[Key]time.Time) bool {
	logger := klog.FromContext(ctx).WithValues(actionKeys(a)...)
	if r.dryRun {
		logger.Info("Dry run: would act", "message", a.Message)
		r.event(a.Pod, a.Node, a.Attachment, corev1.EventTypeNormal, metadata.ReasonFailOverDryRun, string(a.Kind), fmt.Sprintf("would %s: %s", a.Kind, a.Message))
		r.metrics.Actions.WithLabelValues(string(a.Kind), "dry-run").Inc()
		return true
	}
	if err != nil {
		logger.Error(err, "Failed to act")
		r.metrics.Actions.WithLabelValues(string(a.Kind), "failed").Inc()
		r.metrics.APIErrors.WithLabelValues(string(a.Kind)).Inc()
		return false
	}
	logger.Info("Acted", "message", a.Message)
	r.metrics.Actions.WithLabelValues(string(a.Kind), "done").Inc()
	if since, ok := lost[Key{Resource: a.Resource, Node: a.Node}]; ok && a.Kind == DeletePod {
		r.metrics.DetectionToAction.Observe(time.Since(since).Seconds())
	}
	if !quietKinds[a.Kind] && !summedUpKinds[a.Kind] {
		r.event(a.Pod, a.Node, a.Attachment, corev1.EventTypeNormal, a.Reason, string(a.Kind), a.Message)
	}
	return true
}

// summedUpKinds are the actions recorded in one Event per node and phase
// (see sumUp): a room's loss removes a hundred VolumeAttachments from each
// lost node within a second, and an Event each doubled the writes of
// moving a pod while saying the same thing a hundred times.
var summedUpKinds = map[ActionKind]bool{DeleteAttachment: true}

// sumUp records the summed-up actions of a phase that were done, outcomes
// giving each one's by its index: one Event per kind and node, regarding
// the node. A single action's Event is the one it would have alone,
// related to its VolumeAttachment; several are listed by volume in one
// note.
func (r *recorder) sumUp(batch []Action, outcomes map[int]bool) {
	if r.dryRun {
		return // every action was recorded as it would have been done
	}
	type group struct {
		kind ActionKind
		node string
	}
	var order []group
	done := map[group][]Action{}
	for i, a := range batch {
		if !summedUpKinds[a.Kind] || !outcomes[i] {
			continue
		}
		g := group{a.Kind, a.Node}
		if _, ok := done[g]; !ok {
			order = append(order, g)
		}
		done[g] = append(done[g], a)
	}
	for _, g := range order {
		actions := done[g]
		first := actions[0]
		if len(actions) == 1 {
			r.event(first.Pod, first.Node, first.Attachment, corev1.EventTypeNormal, first.Reason, string(first.Kind), first.Message)
			continue
		}
		volumes := make([]string, len(actions))
		for i, a := range actions {
			volumes[i] = cmp.Or(a.PV, a.Resource)
		}
		slices.Sort(volumes)
		r.event(nil, g.node, "", corev1.EventTypeNormal, first.Reason, string(g.kind),
			fmt.Sprintf("%d volumes are detachable from %s, their VolumeAttachments removed: %s", len(volumes), g.node, strings.Join(volumes, ", ")))
	}
}

// quietKinds are the steps of making a volume detachable that the
// VolumeAttachment's own Event already tells: an Event each would double
// the API writes of a room's fail-over and say nothing new. They are
// logged and counted like every action.
var quietKinds = map[ActionKind]bool{ReleaseVolume: true, RemoveAttacherFinalizer: true}

// actionKeys are the log keys that name what an action touches.
func actionKeys(a Action) []any {
	kv := []any{"action", a.Kind, "node", a.Node, "resource", a.Resource}
	if a.Taint != "" {
		kv = append(kv, "taint", a.Taint)
	}
	if a.Pod != nil {
		kv = append(kv, "pod", klog.KRef(a.Pod.Namespace, a.Pod.Name))
	}
	if a.Attachment != "" {
		kv = append(kv, "volumeAttachment", a.Attachment)
	}
	return kv
}

// refusals records the refusals of a decision that were not recorded yet.
func (r *recorder) refusals(ctx context.Context, refusals []Refusal) {
	logger := klog.FromContext(ctx)
	r.refused = recordOnce(r.refused, refusals, func(f Refusal) string {
		return f.Reason + "/" + f.Resource + "/" + f.Node + "/" + podUID(f.Pod)
	}, func(f Refusal) {
		kv := []any{"reason", f.Reason, "node", f.Node, "resource", f.Resource, "message", f.Message}
		if f.Pod != nil {
			kv = append(kv, "pod", klog.KRef(f.Pod.Namespace, f.Pod.Name))
		}
		logger.Info("Not failing over", kv...)
		r.metrics.Refusals.WithLabelValues(f.Reason).Inc()
		r.event(f.Pod, f.Node, "", corev1.EventTypeWarning, metadata.ReasonFailOverRefused, actionFailOver, f.Reason+": "+f.Message)
	})
}

// notices records the notices of a decision that were not recorded yet.
func (r *recorder) notices(ctx context.Context, notices []Notice) {
	logger := klog.FromContext(ctx)
	r.noticed = recordOnce(r.noticed, notices, func(n Notice) string {
		return n.Reason + "/" + n.Resource + "/" + n.Node
	}, func(n Notice) {
		logger.Info("Replica lost, nothing to fail over", "node", n.Node, "resource", n.Resource, "message", n.Message)
		r.event(nil, n.Node, "", corev1.EventTypeWarning, n.Reason, actionObserve, n.Message)
	})
}

// recordOnce records each item whose key was not in recorded, and returns
// the keys of items.
func recordOnce[T any](recorded map[string]bool, items []T, key func(T) string, record func(T)) map[string]bool {
	now := make(map[string]bool, len(items))
	for _, it := range items {
		k := key(it)
		if !recorded[k] && !now[k] {
			record(it)
		}
		now[k] = true
	}
	return now
}

// The actions of Events that record no action of a decision.
const (
	// actionFailOver is the fail-over that a refusal or another actor
	// held back.
	actionFailOver = "FailOver"
	// actionObserve is a replica's loss seen with nothing to act on.
	actionObserve = "Observe"
)

// noteLimit is the size the API server accepts for an Event's note.
const noteLimit = 1024

// event records an Event (events.k8s.io/v1) regarding the pod, or else the
// node, with what it relates to: the VolumeAttachment it concerns, or
// else, for a pod's Event, the node whose loss it is about, so that both
// objects' Events tell it.
func (r *recorder) event(p *Pod, node, attachment, typ, reason, action, note string) {
	nodeRef := &corev1.ObjectReference{Kind: "Node", Name: node, UID: types.UID(node), APIVersion: "v1"}
	var regarding, related runtime.Object = nodeRef, nil
	if p != nil {
		regarding = &corev1.ObjectReference{Kind: "Pod", Namespace: p.Namespace, Name: p.Name, UID: p.UID, APIVersion: "v1"}
		related = nodeRef
	}
	if attachment != "" {
		related = &corev1.ObjectReference{Kind: "VolumeAttachment", Name: attachment, APIVersion: "storage.k8s.io/v1"}
	}
	if len(note) > noteLimit {
		note = strings.ToValidUTF8(note[:noteLimit-len("...")], "") + "..."
	}
	r.events.Eventf(regarding, related, typ, reason, action, "%s", note)
}

func podUID(p *Pod) string {
	if p == nil {
		return ""
	}
	return string(p.UID)
}
