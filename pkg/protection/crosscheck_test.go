package protection_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/linstor-ha/linstor-ha/pkg/protection"
)

// bruteForce is a second formulation of the analysis, written to be
// obviously right rather than quick: it applies DRBD's rule literally from
// every survivor's own view, loop for loop as the simulator's hasQuorum
// does, and settles a zone with nodes of unknown zone by trying every way
// of putting them in it or not.
type bruteForce struct {
	replicas []protection.Replica
}

// survives reports whether fail-over works after the replicas failed
// selects crashed, and whether the survivors have quorum. Every survivor
// must see the same quorum, since they all reach each other.
func (b bruteForce) survives(t *testing.T, failed map[string]bool) (survives, quorum bool) {
	var views []bool
	for _, self := range b.replicas {
		if failed[self.Node] {
			continue
		}
		var voters, reached, diskless, disklessReached int
		for _, p := range b.replicas {
			// A crashed replica did not leave gracefully: it stays a
			// voter, unreachable.
			connected := p.Node == self.Node || !failed[p.Node]
			if p.Diskful {
				voters++
				if connected {
					reached++
				}
			} else {
				diskless++
				if connected {
					disklessReached++
				}
			}
		}
		views = append(views, 2*reached > voters || (2*reached == voters && 2*disklessReached > diskless))
	}
	if len(views) == 0 {
		return false, false
	}
	for _, v := range views[1:] {
		if v != views[0] {
			t.Fatalf("survivors disagree on quorum: %v", views)
		}
	}
	data := false
	for _, r := range b.replicas {
		data = data || (!failed[r.Node] && r.Diskful && r.UpToDate)
	}
	return views[0] && data, views[0]
}

// expect returns what Compute must say, by failure name: "survives",
// "fails" or "undecided", and the summary.
func (b bruteForce) expect(t *testing.T) (map[string]string, map[string]bool, protection.Summary) {
	verdicts := map[string]string{}
	quorum := map[string]bool{}
	nodeSafe, zoneSafe := true, false
	var unzoned []string
	zones := map[string]bool{}
	for _, r := range b.replicas {
		if r.Zone == "" {
			unzoned = append(unzoned, r.Node)
		} else {
			zones[r.Zone] = true
		}
	}
	for _, r := range b.replicas {
		ok, q := b.survives(t, map[string]bool{r.Node: true})
		name := "node " + r.Node
		quorum[name] = q
		if ok {
			verdicts[name] = "survives"
		} else {
			verdicts[name] = "fails"
			nodeSafe = false
		}
	}
	if len(zones) > 0 {
		zoneSafe = true
	}
	for zone := range zones {
		name := "zone " + zone
		some, all := false, true
		// Bit i of mask puts the i-th node without a zone in this zone.
		for mask := range 1 << len(unzoned) {
			failed := map[string]bool{}
			for _, r := range b.replicas {
				failed[r.Node] = failed[r.Node] || r.Zone == zone
			}
			for i, n := range unzoned {
				if mask&(1<<i) != 0 {
					failed[n] = true
				}
			}
			ok, q := b.survives(t, failed)
			if mask == 0 {
				quorum[name] = q
			}
			some = some || ok
			all = all && ok
		}
		switch {
		case all:
			verdicts[name] = "survives"
		case some:
			verdicts[name] = "undecided"
			zoneSafe = false
		default:
			verdicts[name] = "fails"
			zoneSafe = false
		}
	}
	summary := protection.NodeSafe
	switch {
	case !nodeSafe:
		summary = protection.Unprotected
	case zoneSafe:
		summary = protection.ZoneSafe
	}
	return verdicts, quorum, summary
}

