package mutation

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/linstor-ha/linstor-ha/pkg/metadata"
)

// Facts are what the webhook learned about the pod from the cluster.
type Facts struct {
	// DataZones are the zones holding fresh UpToDate data of the pod's
	// volumes, in a stable order.
	DataZones []string
	// WorkloadLabels select the pods of the pod's StatefulSet or
	// Deployment; empty when the pod has no such owner.
	WorkloadLabels map[string]string
}

// zoneAffinityWeight is strong enough to matter next to the default
// scoring plugins, and leaves room for weights users write.
const zoneAffinityWeight = 50

// Mutate changes pod in place and returns the names of the changes made,
// empty when there was nothing to do. Whatever the user wrote is kept, and
// running it again on its own output changes nothing.
func Mutate(pod *corev1.Pod, facts Facts, cfg *Config) []string {
	var changes []string
	if cfg.SetScheduler && (pod.Spec.SchedulerName == "" || pod.Spec.SchedulerName == corev1.DefaultSchedulerName) {
		pod.Spec.SchedulerName = cfg.SchedulerName
		changes = append(changes, "schedulerName")
	}
	if cfg.SetTolerations && shortenTolerations(pod, cfg.TolerationSeconds) {
		changes = append(changes, "tolerations")
	}
	if cfg.SpreadZones && addZoneSpread(pod, facts.WorkloadLabels) {
		changes = append(changes, "topologySpreadConstraints")
	}
	if cfg.PreferDataZones && addZoneAffinity(pod, facts.DataZones) {
		changes = append(changes, "affinity")
	}
	if len(changes) > 0 {
		if pod.Annotations == nil {
			pod.Annotations = map[string]string{}
		}
		pod.Annotations[metadata.AnnotationMutated] = "true"
	}
	return changes
}

// shortenTolerations sets the NoExecute not-ready and unreachable
// tolerations to seconds. Those the DefaultTolerationSeconds admission
// plugin added (300 s, operator Exists, no value) are shortened; a
// toleration with other settings is the user's and stays.
func shortenTolerations(pod *corev1.Pod, seconds int64) bool {
	changed := false
	for _, key := range []string{corev1.TaintNodeNotReady, corev1.TaintNodeUnreachable} {
		i := slices.IndexFunc(pod.Spec.Tolerations, func(t corev1.Toleration) bool {
			return t.Key == key && (t.Effect == corev1.TaintEffectNoExecute || t.Effect == "")
		})
		if i < 0 {
			pod.Spec.Tolerations = append(pod.Spec.Tolerations, corev1.Toleration{
				Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To(seconds),
			})
			changed = true
			continue
		}
		t := &pod.Spec.Tolerations[i]
		if isDefaultToleration(t) && *t.TolerationSeconds != seconds {
			t.TolerationSeconds = ptr.To(seconds)
			changed = true
		}
	}
	return changed
}

// defaultTolerationSeconds is what the DefaultTolerationSeconds admission
// plugin gives unless the API server is configured otherwise.
const defaultTolerationSeconds = 300

func isDefaultToleration(t *corev1.Toleration) bool {
	return t.Operator == corev1.TolerationOpExists && t.Value == "" && t.Effect == corev1.TaintEffectNoExecute &&
		t.TolerationSeconds != nil && *t.TolerationSeconds == defaultTolerationSeconds
}

// addZoneSpread spreads the workload's pods over zones, as a preference:
// a zone that is down must not keep a replacement from starting.
func addZoneSpread(pod *corev1.Pod, workload map[string]string) bool {
	if len(workload) == 0 {
		return false
	}
	for _, c := range pod.Spec.TopologySpreadConstraints {
		if c.TopologyKey == metadata.LabelTopologyZone {
			return false
		}
	}
	pod.Spec.TopologySpreadConstraints = append(pod.Spec.TopologySpreadConstraints, corev1.TopologySpreadConstraint{
		MaxSkew:           1,
		TopologyKey:       metadata.LabelTopologyZone,
		WhenUnsatisfiable: corev1.ScheduleAnyway,
		LabelSelector:     &metav1.LabelSelector{MatchLabels: workload},
	})
	return true
}

// addZoneAffinity prefers the zones that hold the volumes' data. It never
// touches required terms, and adds nothing when the user already prefers
// by zone.
func addZoneAffinity(pod *corev1.Pod, zones []string) bool {
	if len(zones) == 0 {
		return false
	}
	if a := pod.Spec.Affinity; a != nil && a.NodeAffinity != nil {
		for _, term := range a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
			for _, e := range term.Preference.MatchExpressions {
				if e.Key == metadata.LabelTopologyZone {
					return false
				}
			}
		}
	}
	if pod.Spec.Affinity == nil {
		pod.Spec.Affinity = &corev1.Affinity{}
	}
	if pod.Spec.Affinity.NodeAffinity == nil {
		pod.Spec.Affinity.NodeAffinity = &corev1.NodeAffinity{}
	}
	na := pod.Spec.Affinity.NodeAffinity
	na.PreferredDuringSchedulingIgnoredDuringExecution = append(na.PreferredDuringSchedulingIgnoredDuringExecution, corev1.PreferredSchedulingTerm{
		Weight: zoneAffinityWeight,
		Preference: corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{
			Key: metadata.LabelTopologyZone, Operator: corev1.NodeSelectorOpIn, Values: slices.Clone(zones),
		}}},
	})
	return true
}
