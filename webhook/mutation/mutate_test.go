package mutation

import (
	"encoding/json"
	"reflect"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/linstor-ha/linstor-ha/pkg/metadata"
)

func allOn() *Config {
	return &Config{SetScheduler: true, SchedulerName: metadata.SchedulerName, SetTolerations: true, TolerationSeconds: 30, SpreadZones: true, PreferDataZones: true}
}

// defaulted is a pod as the API server hands it to the webhook: the
// DefaultTolerationSeconds plugin has added its 300 s tolerations.
func defaulted() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "db-0", Labels: map[string]string{"app": "db", "controller-revision-hash": "db-5d8"}},
		Spec: corev1.PodSpec{Tolerations: []corev1.Toleration{
			{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)},
			{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)},
		}},
	}
}

func tolerationSeconds(pod *corev1.Pod, key string) int64 {
	for _, t := range pod.Spec.Tolerations {
		if t.Key == key && t.TolerationSeconds != nil {
			return *t.TolerationSeconds
		}
	}
	return -1
}

func TestMutate(t *testing.T) {
	workload := map[string]string{"app": "db"}
	for _, tc := range []struct {
		name    string
		pod     func() *corev1.Pod
		facts   Facts
		cfg     func() *Config
		changes []string
		check   func(*corev1.Pod) string
	}{{
		name:    "everything on a StatefulSet pod",
		pod:     defaulted,
		facts:   Facts{DataZones: []string{"room-a", "room-b"}, WorkloadLabels: workload},
		changes: []string{"schedulerName", "tolerations", "topologySpreadConstraints", "affinity"},
		check: func(p *corev1.Pod) string {
			if p.Spec.SchedulerName != metadata.SchedulerName {
				return "scheduler not set"
			}
			if tolerationSeconds(p, corev1.TaintNodeNotReady) != 30 || tolerationSeconds(p, corev1.TaintNodeUnreachable) != 30 || len(p.Spec.Tolerations) != 2 {
				return "tolerations not shortened in place"
			}
			c := p.Spec.TopologySpreadConstraints
			if len(c) != 1 || c[0].TopologyKey != metadata.LabelTopologyZone || c[0].WhenUnsatisfiable != corev1.ScheduleAnyway || !reflect.DeepEqual(c[0].LabelSelector.MatchLabels, workload) {
				return "zone spread missing or wrong"
			}
			pref := p.Spec.Affinity.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution
			if len(pref) != 1 || !reflect.DeepEqual(pref[0].Preference.MatchExpressions[0].Values, []string{"room-a", "room-b"}) {
				return "zone affinity missing or wrong"
			}
			if p.Annotations[metadata.AnnotationMutated] != "true" {
				return "mutated annotation missing"
			}
			return ""
		},
	}, {
		name: "annotations the pod had are kept",
		pod: func() *corev1.Pod {
			p := defaulted()
			p.Annotations = map[string]string{"team/owner": "db"}
			return p
		},
		changes: []string{"schedulerName", "tolerations"},
		check: func(p *corev1.Pod) string {
			if p.Annotations["team/owner"] != "db" || p.Annotations[metadata.AnnotationMutated] != "true" {
				return "annotations wrong"
			}
			return ""
		},
	}, {
		name:    "an explicit other scheduler is kept",
		pod:     func() *corev1.Pod { p := defaulted(); p.Spec.SchedulerName = "volcano"; return p },
		changes: []string{"tolerations"},
		check: func(p *corev1.Pod) string {
			if p.Spec.SchedulerName != "volcano" {
				return "scheduler overwritten"
			}
			return ""
		},
	}, {
		name: "default-scheduler is replaced",
		pod: func() *corev1.Pod {
			p := defaulted()
			p.Spec.SchedulerName = corev1.DefaultSchedulerName
			return p
		},
		changes: []string{"schedulerName", "tolerations"},
	}, {
		name: "tolerations the user wrote are kept, missing ones added",
		pod: func() *corev1.Pod {
			p := defaulted()
			p.Spec.Tolerations = []corev1.Toleration{{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](600)}}
			return p
		},
		changes: []string{"schedulerName", "tolerations"},
		check: func(p *corev1.Pod) string {
			if tolerationSeconds(p, corev1.TaintNodeNotReady) != 600 {
				return "user's toleration changed"
			}
			if tolerationSeconds(p, corev1.TaintNodeUnreachable) != 30 {
				return "missing unreachable toleration not added"
			}
			return ""
		},
	}, {
		name: "a user's zone spread and zone preference are kept",
		pod: func() *corev1.Pod {
			p := defaulted()
			p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{MaxSkew: 2, TopologyKey: metadata.LabelTopologyZone, WhenUnsatisfiable: corev1.DoNotSchedule}}
			p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{{
				Weight: 7, Preference: corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: metadata.LabelTopologyZone, Operator: corev1.NodeSelectorOpIn, Values: []string{"room-c"}}}},
			}}}}
			return p
		},
		facts:   Facts{DataZones: []string{"room-a"}, WorkloadLabels: workload},
		changes: []string{"schedulerName", "tolerations"},
		check: func(p *corev1.Pod) string {
			if len(p.Spec.TopologySpreadConstraints) != 1 || p.Spec.TopologySpreadConstraints[0].MaxSkew != 2 {
				return "user's spread changed"
			}
			pref := p.Spec.Affinity.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution
			if len(pref) != 1 || pref[0].Weight != 7 {
				return "user's affinity changed"
			}
			return ""
		},
	}, {
		name: "required affinity is left alone; the preference goes next to it",
		pod: func() *corev1.Pod {
			p := defaulted()
			p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "disk", Operator: corev1.NodeSelectorOpIn, Values: []string{"ssd"}}}}}}}}
			return p
		},
		facts:   Facts{DataZones: []string{"room-b"}},
		changes: []string{"schedulerName", "tolerations", "affinity"},
		check: func(p *corev1.Pod) string {
			na := p.Spec.Affinity.NodeAffinity
			if na.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0].Key != "disk" || len(na.PreferredDuringSchedulingIgnoredDuringExecution) != 1 {
				return "required term changed or preference missing"
			}
			return ""
		},
	}, {
		name:    "no workload, no data zones: no spread, no affinity",
		pod:     defaulted,
		changes: []string{"schedulerName", "tolerations"},
	}, {
		name:  "every mutation switched off: nothing changes, no annotation",
		pod:   defaulted,
		facts: Facts{DataZones: []string{"room-a"}, WorkloadLabels: workload},
		cfg: func() *Config {
			return &Config{SchedulerName: metadata.SchedulerName, TolerationSeconds: 30}
		},
		changes: nil,
		check: func(p *corev1.Pod) string {
			if !reflect.DeepEqual(p, defaulted()) {
				return "pod changed"
			}
			return ""
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := allOn()
			if tc.cfg != nil {
				cfg = tc.cfg()
			}
			pod := tc.pod()
			original, _ := json.Marshal(pod)
			hadAnnotations := len(pod.Annotations) > 0
			got := Mutate(pod, tc.facts, cfg)
			if !reflect.DeepEqual(got, tc.changes) {
				t.Fatalf("changes: got %v, want %v", got, tc.changes)
			}
			if tc.check != nil {
				if msg := tc.check(pod); msg != "" {
					t.Fatal(msg)
				}
			}
			// The patch turns the incoming pod into exactly the mutated one.
			ops, err := json.Marshal(Patch(pod, got, Incoming{HadMetadata: true, HadAnnotations: hadAnnotations}))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) > 0 {
				patch, err := jsonpatch.DecodePatch(ops)
				if err != nil {
					t.Fatal(err)
				}
				patched, err := patch.Apply(original)
				if err != nil {
					t.Fatalf("patch %s does not apply: %v", ops, err)
				}
				var fromPatch corev1.Pod
				if err := json.Unmarshal(patched, &fromPatch); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(&fromPatch, pod) {
					t.Fatalf("patched pod differs from the mutated one:\npatch %s", ops)
				}
			}
			// Idempotent: a second pass over the output changes nothing.
			before, _ := json.Marshal(pod)
			if again := Mutate(pod, tc.facts, cfg); len(again) != 0 {
				t.Fatalf("second pass changed %v", again)
			}
			after, _ := json.Marshal(pod)
			if string(before) != string(after) {
				t.Fatalf("second pass changed the pod:\n%s\n%s", before, after)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	bad := []Config{
		{SetScheduler: true},
		{SetTolerations: true, TolerationSeconds: -1},
		{SetTolerations: true, TolerationSeconds: 7200},
	}
	for _, c := range bad {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
	if err := allOn().Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}
