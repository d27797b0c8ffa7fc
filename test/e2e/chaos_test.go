package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/linstor-ha/linstor-ha/test/chaos"
)

// chaosSeeds are the fixed seeds CI runs: API isolation and API server
// restarts (3), splits between diskful nodes that keep their tiebreaker
// (4), and the crash of a node that runs a workload (6). `make chaos` runs
// any number.
var chaosSeeds = []uint64{3, 4, 6}

// TestChaosFixedSeeds runs the chaos trials of the fixed seeds on one
// cluster with all three parts and fails with the seed and the event log
// on any violation.
func TestChaosFixedSeeds(t *testing.T) {
	c := startCluster(t, chaos.ClusterOptions(sidecarBinary(t), schedulerBinary(t), webhookBinary(t)))
	ctx := context.Background()
	r, err := chaos.NewRunner(ctx, c, chaos.Options{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, seed := range chaosSeeds {
		if v := r.Trial(ctx, seed); len(v) > 0 {
			t.Errorf("seed %d: %d violations:\n%s\nevent log:\n%s", seed, len(v), strings.Join(v, "\n"), strings.Join(r.Log, "\n"))
		}
	}
}
