package drbdsim

import (
	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
)

// hasQuorum applies DRBD's quorum rule to what r's view reaches. The voters
// are the diskful replicas that have not left gracefully; a view has quorum
// when it reaches more than half of them (itself included), or exactly half
// and a strict majority of the diskless replicas (tiebreakers), so that an
// even split is decided by the side that holds the tiebreaker.
func (c *Cluster) hasQuorum(r *replica) bool {
	res := r.res
	if !res.quorumEnabled() {
		return true
	}
	var voters, reached, diskless, disklessReached int
	for _, p := range res.replicas {
		if p.down {
			continue
		}
		connected := p == r || r.view.peers[p].state == state.ConnConnected
		if p.kind.diskful() {
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
	return 2*reached > voters || (2*reached == voters && 2*disklessReached > diskless)
}

// reachableThrough reports whether the network lets from reach to, directly
// or through other replicas of the resource.
func (c *Cluster) reachableThrough(res *resource, from, to *replica) bool {
	return c.search(res, from, func(a, b *replica) bool { return c.reachable(a, b) }, func(r *replica) bool { return r == to })
}

// primaryConnected reports whether a promotion of r would meet another
// Primary. A promotion is a cluster-wide state change that travels along
// working sessions; every node it reaches refuses it when it is Primary or
// believes a connected peer to be.
func (c *Cluster) primaryConnected(r *replica) bool {
	res := r.res
	return c.search(res, r, func(a, b *replica) bool { return res.link(a, b).session }, func(q *replica) bool {
		if q != r && q.view.role == state.RolePrimary {
			return true
		}
		for _, p := range res.replicas {
			if p != q && p != r && q.view.peers[p].state == state.ConnConnected && q.view.peers[p].role == state.RolePrimary {
				return true
			}
		}
		return false
	})
}

// search walks the replicas of res from start along edges and reports
// whether it finds one that matches.
func (c *Cluster) search(res *resource, start *replica, edge func(a, b *replica) bool, match func(*replica) bool) bool {
	seen := map[*replica]bool{start: true}
	queue := []*replica{start}
	for len(queue) > 0 {
		r := queue[0]
		queue = queue[1:]
		if match(r) {
			return true
		}
		for _, p := range res.replicas {
			if !seen[p] && edge(r, p) {
				seen[p] = true
				queue = append(queue, p)
			}
		}
	}
	return false
}
