package protection_test

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/linstor-ha/linstor-ha/pkg/protection"
)

// applyFix makes a fix's changes, independently of the package's own
// search, so that the test can confirm a verified fix really works.
func applyFix(t *testing.T, rs []protection.Replica, fix protection.Fix) []protection.Replica {
	t.Helper()
	out := slices.Clone(rs)
	zone := func(c protection.Change) string {
		if c.NewZone > 0 {
			return "fresh-zone-" + strconv.Itoa(c.NewZone)
		}
		if c.Zone == "" {
			t.Fatalf("change %+v names no zone", c)
		}
		return c.Zone
	}
	find := func(node string) *protection.Replica {
		for i := range out {
			if out[i].Node == node {
				return &out[i]
			}
		}
		t.Fatalf("change names node %s, which holds no replica", node)
		return nil
	}
	for i, c := range fix.Changes {
		switch c.Kind {
		case protection.WaitForUpToDate:
			find(c.Node).UpToDate = true
		case protection.MoveTiebreaker:
			r := find(c.Node)
			if r.Diskful {
				t.Fatalf("%+v moves a diskful replica as a tiebreaker", c)
			}
			r.Zone = zone(c)
		case protection.MoveDiskful:
			r := find(c.Node)
			if !r.Diskful {
				t.Fatalf("%+v moves a tiebreaker as a diskful replica", c)
			}
			r.Zone, r.UpToDate = zone(c), true
		case protection.AddTiebreaker:
			out = append(out, tiebreaker("added-"+strconv.Itoa(i), zone(c)))
		case protection.AddDiskful:
			out = append(out, upToDate("added-"+strconv.Itoa(i), zone(c)))
		default:
			t.Fatalf("cannot apply %+v", c)
		}
	}
	return out
}

