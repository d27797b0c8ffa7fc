package replicas

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/linstor-ha/linstor-ha/pkg/apis/linstorha/v1alpha1"
)

// FuzzIndexHostileReports feeds the index reports with absurd contents:
// duplicate and empty names, clocks far off, unknown disk states, huge
// lists. Whatever a report says, it speaks only for its own node, an
// unsynced report proves nothing, and nothing panics.
func FuzzIndexHostileReports(f *testing.F) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	f.Add([]byte(`{"metadata":{"name":"node-a","resourceVersion":"5"},"status":{"synced":true,"zone":"room-a","heartbeatTime":"2026-11-22T12:00:00.000000Z","resources":[{"name":"pvc-1","disk":"UpToDate","quorum":true}]}}`))
	f.Add([]byte(`{"metadata":{"name":"node-b","resourceVersion":"x"},"status":{"synced":false,"heartbeatTime":"2999-01-01T00:00:00.000000Z","resources":[{"name":"pvc-1","disk":"UpToDate","quorum":true},{"name":"pvc-1","disk":"Outdated"}]}}`))
	f.Add([]byte(`{"metadata":{"name":""},"status":{"synced":true,"resources":[{"name":"","disk":"Diskless","client":true,"quorum":true,"suspended":["user"]}]}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var rr v1alpha1.ReplicaReport
		if json.Unmarshal(raw, &rr) != nil {
			return
		}
		ix := NewIndex()
		ix.Set(&rr)
		ix.Set(&rr) // a report seen twice changes nothing
		for i := range rr.Status.Resources {
			res := rr.Status.Resources[i].Name
			for _, r := range ix.Replicas(res) {
				if r.Node != rr.Name {
					t.Fatalf("report %q placed a replica of %s on node %q", rr.Name, res, r.Node)
				}
				if !rr.Status.Synced && r.Health != Unknown {
					t.Fatalf("unsynced report gave %s on %s health %s", res, r.Node, r.Health)
				}
			}
			for _, z := range ZonesWithData(ix.Replicas(res), now, 20*time.Second) {
				if z != rr.Status.Zone {
					t.Fatalf("zone %q with data, but the only report is from zone %q", z, rr.Status.Zone)
				}
			}
		}
		if hb := ix.Heartbeat(rr.Name); !rr.Status.Synced && !hb.IsZero() {
			t.Fatalf("unsynced report set a heartbeat")
		}
		ix.Delete(rr.Name)
		for i := range rr.Status.Resources {
			if n := len(ix.Replicas(rr.Status.Resources[i].Name)); n != 0 {
				t.Fatalf("%d replicas left after deleting the only report", n)
			}
		}
	})
}
