package drbdsim

import (
	"slices"
	"time"

	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
)

// reconcileLocked brings every view in line with the truth, as far as DRBD
// can know it right now; what DRBD learns later is scheduled as timers.
func (c *Cluster) reconcileLocked() {
	for _, res := range c.sortedResources() {
		c.reconcileResource(res)
	}
}

// maxRounds bounds the fixed-point iteration of one resource; each rule
// only moves state forward, so a few rounds always suffice.
const maxRounds = 32

func (c *Cluster) reconcileResource(res *resource) {
	for range maxRounds {
		changed := c.reconcileLinks(res)
		changed = c.updateQuorum(res) || changed
		changed = c.recordWrites(res) || changed
		changed = c.learnDiskStates(res) || changed
		changed = c.propagate(res) || changed
		if !changed {
			break
		}
	}
	c.startResyncs(res)
	c.scheduleCloses(res)
}

// reachable reports whether the replication network lets a and b talk.
func (c *Cluster) reachable(a, b *replica) bool {
	return a.live() && b.live() && !c.cut[pairOf(a.node.name, b.node.name)]
}

// reconcileLinks breaks the sessions the network broke, and schedules what
// each side will notice: the loss, or the reconnect.
func (c *Cluster) reconcileLinks(res *resource) bool {
	changed := false
	res.eachLink(func(l *link) {
		reach := c.reachable(l.a, l.b)
		if l.session && !reach {
			l.session = false
			changed = true
			c.stopResyncBetween(l.a, l.b)
		}
		if l.session {
			return
		}
		c.scheduleDetection(l, l.a, l.b)
		c.scheduleDetection(l, l.b, l.a)
		if l.refused || standAlone(l.a, l.b) || standAlone(l.b, l.a) {
			if c.splitBrain(l.a, l.b) {
				c.cancel(l.connect)
				l.connect = nil
				return
			}
			// The reason to refuse the connection is gone: try again.
			l.refused = false
			for _, side := range [][2]*replica{{l.a, l.b}, {l.b, l.a}} {
				if standAlone(side[0], side[1]) {
					side[0].view.peers[side[1]].disconnect(state.ConnConnecting)
					changed = true
				}
			}
		}
		switch {
		case reach && l.connect == nil:
			l.connect = c.after(c.delays.Reconnect, func() { c.connectLink(res, l) })
		case !reach && l.connect != nil:
			c.cancel(l.connect)
			l.connect = nil
		}
	})
	return changed
}

func standAlone(side, peer *replica) bool {
	return side.live() && side.view.peers[peer].state == state.ConnStandAlone
}

// splitBrain reports whether a and b must refuse to connect: the
// connection would join two Primaries (DRBD does not allow two), or one of
// them is a Primary whose data is older than the other's (see behind).
func (c *Cluster) splitBrain(a, b *replica) bool {
	aPrimary := a.live() && a.view.role == state.RolePrimary
	bPrimary := b.live() && b.view.role == state.RolePrimary
	if (aPrimary && behind(a, b)) || (bPrimary && behind(b, a)) {
		return true
	}
	pa, pb := c.connectedPrimary(a), c.connectedPrimary(b)
	return pa != nil && pb != nil && pa != pb
}

// connectedPrimary returns a Primary that r is, or reaches through working
// sessions, or nil.
func (c *Cluster) connectedPrimary(r *replica) *replica {
	var found *replica
	res := r.res
	c.search(res, r, func(a, b *replica) bool { return res.link(a, b).session }, func(p *replica) bool {
		if p.live() && p.view.role == state.RolePrimary {
			found = p
			return true
		}
		return false
	})
	return found
}

// behind reports whether r, a Primary, must not connect to peer because its
// data is older: a diskful r's data is older than what peer knows of; a
// diskless r exposes older data than peer's UpToDate disk holds (DRBD
// compares the diskless Primary's exposed data generation with the current
// generation of a peer with UpToDate data).
func behind(r, peer *replica) bool {
	if r.kind.diskful() {
		return peer.knownGen > r.dataGen
	}
	return hasNewerData(r, peer)
}

