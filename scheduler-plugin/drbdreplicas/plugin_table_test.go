package drbdreplicas

import (
	"reflect"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/linstor-ha/linstor-ha/pkg/metadata"
)

func TestPlacement(t *testing.T) {
	all := func(names ...string) map[string]bool {
		m := map[string]bool{}
		for _, n := range names {
			m[n] = true
		}
		return m
	}
	everyNode := all("a1", "a2", "a3", "b1", "b2", "b3")
	for _, tc := range []struct {
		name      string
		layout    map[string][]replicaSpec
		stale     map[string]bool
		missing   map[string]bool
		args      runtime.Object
		pod       func() []string // claims
		strictPod bool
		want      outcome
	}{{
		name:   "healthy replicas: data best, then its zone, a tiebreaker a little more",
		layout: map[string][]replicaSpec{"r1": defaultLayout("r1")},
		want:   outcome{scores: map[string]int64{"a1": 100, "b1": 100, "a2": 40, "a3": 60, "b2": 40, "b3": 40}},
	}, {
		name:   "an Outdated replica rejects its node and its zone loses the bonus",
		layout: map[string][]replicaSpec{"r1": {{"a1", "UpToDate"}, {"b1", "Outdated"}, {"a3", "Tiebreaker"}}},
		want:   outcome{rejected: []string{"b1"}, scores: map[string]int64{"a1": 100, "a2": 40, "a3": 60, "b2": 0, "b3": 0}},
	}, {
		name:   "an Inconsistent replica rejects its node",
		layout: map[string][]replicaSpec{"r1": {{"a1", "Inconsistent"}, {"b1", "UpToDate"}, {"a3", "Tiebreaker"}}},
		want:   outcome{rejected: []string{"a1"}, scores: map[string]int64{"b1": 100, "a2": 0, "a3": 20, "b2": 40, "b3": 40}},
	}, {
		name:   "a replica without quorum rejects its node",
		layout: map[string][]replicaSpec{"r1": {{"a1", "NoQuorum"}, {"b1", "UpToDate"}, {"a3", "Tiebreaker"}}},
		want:   outcome{rejected: []string{"a1"}, scores: map[string]int64{"b1": 100, "a2": 0, "a3": 20, "b2": 40, "b3": 40}},
	}, {
		name:   "a replica with I/O suspended rejects its node",
		layout: map[string][]replicaSpec{"r1": {{"a1", "Suspended"}, {"b1", "UpToDate"}, {"a3", "Tiebreaker"}}},
		want:   outcome{rejected: []string{"a1"}, scores: map[string]int64{"b1": 100, "a2": 0, "a3": 20, "b2": 40, "b3": 40}},
	}, {
		name:   "a stale report is unknown: no rejection, no score",
		layout: map[string][]replicaSpec{"r1": {{"a1", "UpToDate"}, {"b1", "Outdated"}, {"a3", "Tiebreaker"}}},
		stale:  all("b1"),
		want:   outcome{scores: map[string]int64{"a1": 100, "a2": 40, "a3": 60, "b1": 0, "b2": 0, "b3": 0}},
	}, {
		name:   "strict args accept only nodes with UpToDate data",
		layout: map[string][]replicaSpec{"r1": defaultLayout("r1")},
		args:   &Args{Strict: ptr.To(true)},
		want:   outcome{rejected: []string{"a2", "a3", "b2", "b3"}, scores: map[string]int64{"a1": 100, "b1": 100}},
	}, {
		name:      "strict by pod annotation",
		layout:    map[string][]replicaSpec{"r1": defaultLayout("r1")},
		strictPod: true,
		want:      outcome{rejected: []string{"a2", "a3", "b2", "b3"}, scores: map[string]int64{"a1": 100, "b1": 100}},
	}, {
		name:      "strict never rejects a node whose report is stale or missing",
		layout:    map[string][]replicaSpec{"r1": defaultLayout("r1")},
		stale:     all("b2"),
		missing:   all("b3"),
		strictPod: true,
		want:      outcome{rejected: []string{"a2", "a3"}, scores: map[string]int64{"a1": 100, "b1": 100, "b2": 40, "b3": 40}},
	}, {
		name:      "strict without UpToDate data anywhere rejects nothing",
		layout:    map[string][]replicaSpec{"r1": {{"a3", "Tiebreaker"}}},
		strictPod: true,
		want:      outcome{scores: map[string]int64{"a1": 0, "a2": 0, "a3": 100, "b1": 0, "b2": 0, "b3": 0}},
	}, {
		name:    "no reports at all: nothing rejected, scoring skipped",
		layout:  map[string][]replicaSpec{"r1": defaultLayout("r1")},
		missing: everyNode,
		want:    outcome{},
	}, {
		name:      "every report stale, even in strict mode: nothing rejected, scoring skipped",
		layout:    map[string][]replicaSpec{"r1": {{"a1", "Outdated"}, {"b1", "UpToDate"}}},
		stale:     everyNode,
		strictPod: true,
		want:      outcome{},
	}, {
		name:   "two volumes: scores add up",
		layout: map[string][]replicaSpec{"r1": defaultLayout("r1"), "r2": {{"a1", "UpToDate"}, {"b2", "UpToDate"}}},
		pod:    func() []string { return []string{"claim-r1", "claim-r2"} },
		want:   outcome{scores: map[string]int64{"a1": 100, "b1": 70, "a2": 40, "a3": 50, "b2": 70, "b3": 40}},
	}, {
		name:   "a pod without volumes is skipped",
		layout: map[string][]replicaSpec{"r1": defaultLayout("r1")},
		pod:    func() []string { return nil },
		want:   outcome{preFilterSkip: true},
	}, {
		name:   "unbound claims of our driver, other drivers' and missing claims are skipped",
		layout: map[string][]replicaSpec{"r1": {{"a1", "Outdated"}}},
		pod:    func() []string { return []string{"pending", "foreign", "does-not-exist"} },
		want:   outcome{preFilterSkip: true},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			ix := buildIndex(tc.layout, tc.stale, tc.missing)
			var resources []string
			for res := range tc.layout {
				resources = append(resources, res)
			}
			f, infos := testFramework(t, ix, tc.args, storageObjects(resources...))
			claims := []string{"claim-r1"}
			if tc.pod != nil {
				claims = tc.pod()
			}
			pod := podWithClaims(claims...)
			if tc.strictPod {
				pod.Annotations = map[string]string{metadata.AnnotationStrictPlacement: "true"}
			}
			got := schedule(t, f, infos, pod)
			slices.Sort(got.rejected)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