// check compares Compute with the brute force for one placement.
func check(t *testing.T, rs []protection.Replica) {
	t.Helper()
	got := protection.Compute(rs)
	wantVerdicts, wantQuorum, wantSummary := bruteForce{rs}.expect(t)
	gotVerdicts := map[string]string{}
	for _, f := range got.Survives {
		gotVerdicts[f.String()] = "survives"
	}
	for _, o := range got.Fails {
		gotVerdicts[o.Failure.String()] = "fails"
		// An outcome's quorum is the certain case's: for a zone, with
		// no node of unknown zone in it.
		if o.Quorum != wantQuorum[o.Failure.String()] {
			t.Fatalf("%v: %s: quorum %v, brute force says %v", rs, o.Failure, o.Quorum, wantQuorum[o.Failure.String()])
		}
		// Quorum loss is named as such, and only then; without any
		// diskful replica DRBD's rule degenerates and the reason is the
		// missing data.
		if o.Reason != protection.AllReplicasLost && o.Diskful > 0 && o.Reason.NoQuorum() == o.Quorum {
			t.Fatalf("%v: %s: reason %s with quorum %v", rs, o.Failure, o.Reason, o.Quorum)
		}
	}
	for _, o := range got.Undecided {
		gotVerdicts[o.Failure.String()] = "undecided"
	}
	if !reflect.DeepEqual(gotVerdicts, wantVerdicts) {
		t.Fatalf("%v: got %v, brute force says %v", rs, gotVerdicts, wantVerdicts)
	}
	if got.Summary != wantSummary {
		t.Fatalf("%v: summary %s, brute force says %s", rs, got.Summary, wantSummary)
	}
	if n := len(got.Survives) + len(got.Fails) + len(got.Undecided); n != len(gotVerdicts) {
		t.Fatalf("%v: %d outcomes for %d distinct failures", rs, n, len(gotVerdicts))
	}
}

// kinds are the replica kinds the placements combine.
var kinds = []protection.Replica{
	{Diskful: true, UpToDate: true},
	{Diskful: true},
	{},
}

// eachPlacement calls f with every placement of 1 to maxReplicas replicas,
// each of every kind and in every zone of zones, nodes named n0, n1, ...
func eachPlacement(maxReplicas int, zones []string, f func([]protection.Replica)) {
	choices := len(kinds) * len(zones)
	for n := 1; n <= maxReplicas; n++ {
		total := 1
		for range n {
			total *= choices
		}
		for code := range total {
			rs := make([]protection.Replica, n)
			for i := range rs {
				c := code % choices
				code /= choices
				rs[i] = kinds[c%len(kinds)]
				rs[i].Node = fmt.Sprintf("n%d", i)
				rs[i].Zone = zones[c/len(kinds)]
			}
			f(rs)
		}
	}
}

// TestComputeAgainstBruteForce tries every placement of up to four
// replicas over three zones and no zone, in every kind.
func TestComputeAgainstBruteForce(t *testing.T) {
	zones := []string{"z1", "z2", "z3", ""}
	placements := 0
	eachPlacement(4, zones, func(rs []protection.Replica) {
		check(t, rs)
		placements++
	})
	if placements != 12+144+1728+20736 {
		t.Fatalf("tried %d placements", placements)
	}
}

// TestComputeAgainstBruteForceRandom tries larger placements at random,
// from a fixed seed so that a failure can be reproduced.
func TestComputeAgainstBruteForceRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	zones := []string{"z1", "z2", "z3", "z4", "z5", ""}
	for range 3000 {
		n := 5 + rng.IntN(5)
		rs := make([]protection.Replica, n)
		for i := range rs {
			rs[i] = kinds[rng.IntN(len(kinds))]
			rs[i].Node = fmt.Sprintf("n%d", i)
			rs[i].Zone = zones[rng.IntN(len(zones))]
		}
		check(t, rs)
	}
}

// TestBruteForceKnownAnswers checks the brute force itself on answers the
// simulator's truth tables give: exactly half of the voters has quorum
// only with the tiebreaker, and crashed voters still count.
func TestBruteForceKnownAnswers(t *testing.T) {
	twoPlusTiebreaker := []protection.Replica{upToDate("a", "z1"), upToDate("b", "z2"), tiebreaker("t", "z1")}
	verdicts, _, _ := bruteForce{twoPlusTiebreaker}.expect(t)
	// Exactly half without the tiebreaker: no quorum.
	if verdicts["zone z1"] != "fails" {
		t.Errorf("zone z1: brute force says %s, want fails", verdicts["zone z1"])
	}
	// Exactly half with the tiebreaker: quorum.
	if verdicts["node a"] != "survives" {
		t.Errorf("node a: brute force says %s, want survives", verdicts["node a"])
	}
	// If crashed voters left the count, the one remaining diskful replica
	// would be all voters and keep quorum; it must not.
	two := []protection.Replica{upToDate("a", "z1"), upToDate("b", "z2")}
	if ok, q := (bruteForce{two}).survives(t, map[string]bool{"a": true}); ok || q {
		t.Errorf("two diskful, one crashed: brute force says survives=%v quorum=%v, want neither", ok, q)
	}
	for failure, v := range verdicts {
		if v == "undecided" {
			t.Errorf("%s: undecided without nodes of unknown zone", failure)
		}
	}
}