// hasNewerData reports whether the resync handshake shows r that peer's disk
// holds newer data than r has (diskful r: r would be its SyncTarget) or
// exposes (diskless r: peer is UpToDate with a successor generation).
func hasNewerData(r, peer *replica) bool {
	if !peer.live() || !peer.kind.diskful() || peer.dataGen <= r.dataGen {
		return false
	}
	if r.kind.diskful() {
		return peer.view.disk != state.DiskInconsistent && peer.view.disk != state.DiskDiskless
	}
	return peer.view.disk == state.DiskUpToDate
}

// detectionDelay is how long side takes to notice a dead session: a Primary
// with the device open has requests in flight, which time out after
// timeout; otherwise the next ping goes unanswered.
func (c *Cluster) detectionDelay(side *replica) time.Duration {
	if side.view.role == state.RolePrimary && side.view.open {
		return c.delays.Timeout
	}
	return c.delays.PingInt + c.delays.PingTimeout
}

// scheduleDetection makes side notice, in time, that its session with peer
// is gone. A side that starts writing meanwhile notices sooner: its
// requests time out.
func (c *Cluster) scheduleDetection(l *link, side, peer *replica) {
	if !side.live() {
		return
	}
	pv := side.view.peers[peer]
	if pv.state != state.ConnConnected {
		return
	}
	at := c.now.Add(c.detectionDelay(side))
	if pv.detect != nil {
		if !pv.detect.at.After(at) {
			return
		}
		c.cancel(pv.detect)
	}
	v := side.view
	pv.detect = c.after(at.Sub(c.now), func() {
		pv := v.peers[peer]
		pv.detect = nil
		if side.view == v && !l.session && pv.state == state.ConnConnected {
			pv.disconnect(state.ConnConnecting)
		}
	})
}

// connectLink is the handshake of two replicas that can reach each other.
func (c *Cluster) connectLink(res *resource, l *link) {
	l.connect = nil
	if res.deleted || l.session || !c.reachable(l.a, l.b) {
		return
	}
	for _, side := range [][2]*replica{{l.a, l.b}, {l.b, l.a}} {
		pv := side[0].view.peers[side[1]]
		c.cancel(pv.detect)
		pv.detect = nil
	}
	if c.splitBrain(l.a, l.b) {
		c.refuseConnection(res, l)
		return
	}
	l.session = true
	for _, side := range [][2]*replica{{l.a, l.b}, {l.b, l.a}} {
		pv := side[0].view.peers[side[1]]
		pv.state = state.ConnConnected
		pv.repl = state.ReplEstablished
	}
	c.propagate(res)
}

// refuseConnection handles a handshake after which a and b must not connect
// (see splitBrain). What each side learned from it still applies: a
// diskful Secondary that sees newer data on the peer's disk marks its own
// Outdated, and so does a Primary whose I/O is suspended (with DRBD's
// default on-no-data-accessible io-error). Such a suspended Primary then
// follows on-suspended-primary-outdated: with disconnect it stays Primary;
// with force-secondary it demotes at once, an open device failing all I/O
// until closed, and the connection is retried, now as a Secondary, as DRBD
// does with rr-conflict retry-connect. A diskful side that stays Primary
// disconnects: both sides go StandAlone (rr-conflict disconnect). A diskless
// Primary that exposes older data keeps retrying instead: both sides stay
// Connecting.
func (c *Cluster) refuseConnection(res *resource, l *link) {
	retry := false
	for _, side := range [][2]*replica{{l.a, l.b}, {l.b, l.a}} {
		r, peer := side[0], side[1]
		if !hasNewerData(r, peer) {
			continue
		}
		v := r.view
		primary := v.role == state.RolePrimary
		if primary && !v.suspendedQuorum {
			if !r.kind.diskful() {
				retry = true
			}
			continue
		}
		r.knownGen = max(r.knownGen, peer.dataGen)
		if !primary {
			// learnDiskStates outdates it.
			continue
		}
		if r.kind.diskful() {
			v.disk = state.DiskOutdated
		}
		if res.spec.OnSuspendedPrimaryOutdated == OnSuspendedPrimaryOutdatedForceSecondary {
			forceSecondary(v)
		} else if !r.kind.diskful() {
			retry = true
		}
	}
	switch {
	case !c.splitBrain(l.a, l.b):
		// The reason is gone (a forced demotion): reconcileLinks tries
		// again after the reconnect delay.
	case retry:
		l.refused = true
	default:
		l.a.view.peers[l.b].disconnect(state.ConnStandAlone)
		l.b.view.peers[l.a].disconnect(state.ConnStandAlone)
	}
}

