package replicas

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/linstor-ha/linstor-ha/pkg/apis/linstorha/v1alpha1"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name string
		res  v1alpha1.ResourceReport
		want Health
	}{
		{"up to date with quorum", v1alpha1.ResourceReport{Disk: "UpToDate", Quorum: true}, UpToDate},
		{"up to date without quorum", v1alpha1.ResourceReport{Disk: "UpToDate"}, Bad},
		{"suspended", v1alpha1.ResourceReport{Disk: "UpToDate", Quorum: true, Suspended: []string{"quorum"}}, Bad},
		{"outdated", v1alpha1.ResourceReport{Disk: "Outdated", Quorum: true}, Bad},
		{"inconsistent", v1alpha1.ResourceReport{Disk: "Inconsistent", Quorum: true}, Bad},
		{"failed", v1alpha1.ResourceReport{Disk: "Failed", Quorum: true}, Bad},
		{"tiebreaker", v1alpha1.ResourceReport{Disk: "Diskless", Diskless: true, Client: true, Quorum: true}, Diskless},
		{"detached disk", v1alpha1.ResourceReport{Disk: "Diskless", Diskless: true, Quorum: true}, Bad},
		{"negotiating", v1alpha1.ResourceReport{Disk: "Negotiating", Quorum: true}, Unknown},
		{"consistent", v1alpha1.ResourceReport{Disk: "Consistent", Quorum: true}, Unknown},
	} {
		if got, _ := Classify(&tc.res); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func report(node, zone string, synced bool, heartbeat time.Time, res ...v1alpha1.ResourceReport) *v1alpha1.ReplicaReport {
	return &v1alpha1.ReplicaReport{
		ObjectMeta: metav1.ObjectMeta{Name: node},
		Status: v1alpha1.ReplicaReportStatus{
			NodeName: node, Zone: zone, Synced: synced, HeartbeatTime: metav1.NewMicroTime(heartbeat), Resources: res,
		},
	}
}

func TestIndex(t *testing.T) {
	now := time.Now()
	good := func(name string) v1alpha1.ResourceReport {
		return v1alpha1.ResourceReport{Name: name, Disk: "UpToDate", Quorum: true}
	}
	ix := NewIndex()
	ix.Set(report("a1", "room-a", true, now, good("r1"), good("r2")))
	ix.Set(report("b1", "room-b", true, now.Add(-time.Minute), good("r1")))
	ix.Set(report("b2", "room-b", false, now, good("r2")))

	kept := ix.Replicas("r1")
	if len(kept) != 2 {
		t.Fatalf("r1: got %v, want replicas on a1 and b1", kept)
	}
	if got := ix.Replicas("r2"); len(got) != 2 || got[1].Health != Unknown {
		t.Fatalf("r2: got %v, want b2 Unknown because its report is not synced", got)
	}
	if got := ZonesWithData(ix.Replicas("r1"), now, 30*time.Second); len(got) != 1 || got[0] != "room-a" {
		t.Fatalf("zones with data for r1: got %v, want [room-a] (b1's report is stale)", got)
	}

	// a1 no longer lists r1: its replica goes, the slice read before stays.
	ix.Set(report("a1", "room-a", true, now, good("r2")))
	if got := ix.Replicas("r1"); len(got) != 1 || got[0].Node != "b1" {
		t.Fatalf("r1 after a1 dropped it: got %v", got)
	}
	if len(kept) != 2 || kept[0].Node != "a1" {
		t.Fatalf("a slice handed out earlier changed: %v", kept)
	}
	ix.Delete("b1")
	if got := ix.Replicas("r1"); got != nil {
		t.Fatalf("r1 after b1's report was deleted: got %v, want none", got)
	}
	if !ix.Heartbeat("b1").IsZero() {
		t.Fatal("b1's heartbeat outlived its report")
	}
}

func TestIndexKeepsTheNewestReport(t *testing.T) {
	now := time.Now()
	ix := NewIndex()
	newReport := report("a1", "room-a", true, now, v1alpha1.ResourceReport{Name: "r1", Disk: "UpToDate", Quorum: true})
	newReport.ResourceVersion = "120"
	oldReport := report("a1", "room-a", true, now, v1alpha1.ResourceReport{Name: "r1", Disk: "Outdated", Quorum: true})
	oldReport.ResourceVersion = "99"
	ix.Set(newReport)
	ix.Set(oldReport) // a second watch delivering an older version late
	if got := ix.Replicas("r1"); len(got) != 1 || got[0].Health != UpToDate {
		t.Fatalf("an older report replaced a newer one: %v", got)
	}
}

func TestFreshness(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name      string
		heartbeat time.Time
		want      bool
	}{
		{"just now", now, true},
		{"within staleAfter", now.Add(-19 * time.Second), true},
		{"too old", now.Add(-21 * time.Second), false},
		{"a little ahead", now.Add(5 * time.Second), true},
		{"far in the future", now.Add(time.Hour), false},
		{"never", time.Time{}, false},
	} {
		if got := Fresh(tc.heartbeat, now, 20*time.Second); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
	ix := NewIndex()
	ix.Set(report("a1", "room-a", false, now))
	if !ix.Heartbeat("a1").IsZero() {
		t.Fatal("an unsynced report counts as a heartbeat")
	}
}
