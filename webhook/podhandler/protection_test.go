package podhandler

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/linstor-ha/linstor-ha/pkg/apis/linstorha/v1alpha1"
	"github.com/linstor-ha/linstor-ha/pkg/protection"
)

func nodeReport(node, zone string, heartbeat time.Time, resources ...v1alpha1.ResourceReport) *v1alpha1.ReplicaReport {
	return &v1alpha1.ReplicaReport{ObjectMeta: metav1.ObjectMeta{Name: node}, Status: v1alpha1.ReplicaReportStatus{
		NodeName: node, Zone: zone, Synced: true, HeartbeatTime: metav1.NewMicroTime(heartbeat), Resources: resources}}
}

var (
	diskful    = v1alpha1.ResourceReport{Name: "r1", Disk: "UpToDate", Quorum: true}
	tiebreaker = v1alpha1.ResourceReport{Name: "r1", Disk: "Diskless", Diskless: true, Client: true, Quorum: true}
)

// indexOf returns an index of the reports, all fresh at now.
func indexOf(reports ...*v1alpha1.ReplicaReport) *ProtectionIndex {
	ix := NewProtectionIndex()
	for _, rr := range reports {
		ix.Set(rr)
	}
	return ix
}

func TestProtectionWarning(t *testing.T) {
	hb := now.Add(-time.Second)
	for _, tc := range []struct {
		name    string
		reports []*v1alpha1.ReplicaReport
		// want holds text the warning must contain; nil: no warning.
		want []string
	}{
		{
			name:    "tiebreaker in a third room: no warning",
			reports: []*v1alpha1.ReplicaReport{nodeReport("a1", "room-a", hb, diskful), nodeReport("b1", "room-b", hb, diskful), nodeReport("c1", "room-c", hb, tiebreaker)},
		},
		{
			name:    "tiebreaker in room-a next to a diskful replica",
			reports: []*v1alpha1.ReplicaReport{nodeReport("a1", "room-a", hb, diskful), nodeReport("a2", "room-a", hb, tiebreaker), nodeReport("b1", "room-b", hb, diskful)},
			want: []string{
				"linstor-ha: volume r1 would not fail over after the loss of zone room-a: losing zone room-a leaves 1 of 2 diskful replicas and no tiebreaker",
				"To survive a room loss: move the tiebreaker on node a2 to a third zone.",
				"The pod is admitted; `kubectl linstor-ha status r1`",
			},
		},
		{
			name:    "no tiebreaker: not even a node loss",
			reports: []*v1alpha1.ReplicaReport{nodeReport("a1", "room-a", hb, diskful), nodeReport("b1", "room-b", hb, diskful)},
			want:    []string{"after the loss of node a1, node b1, zone room-a, zone room-b: losing node a1", "add a tiebreaker on a third node", "To survive a room loss: add a tiebreaker in a third zone"},
		},
		{
			name: "one zone in the whole cluster: only node losses are worth a warning",
			reports: []*v1alpha1.ReplicaReport{nodeReport("a1", "room-a", hb, diskful), nodeReport("a2", "room-a", hb, tiebreaker), nodeReport("a3", "room-a", hb, diskful),
				nodeReport("a4", "room-a", hb)},
		},
		{
			name:    "a tiebreaker without a zone: the loss of room-a may stop it",
			reports: []*v1alpha1.ReplicaReport{nodeReport("a1", "room-a", hb, diskful), nodeReport("t1", "", hb, tiebreaker), nodeReport("b1", "room-b", hb, diskful)},
			want:    []string{"zone room-a (maybe), zone room-b (maybe)", "set the topology.kubernetes.io/zone label on node t1"},
		},
		{
			// Its data proves nothing: losing a1 leaves no replica known
			// UpToDate.
			name:    "a stale report",
			reports: []*v1alpha1.ReplicaReport{nodeReport("a1", "room-a", hb, diskful), nodeReport("b1", "room-b", now.Add(-time.Hour), diskful), nodeReport("c1", "room-c", hb, tiebreaker)},
			want:    []string{"after the loss of node a1, zone room-a: losing node a1 leaves quorum but no UpToDate data"},
		},
		{
			name: "no report of the volume: nothing known, no warning",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ix := indexOf(tc.reports...)
			got := protectionWarning("r1", ix.Replicas("r1", now, 20*time.Second), ix.Zones())
			if tc.want == nil {
				if got != "" {
					t.Fatalf("warning %q, want none", got)
				}
				return
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("warning %q lacks %q", got, w)
				}
			}
			if len(got) > maxWarning || strings.ContainsAny(got, "\n\r") {
				t.Errorf("warning of %d bytes or with a line break: %q", len(got), got)
			}
		})
	}
}

