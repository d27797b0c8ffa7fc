package drbdreplicas

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
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
		got, err := reportChanged(klog.Background(), nil, tc.old, tc.cur)
		if err != nil || got != tc.want {
			t.Errorf("%s: got %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
}