// updateQuorum computes each view's quorum and what losing it does to a
// Primary. A Primary whose data is behind stays frozen even when it
// regains quorum.
func (c *Cluster) updateQuorum(res *resource) bool {
	changed := false
	for _, r := range res.replicas {
		v := r.view
		if v == nil {
			continue
		}
		q := c.hasQuorum(r)
		suspended, ioFail := v.suspendedQuorum, v.quorumIOFail
		if v.role == state.RolePrimary && !q {
			if res.spec.OnNoQuorum == OnNoQuorumIOError {
				ioFail = true
			} else {
				suspended = true
			}
		}
		if q && !r.behindTruth() {
			suspended, ioFail = false, false
		}
		if q != v.quorum || suspended != v.suspendedQuorum || ioFail != v.quorumIOFail {
			v.quorum, v.suspendedQuorum, v.quorumIOFail = q, suspended, ioFail
			changed = true
		}
	}
	return changed
}

// recordWrites follows the data. A writer's writes reach the diskful
// replicas it is connected to; when a diskful replica that had the same
// data misses them, the data moves to a new generation and that replica is
// stale. Every replica the writer reaches over the network, directly or
// through other nodes, hears of the new generation at once (DRBD outdates
// the others through any path it has); a replica cut off from it cannot
// know.
func (c *Cluster) recordWrites(res *resource) bool {
	changed := false
	for _, w := range res.replicas {
		if !w.writing() {
			continue
		}
		// The writer's data is the newest it reaches, and the replicas
		// that hold it receive the writes.
		var gen uint64
		var receivers []*replica
		for _, p := range res.replicas {
			if p.kind.diskful() && (p == w || (w.view.peers[p].state == state.ConnConnected && p.view.disk == state.DiskUpToDate)) {
				gen = max(gen, p.dataGen)
				receivers = append(receivers, p)
			}
		}
		receivers = slices.DeleteFunc(receivers, func(p *replica) bool { return p.dataGen != gen })
		for _, p := range res.replicas {
			if p.kind.diskful() && p.dataGen >= gen && !slices.Contains(receivers, p) {
				res.gen++
				gen = res.gen
				for _, q := range receivers {
					q.dataGen = gen
				}
				changed = true
				break
			}
		}
		if !w.kind.diskful() && w.dataGen != gen {
			// A diskless writer exposes the data it writes to.
			w.dataGen = gen
			changed = true
		}
		for _, p := range res.replicas {
			if p.knownGen < gen && (p == w || c.reachableThrough(res, w, p)) {
				p.knownGen = gen
				changed = true
			}
		}
	}
	return changed
}

func upToDateish(disk string) bool {
	return disk == state.DiskUpToDate || disk == state.DiskConsistent
}

// learnDiskStates applies what replicas know: a Secondary that heard of
// newer data than its own is Outdated; a Consistent one that met a peer
// and heard of nothing newer is UpToDate. A Primary is not outdated by what
// it hears: it refuses the connection instead, and only a suspended one
// marks its disk Outdated after the handshake (see refuseConnection).
func (c *Cluster) learnDiskStates(res *resource) bool {
	changed := false
	for _, r := range res.replicas {
		if !r.live() || !r.kind.diskful() {
			continue
		}
		switch {
		case r.knownGen > r.dataGen && upToDateish(r.view.disk) && r.view.role != state.RolePrimary:
			r.view.disk = state.DiskOutdated
			changed = true
		case r.knownGen <= r.dataGen && r.view.disk == state.DiskConsistent && c.hasSession(res, r):
			r.view.disk = state.DiskUpToDate
			changed = true
		}
	}
	return changed
}

