package drbdsim

import (
	"fmt"
	"slices"

	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
)

// AddResource creates a resource with its replicas, as if its initial sync
// had completed: every diskful replica UpToDate, every replica Secondary and
// connected to every peer it can reach. Node ids follow the order of
// spec.Replicas; connections are named after the peer's node, as LINSTOR
// names them.
func (c *Cluster) AddResource(spec ResourceSpec) error {
	if err := spec.normalize(); err != nil {
		return err
	}
	return c.do(func() error {
		if _, ok := c.resources[spec.Name]; ok {
			return fmt.Errorf("failed to add resource %q: %w", spec.Name, ErrExists)
		}
		res := &resource{spec: spec, minor: c.nextMinor, port: c.nextPort, gen: 1}
		for i, rs := range spec.Replicas {
			n, err := c.node(rs.Node)
			if err != nil {
				return fmt.Errorf("failed to add resource %q: %w", spec.Name, err)
			}
			res.add(&replica{res: res, id: int32(i), node: n, kind: rs.Kind, dataGen: 1, knownGen: 1})
		}
		c.nextMinor += uint32(spec.Volumes)
		c.nextPort++
		for _, r := range res.replicas {
			if !r.node.up {
				continue
			}
			r.view = newView(r)
			if r.kind.diskful() {
				r.view.disk = state.DiskUpToDate
			}
		}
		res.eachLink(func(l *link) { c.establish(l) })
		c.resources[spec.Name] = res
		return nil
	})
}

// RemoveResource deletes a resource from every node.
func (c *Cluster) RemoveResource(name string) error {
	return c.do(func() error {
		res, ok := c.resources[name]
		if !ok {
			return fmt.Errorf("failed to remove resource: %w %q", ErrUnknownResource, name)
		}
		res.deleted = true
		for _, r := range res.replicas {
			c.discardView(r)
		}
		res.eachLink(func(l *link) {
			c.cancel(l.connect)
			l.connect = nil
			l.session = false
		})
		delete(c.resources, name)
		return nil
	})
}

// DownReplica takes a resource down on one node, as `drbdadm down` does: the
// peers it is connected to see it leave at once, the others notice a lost
// peer as after a crash, and it no longer counts for anyone's quorum until
// it is up again. It fails while the device is open.
func (c *Cluster) DownReplica(nodeName, resName string) error {
	return c.do(func() error {
		r, err := c.liveReplica(nodeName, resName)
		if err != nil {
			return fmt.Errorf("failed to take down resource: %w", err)
		}
		if r.view.open {
			return stateChangeError(resName, SSDeviceInUse)
		}
		res := r.res
		for _, p := range res.replicas {
			if p == r {
				continue
			}
			l := res.link(r, p)
			if l.session {
				// A graceful disconnect: the peer knows at once.
				l.session = false
				c.cancel(p.view.peers[r].detect)
				p.view.peers[r].detect = nil
				p.view.peers[r].disconnect(state.ConnConnecting)
				c.stopResyncBetween(r, p)
			}
		}
		r.down = true
		c.discardView(r)
		return nil
	})
}

// UpReplica brings a resource that DownReplica took down back up on its
// node: Secondary, and its disk Consistent, or Outdated when it missed
// writes meanwhile, until it connects to its peers.
func (c *Cluster) UpReplica(nodeName, resName string) error {
	return c.do(func() error {
		n, err := c.upNode(nodeName)
		if err != nil {
			return fmt.Errorf("failed to bring up resource: %w", err)
		}
		res, ok := c.resources[resName]
		if !ok {
			return fmt.Errorf("failed to bring up resource: %w %q", ErrUnknownResource, resName)
		}
		r := res.replicaOn(n)
		if r == nil {
			return fmt.Errorf("failed to bring up resource: %w %q on node %q", ErrUnknownResource, resName, nodeName)
		}
		if !r.down {
			return fmt.Errorf("failed to bring up resource %q on node %q: %w", resName, nodeName, ErrExists)
		}
		r.down = false
		c.startReplica(r)
		return nil
	})
}

// startReplica starts DRBD for a replica whose node or resource comes up.
// Peers it can reach that still believe in a session with it drop it at
// once: its new connection attempt tells them the old one is gone.
func (c *Cluster) startReplica(r *replica) {
	r.view = newView(r)
	for _, p := range r.res.replicas {
		if p == r || !p.live() {
			continue
		}
		pv := p.view.peers[r]
		if pv.state == state.ConnConnected && c.reachable(p, r) {
			c.cancel(pv.detect)
			pv.detect = nil
			pv.disconnect(state.ConnConnecting)
		}
	}
}

