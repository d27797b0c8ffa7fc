package drbdreplicas

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/linstor-ha/linstor-ha/pkg/replicas"
)

func TestReportChangedHint(t *testing.T) {
	report := func(heartbeat, disk string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"metadata": map[string]any{"name": "a1"},
			"status": map[string]any{
				"heartbeatTime": heartbeat, "synced": true, "zone": "room-a",
				"resources": []any{map[string]any{"name": "r1", "disk": disk, "quorum": true}},
			},
		}}
	}
	for _, tc := range []struct {
		name     string
		old, cur any
		want     fwk.QueueingHint
	}{
		{"heartbeat only", report("t1", "UpToDate"), report("t2", "UpToDate"), fwk.QueueSkip},
		{"disk state changed", report("t1", "Outdated"), report("t2", "UpToDate"), fwk.Queue},
		{"unexpected objects", nil, report("t2", "UpToDate"), fwk.Queue},
	} {
		p := &Plugin{index: replicas.NewIndex()}
		got, err := p.reportChanged(klog.Background(), nil, tc.old, tc.cur)
		if err != nil || got != tc.want {
			t.Errorf("%s: got %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
}

// TestHintTeachesTheIndex: the report of an event is in the index before
// the pod is retried, even when the plugin's own watch lags.
func TestHintTeachesTheIndex(t *testing.T) {
	p := &Plugin{index: replicas.NewIndex()}
	report := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "linstor-ha.io/v1alpha1", "kind": "ReplicaReport",
		"metadata": map[string]any{"name": "a1", "resourceVersion": "7"},
		"status": map[string]any{"zone": "room-a", "synced": true, "heartbeatTime": "2026-11-22T12:00:00.000000Z",
			"resources": []any{map[string]any{"name": "r1", "disk": "UpToDate", "quorum": true}}},
	}}
	if hint, _ := p.reportAddedOrDeleted(klog.Background(), nil, nil, report); hint != fwk.Queue {
		t.Fatalf("add: %v", hint)
	}
	if got := p.index.Replicas("r1"); len(got) != 1 || got[0].Health != replicas.UpToDate {
		t.Fatalf("after the add event the index holds %v", got)
	}
	if _, _ = p.reportAddedOrDeleted(klog.Background(), nil, report, nil); p.index.Replicas("r1") != nil {
		t.Fatal("after the delete event the index still holds r1")
	}
}
