package drbdreplicas

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/linstor-ha/linstor-ha/pkg/apis/linstorha/v1alpha1"
	"github.com/linstor-ha/linstor-ha/pkg/replicas"
)

// FuzzHostileReports: whatever the reports say, Filter rejects only a node
// whose own report is fresh and synced (a bad replica there, or in strict
// mode no UpToDate data), so stale or unsynced reports never reject; and
// every score stays within the weights.
func FuzzHostileReports(f *testing.F) {
	f.Add([]byte(`[{"metadata":{"name":"node-a","resourceVersion":"1"},"status":{"synced":true,"zone":"room-a","heartbeatTime":"2026-11-22T12:00:00.000000Z","resources":[{"name":"pvc-1","disk":"UpToDate","quorum":true}]}},`+
		`{"metadata":{"name":"node-b","resourceVersion":"2"},"status":{"synced":true,"zone":"room-b","heartbeatTime":"2026-11-22T12:00:00.000000Z","resources":[{"name":"pvc-1","disk":"Outdated","quorum":true}]}}]`), false)
	f.Add([]byte(`[{"metadata":{"name":"node-a"},"status":{"synced":false,"heartbeatTime":"2026-11-22T12:00:00.000000Z","resources":[{"name":"pvc-1","disk":"Failed"}]}}]`), true)
	f.Add([]byte(`[{"metadata":{"name":"node-c"},"status":{"synced":true,"heartbeatTime":"1970-01-01T00:00:00.000000Z","resources":[{"name":"pvc-1","suspended":["quorum"]}]}}]`), true)
	now := time.Date(2026, 11, 22, 12, 0, 5, 0, time.UTC)
	w, err := decodeArgs(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte, strict bool) {
		var reports []v1alpha1.ReplicaReport
		if json.Unmarshal(raw, &reports) != nil || len(reports) > 16 {
			return
		}
		ix := replicas.NewIndex()
		resources := map[string]bool{"pvc-1": true}
		nodes := map[string]*v1alpha1.ReplicaReport{"node-unknown": nil}
		for i := range reports {
			ix.Set(&reports[i])
			nodes[reports[i].Name] = &reports[i]
			for _, r := range reports[i].Status.Resources {
				resources[r.Name] = true
			}
		}
		var names []string
		for r := range resources {
			names = append(names, r)
		}
		s := newPodState(names, ix.Replicas, now, w.staleAfter, strict)
		maxScore := int64(len(names)) * (w.dataWeight + w.zoneWeight + w.disklessWeight)
		for node := range nodes {
			knownNode := replicas.Fresh(ix.Heartbeat(node), now, w.staleAfter)
			if why := s.verdict(node, knownNode); why != "" && !knownNode {
				t.Fatalf("node %s rejected (%s) without a fresh, synced report of its own", node, why)
			}
			if sc := s.score(node, "room-a", w); sc < 0 || sc > maxScore {
				t.Fatalf("node %s scored %d, outside 0..%d", node, sc, maxScore)
			}
		}
	})
}