func TestZoneFixes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		replicas []protection.Replica
		// want lists the fixes' messages, in order.
		want []string
	}{
		{
			name:     "already ZoneSafe",
			replicas: []protection.Replica{upToDate("a1", "room-a"), upToDate("b1", "room-b"), tiebreaker("t1", "room-c")},
		},
		{
			name: "cannot be judged",
		},
		{
			name:     "tiebreaker in room-a next to a diskful replica",
			replicas: []protection.Replica{upToDate("a1", "room-a"), tiebreaker("t1", "room-a"), upToDate("b1", "room-b")},
			want: []string{
				"move the tiebreaker on node t1 to a third zone",
				"add a diskful replica in a third zone",
				"replace the diskful replica on node a1 by one in a third zone",
			},
		},
		{
			name:     "no tiebreaker",
			replicas: []protection.Replica{upToDate("a1", "room-a"), upToDate("b1", "room-b")},
			want:     []string{"add a tiebreaker in a third zone", "add a diskful replica in a third zone"},
		},
		{
			name:     "two diskful replicas in one room",
			replicas: []protection.Replica{upToDate("a1", "room-a"), upToDate("a2", "room-a"), tiebreaker("t1", "room-b")},
			want: []string{
				"replace the diskful replica on node a1, or another like it in zone room-a, by one in a third zone",
			},
		},
		{
			name:     "the only UpToDate replica is the one lost",
			replicas: []protection.Replica{upToDate("a1", "room-a"), stale("b1", "room-b"), tiebreaker("t1", "room-c")},
			want: []string{
				"wait until the replica on node b1 is UpToDate (resync finished)",
				"add a diskful replica in zone room-c",
				"add a diskful replica in a fourth zone",
				"replace the diskful replica on node b1 by one in a fourth zone",
			},
		},
		{
			name:     "a single replica needs two changes",
			replicas: []protection.Replica{upToDate("a1", "room-a")},
			want: []string{
				"add a tiebreaker in a second zone and add a diskful replica in a third zone",
				"add a diskful replica in a second zone and add a diskful replica in a third zone",
			},
		},
		{
			name:     "tiebreaker without a zone: label it, or move it",
			replicas: []protection.Replica{upToDate("a1", "room-a"), upToDate("b1", "room-b"), tiebreaker("t1", "")},
			want: []string{
				"set the topology.kubernetes.io/zone label on node t1; until then, which zone failures it survives cannot be checked",
				"move the tiebreaker on node t1 to a third zone",
				"add a diskful replica in a third zone",
			},
		},
		{
			name:     "no zone known: only labels help",
			replicas: []protection.Replica{upToDate("a1", ""), upToDate("b1", ""), tiebreaker("t1", "")},
			want:     []string{"set the topology.kubernetes.io/zone label on nodes a1, b1 and t1; until then, which zone failures it survives cannot be checked"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fixes := protection.ZoneFixes(tc.replicas)
			var got []string
			for _, f := range fixes {
				got = append(got, f.Message)
				isLabel := f.Changes[0].Kind == protection.LabelZone
				if f.Verified == isLabel {
					t.Errorf("%q: verified %v", f.Message, f.Verified)
				}
				if f.Verified {
					after := applyFix(t, tc.replicas, f)
					if s := protection.Compute(after).Summary; s != protection.ZoneSafe {
						t.Errorf("%q: after it the resource is %s, not ZoneSafe", f.Message, s)
					}
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got fixes\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// TestZoneFixesChanges pins the structure behind the messages, which the
// CLI and the webhook read.
func TestZoneFixesChanges(t *testing.T) {
	fixes := protection.ZoneFixes([]protection.Replica{upToDate("a1", "room-a")})
	if len(fixes) == 0 {
		t.Fatal("no fix for a single replica")
	}
	want := []protection.Change{{Kind: protection.AddTiebreaker, NewZone: 1}, {Kind: protection.AddDiskful, NewZone: 2}}
	if !reflect.DeepEqual(fixes[0].Changes, want) {
		t.Errorf("first fix: got %+v, want %+v", fixes[0].Changes, want)
	}

	fixes = protection.ZoneFixes([]protection.Replica{upToDate("a1", "room-a"), stale("b1", "room-b"), tiebreaker("t1", "room-c")})
	if len(fixes) < 2 {
		t.Fatalf("got %+v, want several fixes", fixes)
	}
	if want := []protection.Change{{Kind: protection.WaitForUpToDate, Node: "b1"}}; !reflect.DeepEqual(fixes[0].Changes, want) {
		t.Errorf("first fix: got %+v, want %+v", fixes[0].Changes, want)
	}
	if want := []protection.Change{{Kind: protection.AddDiskful, Zone: "room-c"}}; !reflect.DeepEqual(fixes[1].Changes, want) {
		t.Errorf("second fix: got %+v, want %+v", fixes[1].Changes, want)
	}
}

// TestZoneFixesBounded checks that the answer stays short and the search
// small whatever the placement.
func TestZoneFixesBounded(t *testing.T) {
	// Five of eight diskful replicas in room-a need two changes: move one
	// out and add a tiebreaker, for instance. The options are many; the
	// answer keeps the ten cheapest.
	var eight []protection.Replica
	for i := range 8 {
		zone := "room-a"
		if i >= 5 {
			zone = "room-b"
		}
		eight = append(eight, upToDate(fmt.Sprintf("n%d", i), zone))
	}
	fixes := protection.ZoneFixes(eight)
	if len(fixes) != 10 {
		t.Fatalf("five of eight replicas in room-a: got %d fixes, want 10", len(fixes))
	}
	for _, f := range fixes {
		if len(f.Changes) != 2 {
			t.Errorf("%q: %d changes, want 2", f.Message, len(f.Changes))
		}
		if s := protection.Compute(applyFix(t, eight, f)).Summary; s != protection.ZoneSafe {
			t.Errorf("%q leaves the resource %s", f.Message, s)
		}
	}

	// Beyond eight replicas pairs are not tried, though two moves would
	// do for six of nine in room-a; no single change does.
	var nine []protection.Replica
	for i := range 9 {
		zone := "room-a"
		if i >= 6 {
			zone = "room-b"
		}
		nine = append(nine, upToDate(fmt.Sprintf("n%d", i), zone))
	}
	if got := protection.ZoneFixes(nine); got != nil {
		t.Errorf("six of nine replicas in room-a: got %+v, want no fix", got)
	}

	// The largest resource DRBD allows, spread badly over many zones,
	// still gets an answer.
	var large []protection.Replica
	for i := range protection.MaxReplicas {
		zone := "room-a"
		if i%2 == 1 {
			zone = fmt.Sprintf("room-%d", i)
		}
		large = append(large, upToDate(fmt.Sprintf("n%02d", i), zone))
	}
	fixes = protection.ZoneFixes(large)
	if len(fixes) == 0 {
		t.Fatal("half of the largest resource in one room: no fix, want a tiebreaker elsewhere at least")
	}
	for _, f := range fixes {
		if s := protection.Compute(applyFix(t, large, f)).Summary; s != protection.ZoneSafe {
			t.Errorf("%q leaves the resource %s", f.Message, s)
		}
	}
}

func TestZoneFixesIgnoresOrder(t *testing.T) {
	base := []protection.Replica{tiebreaker("t1", "room-a"), upToDate("b1", "room-b"), stale("a1", "room-a"), tiebreaker("t2", "")}
	want := protection.ZoneFixes(base)
	if len(want) == 0 {
		t.Fatal("no fixes to compare")
	}
	permute(base, 0, func(p []protection.Replica) {
		if got := protection.ZoneFixes(p); !reflect.DeepEqual(got, want) {
			t.Fatalf("order %v: got %+v, want %+v", p, got, want)
		}
	})
}
