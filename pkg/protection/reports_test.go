package protection_test

import (
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/linstor-ha/linstor-ha/pkg/apis/linstorha/v1alpha1"
	"github.com/linstor-ha/linstor-ha/pkg/protection"
)

func nodeReport(node, zone string, synced bool, res ...v1alpha1.ResourceReport) v1alpha1.ReplicaReport {
	return v1alpha1.ReplicaReport{
		ObjectMeta: metav1.ObjectMeta{Name: node},
		Status:     v1alpha1.ReplicaReportStatus{NodeName: node, Zone: zone, Synced: synced, Resources: res},
	}
}

func TestFromReports(t *testing.T) {
	pvc := func(disk string) v1alpha1.ResourceReport {
		return v1alpha1.ResourceReport{Name: "pvc-1", Disk: disk, Quorum: true}
	}
	client := v1alpha1.ResourceReport{Name: "pvc-1", Disk: "Diskless", Diskless: true, Client: true, Quorum: true}
	detached := v1alpha1.ResourceReport{Name: "pvc-1", Disk: "Diskless", Diskless: true, Quorum: true}
	noMetadata := nodeReport("", "room-e", true, pvc("UpToDate"))
	noMetadata.Status.NodeName = "e1"

	reports := []v1alpha1.ReplicaReport{
		nodeReport("a1", "room-a", true, v1alpha1.ResourceReport{Name: "pvc-other", Disk: "UpToDate"}, pvc("UpToDate")),
		nodeReport("b1", "room-b", true, pvc("Outdated")),
		nodeReport("t1", "room-c", true, client),
		nodeReport("c1", "", false, pvc("UpToDate")),
		nodeReport("d1", "room-d", true, detached),
		nodeReport("x1", "room-x", true, v1alpha1.ResourceReport{Name: "pvc-other", Disk: "UpToDate"}),
		noMetadata,
	}
	got := protection.FromReports("pvc-1", reports)
	want := []protection.Replica{
		upToDate("a1", "room-a"),
		stale("b1", "room-b"),
		tiebreaker("t1", "room-c"),
		// An unsynced report places the replica but proves nothing of its
		// data.
		stale("c1", ""),
		// A detached disk still votes.
		stale("d1", "room-d"),
		upToDate("e1", "room-e"),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if got := protection.FromReports("pvc-none", reports); got != nil {
		t.Errorf("unknown resource: got %+v, want nil", got)
	}
}

// TestFromReportsToSummary goes from reports to the one-word summary, as
// the webhook and the CLI do.
func TestFromReportsToSummary(t *testing.T) {
	pvc := v1alpha1.ResourceReport{Name: "pvc-1", Disk: "UpToDate", Quorum: true}
	tb := v1alpha1.ResourceReport{Name: "pvc-1", Disk: "Diskless", Diskless: true, Client: true, Quorum: true}
	for _, tc := range []struct {
		name    string
		reports []v1alpha1.ReplicaReport
		want    protection.Summary
	}{
		{"tiebreaker in a third room", []v1alpha1.ReplicaReport{
			nodeReport("a1", "room-a", true, pvc), nodeReport("b1", "room-b", true, pvc), nodeReport("t1", "room-c", true, tb)}, protection.ZoneSafe},
		{"tiebreaker next to a diskful replica", []v1alpha1.ReplicaReport{
			nodeReport("a1", "room-a", true, pvc), nodeReport("b1", "room-b", true, pvc), nodeReport("t1", "room-a", true, tb)}, protection.NodeSafe},
		{"no report", nil, protection.Unknown},
	} {
		if got := protection.Compute(protection.FromReports("pvc-1", tc.reports)).Summary; got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestFromResourceReport(t *testing.T) {
	res := &v1alpha1.ResourceReport{
		Name: "pvc-1", Disk: "UpToDate", Quorum: true,
		Peers: []v1alpha1.PeerReport{
			{Name: "b1", Connection: "Connected", Disk: "UpToDate"},
			{Name: "c1", Connection: "Connected", Disk: "Inconsistent"},
			{Name: "t1", Connection: "Connected", Disk: "Diskless", Client: true},
			// A peer not connected now: its disk is unknown.
			{Name: "d1", Connection: "Connecting", Disk: "DUnknown"},
		},
	}
	zones := map[string]string{"b1": "room-b", "t1": "room-c"}
	got := protection.FromResourceReport("a1", "room-a", res, func(node string) string { return zones[node] })
	want := []protection.Replica{
		upToDate("a1", "room-a"),
		upToDate("b1", "room-b"),
		stale("c1", ""),
		tiebreaker("t1", "room-c"),
		stale("d1", ""),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}

	// Without a zone lookup every peer's zone is unknown.
	got = protection.FromResourceReport("a1", "room-a", res, nil)
	for _, r := range got[1:] {
		if r.Zone != "" {
			t.Errorf("peer %s: zone %q without a lookup", r.Node, r.Zone)
		}
	}
	if got[0].Zone != "room-a" {
		t.Errorf("own replica: zone %q, want room-a", got[0].Zone)
	}

	// A diskless node sees itself as such.
	self := protection.FromResourceReport("t1", "room-c", &v1alpha1.ResourceReport{Name: "pvc-1", Disk: "Diskless", Diskless: true, Client: true}, nil)
	if want := []protection.Replica{tiebreaker("t1", "room-c")}; !reflect.DeepEqual(self, want) {
		t.Errorf("diskless node: got %+v, want %+v", self, want)
	}

	if got := protection.FromResourceReport("a1", "room-a", nil, nil); got != nil {
		t.Errorf("no resource: got %+v, want nil", got)
	}
}
