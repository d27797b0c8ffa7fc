package drbdsim_test

import (
	"testing"
	"time"

	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
	"github.com/linstor-ha/linstor-ha/test/drbdsim"
)

// TestShortCutUnnoticed checks that, with DRBD's default timings, a
// replication cut shorter than timeout under I/O, healed before any side
// notices, leaves every connection established and quorum everywhere: the
// connections resume as TCP's do once packets flow again.
func TestShortCutUnnoticed(t *testing.T) {
	c, clk := newCluster(t, nil, "a1", "b1", "a2")
	mustAddResource(t, c, drbdsim.ResourceSpec{Name: "r0", Replicas: replicas("a1", "b1", "a2:Tiebreaker")})
	clk.Step(10 * time.Second)
	must(t, c.OpenDevice("a1", "r0"))
	for i := 0; i < 3; i++ {
		must(t, c.Partition([]string{"a1"}, []string{"b1", "a2"}))
		for step := 0; step < 40; step++ {
			clk.Step(100 * time.Millisecond)
			if v := mustView(t, c, "a1", "r0"); !v.HasQuorum() {
				t.Fatalf("flap %d: a1 lost quorum %v into a 4 s cut", i, time.Duration(step+1)*100*time.Millisecond)
			}
		}
		must(t, c.Heal())
		for step := 0; step < 100; step++ {
			clk.Step(100 * time.Millisecond)
			for _, n := range []string{"a1", "b1", "a2"} {
				for _, p := range []string{"a1", "b1", "a2"} {
					if p != n && connState(t, c, n, "r0", p) != state.ConnConnected {
						t.Fatalf("flap %d: %s sees %s %s %v after the heal", i, n, p, connState(t, c, n, "r0", p), time.Duration(step+1)*100*time.Millisecond)
					}
				}
			}
		}
	}
}