func (c *Cluster) hasSession(res *resource, r *replica) bool {
	for _, p := range res.replicas {
		if p != r && res.link(r, p).session {
			return true
		}
	}
	return false
}

// missesWrites reports whether some writer does not reach r, so that a
// resync could not bring r up to date.
func missesWrites(res *resource, r *replica) bool {
	for _, w := range res.replicas {
		if w != r && w.writing() && w.view.peers[r].state != state.ConnConnected {
			return true
		}
	}
	return false
}

// startResyncs lets every stale replica that is connected to a peer with
// UpToDate data resync from it. The resync starts a moment later, after the
// replica has shown that it is Outdated, as DRBD's handshake does.
func (c *Cluster) startResyncs(res *resource) {
	for _, r := range res.replicas {
		if r.live() && r.view.syncSource == nil && r.view.syncStarting == nil && c.syncSourceFor(res, r) != nil {
			v := r.view
			v.syncStarting = c.after(0, func() {
				v.syncStarting = nil
				if r.view != v || v.syncSource != nil {
					return
				}
				if src := c.syncSourceFor(res, r); src != nil {
					c.startResync(res, r, src)
				}
			})
		}
	}
}

// syncSourceFor returns the connected peer with UpToDate data that is
// newer than r's, or nil.
func (c *Cluster) syncSourceFor(res *resource, r *replica) *replica {
	if !r.kind.diskful() || r.view.role == state.RolePrimary || missesWrites(res, r) {
		return nil
	}
	for _, src := range res.replicas {
		if src != r && src.live() && src.kind.diskful() && src.dataGen > r.dataGen &&
			src.view.disk == state.DiskUpToDate && res.link(r, src).session {
			return src
		}
	}
	return nil
}

func (c *Cluster) startResync(res *resource, target, source *replica) {
	v := target.view
	v.disk = state.DiskInconsistent
	v.syncSource = source
	v.syncStart = c.now
	v.peers[source].repl = state.ReplSyncTarget
	source.view.peers[target].repl = state.ReplSyncSource
	v.syncTimer = c.after(c.delays.Resync, func() {
		v.syncTimer = nil
		if target.view != v || v.syncSource != source {
			return
		}
		v.syncSource = nil
		v.peers[source].repl = state.ReplEstablished
		if source.live() {
			source.view.peers[target].repl = state.ReplEstablished
		}
		if !res.link(target, source).session || missesWrites(res, target) {
			// Interrupted: the data stays Inconsistent until the next
			// resync.
			return
		}
		target.dataGen = source.dataGen
		target.knownGen = max(target.knownGen, source.dataGen)
		v.disk = state.DiskUpToDate
	})
}

// stopResync interrupts the resync of target; its data stays Inconsistent.
func (c *Cluster) stopResync(target *replica) {
	v := target.view
	if v == nil || v.syncSource == nil {
		return
	}
	c.cancel(v.syncTimer)
	v.syncTimer = nil
	v.syncSource = nil
}

func (c *Cluster) stopResyncBetween(a, b *replica) {
	if a.live() && a.view.syncSource == b {
		c.stopResync(a)
	}
	if b.live() && b.view.syncSource == a {
		c.stopResync(b)
	}
}

// propagate tells both sides of every working session the other's role
// and disk, and the newest data generation the other knows of.
func (c *Cluster) propagate(res *resource) bool {
	changed := false
	res.eachLink(func(l *link) {
		if !l.session {
			return
		}
		for _, side := range [][2]*replica{{l.a, l.b}, {l.b, l.a}} {
			v, other := side[0].view, side[1]
			pv := v.peers[other]
			role, disk := other.view.role, other.diskState()
			if pv.role != role || pv.disk != disk {
				pv.role, pv.disk = role, disk
				changed = true
			}
			if other.knownGen > side[0].knownGen {
				side[0].knownGen = other.knownGen
				changed = true
			}
		}
	})
	return changed
}