// establish connects a link at once if the network allows, as after an
// initial sync.
func (c *Cluster) establish(l *link) {
	if !c.reachable(l.a, l.b) {
		return
	}
	l.session = true
	for _, side := range [][2]*replica{{l.a, l.b}, {l.b, l.a}} {
		pv := side[0].view.peers[side[1]]
		pv.state = state.ConnConnected
		pv.repl = state.ReplEstablished
	}
}

// AddReplica adds a replica of an existing resource on a node, as LINSTOR
// does when it gives a node a diskless replica to attach a volume there. The
// replica takes the lowest free node id and connects at once to the peers it
// can reach. A diskful replica starts Inconsistent and resyncs.
func (c *Cluster) AddReplica(resName string, spec ReplicaSpec) error {
	switch spec.Kind {
	case "":
		spec.Kind = Diskful
	case Diskful, Diskless, Tiebreaker:
	default:
		return fmt.Errorf("%w: replica kind must be %s, %s or %s, got %q", ErrInvalid, Diskful, Diskless, Tiebreaker, spec.Kind)
	}
	return c.do(func() error {
		n, err := c.upNode(spec.Node)
		if err != nil {
			return fmt.Errorf("failed to add a replica: %w", err)
		}
		res, ok := c.resources[resName]
		if !ok {
			return fmt.Errorf("failed to add a replica: %w %q", ErrUnknownResource, resName)
		}
		if res.replicaOn(n) != nil {
			return fmt.Errorf("failed to add a replica of %q on node %q: %w", resName, spec.Node, ErrExists)
		}
		r := &replica{res: res, id: res.freeID(), node: n, kind: spec.Kind, dataGen: res.gen, knownGen: res.gen}
		if spec.Kind.diskful() {
			// A new disk holds nothing until its first resync.
			r.dataGen = 0
		}
		res.add(r)
		res.spec.Replicas = append(res.spec.Replicas, spec)
		r.view = newView(r)
		if spec.Kind.diskful() {
			r.view.disk = state.DiskInconsistent
		}
		for _, p := range res.replicas {
			if p != r && p.live() {
				p.view.addPeer(r)
			}
		}
		res.eachLink(func(l *link) {
			if l.a == r || l.b == r {
				c.establish(l)
			}
		})
		return nil
	})
}

// RemoveReplica deletes a node's replica of a resource, as LINSTOR does when
// it deletes a diskless replica after a volume is detached: the node's DRBD
// drops the resource (when it runs), the peers drop their connection to it
// and it no longer counts for quorum. It fails while the device is open, and
// for the last replica (remove the resource instead).
func (c *Cluster) RemoveReplica(nodeName, resName string) error {
	return c.do(func() error {
		n, err := c.node(nodeName)
		if err != nil {
			return fmt.Errorf("failed to remove a replica: %w", err)
		}
		res, ok := c.resources[resName]
		if !ok {
			return fmt.Errorf("failed to remove a replica: %w %q", ErrUnknownResource, resName)
		}
		r := res.replicaOn(n)
		if r == nil {
			return fmt.Errorf("failed to remove a replica: %w %q on node %q", ErrUnknownResource, resName, nodeName)
		}
		if r.live() && r.view.open {
			return stateChangeError(resName, SSDeviceInUse)
		}
		if len(res.replicas) == 1 {
			return fmt.Errorf("%w: %q is the last replica of %q: remove the resource instead", ErrInvalid, nodeName, resName)
		}
		c.discardView(r)
		for _, l := range res.links {
			if l.a == r || l.b == r {
				c.cancel(l.connect)
			}
		}
		for _, p := range res.replicas {
			if p.live() && p != r {
				c.cancel(p.view.peers[r].detect)
				delete(p.view.peers, r)
			}
		}
		res.replicas = slices.DeleteFunc(res.replicas, func(p *replica) bool { return p == r })
		res.links = slices.DeleteFunc(res.links, func(l *link) bool { return l.a == r || l.b == r })
		res.spec.Replicas = slices.DeleteFunc(res.spec.Replicas, func(s ReplicaSpec) bool { return s.Node == nodeName })
		return nil
	})
}
