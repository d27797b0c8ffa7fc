package protection_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/linstor-ha/linstor-ha/pkg/protection"
)

func TestProtectionAfterLoss(t *testing.T) {
	for _, tc := range []struct {
		name     string
		replicas []protection.Replica
		lost     []string
		survives bool
		failure  string
		reason   protection.Reason
		// message holds text the outcome's message must contain.
		message []string
		lostOut []string
	}{
		{
			name:     "tiebreaker in the lost room next to a diskful replica",
			replicas: []protection.Replica{upToDate("a1", ""), tiebreaker("a2", ""), upToDate("b1", "")},
			lost:     []string{"a2", "a1"},
			failure:  "nodes a1 and a2",
			reason:   protection.TiebreakerLost,
			message:  []string{"losing nodes a1 and a2 leaves 1 of 2 diskful replicas and no tiebreaker", "put the tiebreaker in a third zone"},
			lostOut:  []string{"a1", "a2"},
		},
		{
			name:     "two diskful replicas without a tiebreaker",
			replicas: []protection.Replica{upToDate("a1", "room-a"), upToDate("b1", "room-b")},
			lost:     []string{"a1"},
			failure:  "node a1",
			reason:   protection.NoTiebreaker,
			message:  []string{"the resource has no tiebreaker", "add a tiebreaker on a third node"},
			lostOut:  []string{"a1"},
		},
		{
			name:     "tiebreaker in a third room",
			replicas: []protection.Replica{upToDate("a1", ""), upToDate("b1", ""), tiebreaker("c1", "")},
			lost:     []string{"a1"},
			survives: true,
			failure:  "node a1",
			lostOut:  []string{"a1"},
		},
		{
			name:     "the survivor is still resyncing",
			replicas: []protection.Replica{upToDate("a1", ""), stale("b1", ""), tiebreaker("c1", "")},
			lost:     []string{"a1"},
			failure:  "node a1",
			reason:   protection.NoUpToDateData,
			message:  []string{"the diskful replica on node b1 is not UpToDate", "wait until the resync has finished"},
			lostOut:  []string{"a1"},
		},
		{
			name:     "two of three diskful replicas lost together",
			replicas: []protection.Replica{upToDate("a1", ""), upToDate("a2", ""), upToDate("b1", "")},
			lost:     []string{"a1", "a2", "not-a-replica"},
			failure:  "nodes a1 and a2",
			reason:   protection.FewerThanHalfDiskful,
			message:  []string{"leaves 1 of 3 diskful replicas", "spread the diskful replicas over more zones"},
			lostOut:  []string{"a1", "a2"},
		},
		{
			name:     "every replica lost",
			replicas: []protection.Replica{upToDate("a1", ""), tiebreaker("a2", "")},
			lost:     []string{"a1", "a2"},
			failure:  "nodes a1 and a2",
			reason:   protection.AllReplicasLost,
			message:  []string{"loses every replica", "put a diskful replica in another zone"},
			lostOut:  []string{"a1", "a2"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, survives := protection.AfterLoss(tc.replicas, tc.lost)
			if survives != tc.survives || o.Reason != tc.reason {
				t.Fatalf("survives %v, reason %q; want %v, %q (%+v)", survives, o.Reason, tc.survives, tc.reason, o)
			}
			if got := o.Failure.String(); got != tc.failure {
				t.Errorf("failure %q, want %q", got, tc.failure)
			}
			if !reflect.DeepEqual(o.Lost, tc.lostOut) {
				t.Errorf("lost %v, want %v", o.Lost, tc.lostOut)
			}
			if tc.survives && o.Message != "" {
				t.Errorf("a survived loss has the message %q", o.Message)
			}
			for _, want := range tc.message {
				if !strings.Contains(o.Message, want) {
					t.Errorf("message %q lacks %q", o.Message, want)
				}
			}
		})
	}
}

func TestProtectionAfterLossWithoutLoss(t *testing.T) {
	rs := []protection.Replica{upToDate("a1", ""), upToDate("b1", "")}
	for _, lost := range [][]string{nil, {"x1"}} {
		if o, ok := protection.AfterLoss(rs, lost); !ok || !reflect.DeepEqual(o, protection.Outcome{}) {
			t.Errorf("lost %v: got %+v, %v; want nothing lost", lost, o, ok)
		}
	}
	o, ok := protection.AfterLoss(nil, []string{"a1"})
	if ok || o.Reason != protection.NoReplicas || o.Message == "" {
		t.Errorf("no replicas: got %+v, %v; want the NoReplicas problem", o, ok)
	}
}

// TestProtectionAfterLossMatchesCompute checks that losing the nodes of a
// zone together is what Compute foresees for that zone, for every
// placement of up to three replicas over three zones.
func TestProtectionAfterLossMatchesCompute(t *testing.T) {
	zones := []string{"z1", "z2", "z3"}
	checked := 0
	eachPlacement(3, zones, func(rs []protection.Replica) {
		res := protection.Compute(rs)
		for _, zone := range zones {
			var lost []string
			for _, r := range rs {
				if r.Zone == zone {
					lost = append(lost, r.Node)
				}
			}
			if len(lost) == 0 {
				continue
			}
			o, survives := protection.AfterLoss(rs, lost)
			want, wantSurvives := zoneOutcome(res, zone)
			if survives != wantSurvives || o.Reason != want.Reason || o.Quorum != want.Quorum || (!survives && o.DiskfulLeft != want.DiskfulLeft) {
				t.Fatalf("%v, losing %v: got %+v %v, Compute says %+v %v", rs, lost, o, survives, want, wantSurvives)
			}
			checked++
		}
	})
	if checked == 0 {
		t.Fatal("nothing checked")
	}
}

// zoneOutcome returns Compute's outcome for losing zone.
func zoneOutcome(r protection.Result, zone string) (protection.Outcome, bool) {
	f := protection.Failure{Kind: protection.ZoneFailure, Name: zone}
	for _, o := range r.Fails {
		if o.Failure == f {
			return o, false
		}
	}
	return protection.Outcome{Quorum: true}, true
}
