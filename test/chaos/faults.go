package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/linstor-ha/linstor-ha/test/cluster"
)

// fault is one injected fault; undo is nil for faults that heal by
// themselves (a killed drbdsetup, a restarted control plane process).
type fault struct {
	name string
	undo func(context.Context) error
}

// injector chooses and injects faults and remembers what is still broken.
type injector struct {
	c       *cluster.Cluster
	rng     *rand.Rand
	nodes   []string
	open    []*fault
	crashed map[string]bool
	stuck   *stuckPods
	// apiFrozen is set while an API server is black-holed.
	apiFrozen bool
}

// maxOpen bounds the faults in force at once: more leave nothing to fail
// over to and test only that nothing happens.
const maxOpen = 2

// inject picks a fault the cluster's state allows, injects it and returns
// it.
func (in *injector) inject(ctx context.Context) (*fault, error) {
	node := in.nodes[in.rng.IntN(len(in.nodes))]
	kinds := []string{"kill-drbdsetup", "restart-apiserver", "restart-controller-manager"}
	if len(in.open) < maxOpen {
		kinds = append(kinds, "crash", "crash", "split", "split-pair", "split-pair", "isolate", "kill-sidecar")
		if len(in.c.LosableAPIServerRooms()) > 0 && !in.apiFrozen {
			kinds = append(kinds, "freeze-apiserver")
		}
	}
	kind := kinds[in.rng.IntN(len(kinds))]
	if in.crashed[node] && kind != "restart-apiserver" && kind != "restart-controller-manager" && kind != "freeze-apiserver" {
		kind = "restart-controller-manager"
	}
	c := in.c
	switch kind {
	case "crash":
		in.crashed[node] = true
		return in.opened("crash "+node, c.CrashNode(node), func(ctx context.Context) error {
			delete(in.crashed, node)
			return c.RestartNode(ctx, node)
		})
	case "split":
		others := slices.DeleteFunc(slices.Clone(in.nodes), func(n string) bool { return n == node })
		return in.opened("split replication of "+node, c.SplitReplication([]string{node}, others), func(context.Context) error {
			return c.DRBD.HealPartition([]string{node}, others)
		})
	case "split-pair":
		// Only the link between a volume's two diskful nodes: both
		// still reach the tiebreaker, so both keep quorum, and only
		// evidence from outside DRBD may move the pod.
		a, b := pairOf(node)
		return in.opened("split replication between "+a+" and "+b, c.SplitReplication([]string{a}, []string{b}), func(context.Context) error {
			return c.DRBD.HealPartition([]string{a}, []string{b})
		})
	case "isolate":
		in.stuck.hold(node, "isolated", true)
		return in.opened("isolate "+node+" from the API server", c.IsolateFromAPI(node), func(context.Context) error {
			err := c.ReconnectToAPI(node)
			in.stuck.hold(node, "isolated", false)
			return err
		})
	case "kill-sidecar":
		in.stuck.hold(node, "sidecar killed", true)
		return in.opened("kill the sidecar of "+node, c.StopSidecar(node), func(context.Context) error {
			defer in.stuck.hold(node, "sidecar killed", false)
			// A crashed node's restart brings its sidecar back.
			if n, err := c.Node(node); err != nil || in.crashed[node] || n.SidecarPID() != 0 {
				return err
			}
			return c.StartSidecar(node)
		})
	case "freeze-apiserver":
		// A room's API server black-holed: its clients' connections hang
		// until their health checks give up and their load balancers
		// take them to another room's.
		rooms := c.LosableAPIServerRooms()
		room := rooms[in.rng.IntN(len(rooms))]
		in.apiFrozen = true
		return in.opened("black-hole the API server of "+room, c.FreezeAPIServer(room), func(context.Context) error {
			in.apiFrozen = false
			return c.ThawAPIServer(room)
		})
	case "kill-drbdsetup":
		return &fault{name: fmt.Sprintf("kill drbdsetup events2 on %s (%d killed)", node, c.KillDrbdsetup(node))}, nil
	case "restart-apiserver":
		return &fault{name: "restart kube-apiserver"}, c.RestartAPIServer(ctx)
	default:
		return &fault{name: "restart kube-controller-manager"}, c.RestartControllerManager(ctx)
	}
}

func (in *injector) opened(name string, err error, undo func(context.Context) error) (*fault, error) {
	f := &fault{name: name, undo: undo}
	if err != nil {
		return f, fmt.Errorf("failed to %s: %w", name, err)
	}
	in.open = append(in.open, f)
	return f, nil
}

// healOne undoes a random open fault; it returns nil when none is open.
func (in *injector) healOne(ctx context.Context) (*fault, error) {
	if len(in.open) == 0 {
		return nil, nil
	}
	i := in.rng.IntN(len(in.open))
	f := in.open[i]
	in.open = slices.Delete(in.open, i, i+1)
	return f, f.undo(ctx)
}

// pairOf returns the diskful pair of the room workloads' volume that node
// belongs to: node-aN and node-bN.
func pairOf(node string) (string, string) {
	n := node[len(node)-1:]
	return "node-a" + n, "node-b" + n
}