func TestProtectionIndex(t *testing.T) {
	hb := now.Add(-time.Second)
	ix := indexOf(nodeReport("a1", "room-a", hb, diskful), nodeReport("b1", "room-b", hb, diskful, v1alpha1.ResourceReport{Name: "r2", Disk: "UpToDate"}))
	if got := ix.Replicas("r1", now, 20*time.Second); len(got) != 2 || !got[0].UpToDate || !got[1].UpToDate || ix.Zones() != 2 {
		t.Fatalf("replicas %+v, zones %d; want two UpToDate in two zones", got, ix.Zones())
	}
	// b1's new report no longer lists r1: its replica goes.
	ix.Set(nodeReport("b1", "room-b", hb, v1alpha1.ResourceReport{Name: "r2", Disk: "UpToDate"}))
	if got := ix.Replicas("r1", now, 20*time.Second); len(got) != 1 || got[0].Node != "a1" {
		t.Errorf("after b1 dropped r1: %+v", got)
	}
	// An unsynced report places the replica, proves nothing of its data.
	unsynced := nodeReport("b1", "room-b", hb, diskful)
	unsynced.Status.Synced = false
	ix.Set(unsynced)
	if got := ix.Replicas("r1", now, 20*time.Second); len(got) != 2 || got[1].UpToDate {
		t.Errorf("unsynced b1: %+v, want its replica not UpToDate", got)
	}
	ix.Delete("b1")
	if got := ix.Replicas("r2", now, 20*time.Second); got != nil || ix.Zones() != 1 {
		t.Errorf("after deleting b1: r2 %+v, zones %d", got, ix.Zones())
	}

	// a1's DRBD names a tiebreaker on t1, whose report does not list r1
	// yet: the replicas are not all known, so nothing is judged.
	named := diskful
	named.Peers = []v1alpha1.PeerReport{{Name: "t1"}}
	ix.Set(nodeReport("a1", "room-a", hb, named))
	ix.Set(nodeReport("t1", "room-c", hb))
	if got := ix.Replicas("r1", now, 20*time.Second); got != nil {
		t.Errorf("with t1's replica unreported: %+v, want nil", got)
	}
	ix.Set(nodeReport("t1", "room-c", hb, tiebreaker))
	if got := ix.Replicas("r1", now, 20*time.Second); len(got) != 2 {
		t.Errorf("once t1 reports r1: %+v, want both replicas", got)
	}

	// The informer keeps a slim copy.
	full := nodeReport("a1", "room-a", hb, v1alpha1.ResourceReport{Name: "r1", Disk: "UpToDate", Peers: []v1alpha1.PeerReport{{Name: "b1", Connection: "Connected", Disk: "UpToDate"}}, Suspended: []string{"user"}})
	full.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "sidecar"}}
	obj, err := slimReport(full)
	if err != nil {
		t.Fatal(err)
	}
	slim := obj.(*v1alpha1.ReplicaReport)
	if slim.ManagedFields != nil || !reflect.DeepEqual(slim.Status.Resources[0].Peers, []v1alpha1.PeerReport{{Name: "b1"}}) || slim.Status.Resources[0].Suspended != nil ||
		slim.Status.Zone != "room-a" || !slim.Status.Synced || slim.Status.Resources[0].Disk != "UpToDate" {
		t.Errorf("slim report %+v", slim)
	}
}

func TestProtectionHandlerWarns(t *testing.T) {
	hb := now.Add(-time.Second)
	stuck := indexOf(nodeReport("a1", "room-a", hb, diskful), nodeReport("a2", "room-a", hb, tiebreaker), nodeReport("b1", "room-b", hb, diskful))
	for _, tc := range []struct {
		name  string
		index *ProtectionIndex
		warn  bool
	}{
		{"volume stuck with room-a", stuck, true},
		{"no index: no protection warning", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHandler(fake.NewClientBuilder().WithObjects(clusterObjects()...).Build())
			h.Protection = tc.index
			resp := h.Handle(context.Background(), request(t, podWith("app", claim("bound")), "CREATE"))
			if !resp.Allowed || len(resp.Patches) == 0 {
				t.Fatalf("pod not admitted and mutated: %+v", resp.AdmissionResponse)
			}
			warned := len(resp.Warnings) == 1 && strings.Contains(resp.Warnings[0], "volume r1 would not fail over after the loss of zone room-a")
			if warned != tc.warn {
				t.Errorf("warnings %q, want a protection warning: %v", resp.Warnings, tc.warn)
			}
			want := 0.0
			if tc.warn {
				want = 1
			}
			if got := testutil.ToFloat64(h.Metrics.ProtectionWarnings); got != want {
				t.Errorf("linstor_ha_webhook_protection_warnings_total = %v, want %v", got, want)
			}
		})
	}
}

// BenchmarkProtectionWarning measures what a warning costs the admission
// of a pod whose volume would not survive a room loss: the analysis and
// the search for fixes.
func BenchmarkProtectionWarning(b *testing.B) {
	rs := []protection.Replica{
		{Node: "a1", Zone: "room-a", Diskful: true, UpToDate: true}, {Node: "a2", Zone: "room-a"}, {Node: "b1", Zone: "room-b", Diskful: true, UpToDate: true},
	}
	for b.Loop() {
		if protectionWarning("r1", rs, 2) == "" {
			b.Fatal("no warning")
		}
	}
}
