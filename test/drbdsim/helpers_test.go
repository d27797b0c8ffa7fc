package drbdsim_test

import (
	"testing"
	"time"

	"k8s.io/utils/clock"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
	"github.com/linstor-ha/linstor-ha/test/drbdsim"
)

// start is the fake clock's starting time; any fixed time will do.
var start = time.Date(2026, 5, 7, 13, 50, 23, 973595000, time.UTC)

// newCluster returns a cluster on a fake clock with nodes added, closed at
// the end of the test. delays nil means DRBD's defaults.
func newCluster(t *testing.T, delays *drbdsim.Delays, nodes ...string) (*drbdsim.Cluster, *testingclock.FakeClock) {
	t.Helper()
	clk := testingclock.NewFakeClock(start)
	c, err := drbdsim.New(drbdsim.Options{Clock: clk, Delays: delays})
	if err != nil {
		t.Fatalf("failed to create cluster: %v", err)
	}
	t.Cleanup(c.Close)
	for _, n := range nodes {
		if err := c.AddNode(n); err != nil {
			t.Fatalf("failed to add node %s: %v", n, err)
		}
	}
	return c, clk
}

var _ clock.WithDelayedExecution = &testingclock.FakeClock{}

func noDelays() *drbdsim.Delays { return &drbdsim.Delays{} }

// replicas builds replica specs from "node" (diskful), "node:Diskless" or
// "node:Tiebreaker".
func replicas(specs ...string) []drbdsim.ReplicaSpec {
	var out []drbdsim.ReplicaSpec
	for _, s := range specs {
		r := drbdsim.ReplicaSpec{Node: s}
		for i := range len(s) {
			if s[i] == ':' {
				r = drbdsim.ReplicaSpec{Node: s[:i], Kind: drbdsim.ReplicaKind(s[i+1:])}
				break
			}
		}
		out = append(out, r)
	}
	return out
}

func mustAddResource(t *testing.T, c *drbdsim.Cluster, spec drbdsim.ResourceSpec) {
	t.Helper()
	if err := c.AddResource(spec); err != nil {
		t.Fatalf("failed to add resource %s: %v", spec.Name, err)
	}
}

func mustView(t *testing.T, c *drbdsim.Cluster, node, res string) *state.Resource {
	t.Helper()
	v, ok := c.View(node, res)
	if !ok {
		t.Fatalf("node %s has no view of %s", node, res)
	}
	return v
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// connState returns the state of node's connection to peer.
func connState(t *testing.T, c *drbdsim.Cluster, node, res, peer string) string {
	t.Helper()
	conn := mustView(t, c, node, res).Connection(peer)
	if conn == nil {
		t.Fatalf("node %s has no connection to %s for %s", node, peer, res)
	}
	return conn.State
}

func disk(t *testing.T, c *drbdsim.Cluster, node, res string) string {
	t.Helper()
	return mustView(t, c, node, res).Devices[0].Disk
}

func writers(t *testing.T, c *drbdsim.Cluster, res string) []string {
	t.Helper()
	w, err := c.Writers(res)
	if err != nil {
		t.Fatal(err)
	}
	return w
}
