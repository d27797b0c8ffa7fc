package protection_test

import (
	"fmt"
	"testing"
	"time"

	testingclock "k8s.io/utils/clock/testing"

	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
	"github.com/linstor-ha/linstor-ha/pkg/protection"
	"github.com/linstor-ha/linstor-ha/test/drbdsim"
)

// TestComputeMatchesSimulator checks the analysis against the repository's
// DRBD simulator: for every mix of up to four diskful, tiebreaker and
// diskless-client replicas and every set of crashed nodes, the survivors'
// quorum and whether one of them may promote must be what Compute says of
// a zone that holds exactly the crashed nodes. All data is UpToDate here;
// the simulator only makes replicas Outdated through writes, and the
// brute-force test covers stale data.
func TestComputeMatchesSimulator(t *testing.T) {
	simKinds := []drbdsim.ReplicaKind{drbdsim.Diskful, drbdsim.Tiebreaker, drbdsim.Diskless}
	nodes := []string{"a", "b", "c", "d"}
	checked := 0
	for n := 1; n <= len(nodes); n++ {
		combos := 1
		for range n {
			combos *= len(simKinds)
		}
		for code := range combos {
			specs := make([]drbdsim.ReplicaSpec, n)
			diskful := 0
			for i := range specs {
				specs[i] = drbdsim.ReplicaSpec{Node: nodes[i], Kind: simKinds[code%len(simKinds)]}
				code /= len(simKinds)
				if specs[i].Kind == drbdsim.Diskful {
					diskful++
				}
			}
			if diskful == 0 {
				// Nothing to fail over: no data.
				continue
			}
			// Every non-empty set of crashed nodes, all of them included.
			for crashed := 1; crashed < 1<<n; crashed++ {
				compareWithSimulator(t, specs, crashed)
				checked++
			}
		}
	}
	// 3^n mixes less the 2^n without a diskful replica, times the 2^n-1
	// crash sets, for n from 1 to 4.
	if want := 1*1 + 5*3 + 19*7 + 65*15; checked != want {
		t.Fatalf("checked %d cases, want %d", checked, want)
	}
}

func compareWithSimulator(t *testing.T, specs []drbdsim.ReplicaSpec, crashed int) {
	t.Helper()
	var replicas []protection.Replica
	isCrashed := map[string]bool{}
	for i, s := range specs {
		r := protection.Replica{Node: s.Node, Zone: "kept-" + s.Node, Diskful: s.Kind == drbdsim.Diskful, UpToDate: s.Kind == drbdsim.Diskful}
		if crashed&(1<<i) != 0 {
			r.Zone = "lost"
			isCrashed[s.Node] = true
		}
		replicas = append(replicas, r)
	}
	name := fmt.Sprintf("%v crashed %v", specs, isCrashed)
	survives, quorum := zoneVerdict(t, protection.Compute(replicas), "lost")

	clk := testingclock.NewFakeClock(time.Date(2026, 5, 7, 13, 50, 23, 0, time.UTC))
	// Zero delays: peers notice a crash at once, so the views settle
	// within the Crash call.
	c, err := drbdsim.New(drbdsim.Options{Clock: clk, Delays: &drbdsim.Delays{}})
	if err != nil {
		t.Fatalf("%s: failed to create cluster: %v", name, err)
	}
	defer c.Close()
	for _, s := range specs {
		if err := c.AddNode(s.Node); err != nil {
			t.Fatalf("%s: failed to add node: %v", name, err)
		}
	}
	if err := c.AddResource(drbdsim.ResourceSpec{Name: "r", Replicas: specs}); err != nil {
		t.Fatalf("%s: failed to add resource: %v", name, err)
	}
	for _, s := range specs {
		if isCrashed[s.Node] {
			if err := c.Crash(s.Node); err != nil {
				t.Fatalf("%s: failed to crash %s: %v", name, s.Node, err)
			}
		}
	}
	mayPromote := false
	for _, s := range specs {
		if isCrashed[s.Node] {
			continue
		}
		view, ok := c.View(s.Node, "r")
		if !ok {
			t.Fatalf("%s: no view on surviving node %s", name, s.Node)
		}
		if view.HasQuorum() != quorum {
			t.Errorf("%s: simulator gives %s quorum=%v, Compute says %v", name, s.Node, view.HasQuorum(), quorum)
		}
		mayPromote = mayPromote || view.MayPromote == state.FlagYes
	}
	if mayPromote != survives {
		t.Errorf("%s: simulator lets a survivor promote: %v, Compute says survives=%v", name, mayPromote, survives)
	}
}

// zoneVerdict returns whether Compute says the resource survives losing
// zone, and with quorum.
func zoneVerdict(t *testing.T, r protection.Result, zone string) (survives, quorum bool) {
	t.Helper()
	for _, f := range r.Survives {
		if f == (protection.Failure{Kind: protection.ZoneFailure, Name: zone}) {
			return true, true
		}
	}
	for _, o := range r.Fails {
		if o.Failure == (protection.Failure{Kind: protection.ZoneFailure, Name: zone}) {
			return false, o.Quorum
		}
	}
	t.Fatalf("no outcome for zone %s in %+v", zone, r)
	return false, false
}
