package drbdsim

import (
	"cmp"
	"slices"
	"time"

	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
)

// resource is a DRBD resource with its replicas and the links between them.
type resource struct {
	spec ResourceSpec
	// minor is the minor number of volume 0; volume v has minor+v.
	minor uint32
	port  uint16
	// replicas are in node id order; ids of removed replicas are free.
	replicas []*replica
	// links are the links between every two replicas, in node id order.
	links []*link
	// deleted is set when the resource is removed, for pending timers.
	deleted bool
	// gen is the generation of the newest data: it moves on whenever a
	// writer writes while a replica that had its data misses the writes.
	gen uint64
}

func (res *resource) replicaOn(n *node) *replica {
	for _, r := range res.replicas {
		if r.node == n {
			return r
		}
	}
	return nil
}

func (res *resource) byID(id int32) *replica {
	for _, r := range res.replicas {
		if r.id == id {
			return r
		}
	}
	return nil
}

// freeID returns the lowest node id no replica has.
func (res *resource) freeID() int32 {
	for id := int32(0); ; id++ {
		if res.byID(id) == nil {
			return id
		}
	}
}

func (res *resource) link(a, b *replica) *link {
	for _, l := range res.links {
		if (l.a == a && l.b == b) || (l.a == b && l.b == a) {
			return l
		}
	}
	return nil
}

func (res *resource) eachLink(fn func(l *link)) {
	for _, l := range res.links {
		fn(l)
	}
}

// add adds a replica, with a new link to every other one, keeping both in
// node id order.
func (res *resource) add(r *replica) {
	for _, p := range res.replicas {
		res.links = append(res.links, &link{a: p, b: r})
	}
	res.replicas = append(res.replicas, r)
	byID := func(a, b *replica) int { return cmp.Compare(a.id, b.id) }
	slices.SortFunc(res.replicas, byID)
	for _, l := range res.links {
		if l.a.id > l.b.id {
			l.a, l.b = l.b, l.a
		}
	}
	slices.SortFunc(res.links, func(x, y *link) int {
		if d := byID(x.a, y.a); d != 0 {
			return d
		}
		return byID(x.b, y.b)
	})
}

func (res *resource) quorumEnabled() bool { return res.spec.Quorum == QuorumMajority }

// replica is one node's replica of a resource: the truth about it, and the
// view its node's DRBD has (nil while the node is down or the resource is
// down there).
type replica struct {
	res  *resource
	id   int32
	node *node
	kind ReplicaKind
	// down is true after a graceful DownReplica.
	down bool
	// dataGen is the generation of the replica's data; for a diskless
	// replica, the generation of the data it exposes while Primary (set when
	// it is promoted and when it writes). knownGen is the newest generation
	// the replica has heard of. A diskful replica whose knownGen is newer
	// than its data knows that it is Outdated.
	dataGen, knownGen uint64

	view *replicaView
}

// stale reports whether the replica's data missed writes.
func (r *replica) stale() bool {
	return r.kind.diskful() && r.dataGen < r.res.gen
}

// live reports whether DRBD runs the resource on this replica's node.
func (r *replica) live() bool { return r.view != nil }

// diskState is what the replica's own DRBD reports as its disk.
func (r *replica) diskState() string {
	if !r.kind.diskful() {
		return state.DiskDiskless
	}
	return r.view.disk
}

// canWrite reports whether writes on the replica complete: it is Primary,
// its I/O is neither suspended nor failing, it reaches UpToDate data (a
// Primary without access to UpToDate data fails its I/O, as DRBD's default
// on-no-data-accessible io-error does) and no write hangs.
func (r *replica) canWrite() bool {
	v := r.view
	return v != nil && v.role == state.RolePrimary && v.ioFlows() && r.accessesData() && !r.writesHang()
}

// accessesData reports whether the replica's view has UpToDate data: its
// own disk, or a connected peer's.
func (r *replica) accessesData() bool {
	if r.diskState() == state.DiskUpToDate {
		return true
	}
	for _, p := range r.res.replicas {
		if p != r && r.view.peers[p].state == state.ConnConnected && r.view.peers[p].disk == state.DiskUpToDate {
			return true
		}
	}
	return false
}

// writing reports whether the replica's device is open and its writes
// complete, which makes every replica it does not reach miss writes.
func (r *replica) writing() bool {
	return r.canWrite() && r.view.open
}

// writesHang reports whether writes wait for the acknowledgement of a
// diskful peer whose session is gone but not yet noticed: they complete
// only once the replica notices and, if it keeps quorum, goes on without
// that peer.
func (r *replica) writesHang() bool { return r.hangingOn() != nil }

// hangingOn returns the lost diskful peer whose acknowledgements r's writes
// wait for, or nil.
func (r *replica) hangingOn() *replica {
	for _, p := range r.res.replicas {
		if p != r && p.kind.diskful() && r.view.peers[p].state == state.ConnConnected && !r.res.link(r, p).session {
			return p
		}
	}
	return nil
}

// ioStuck says why I/O on r's device neither completes nor fails, or
// returns "" when it does one or the other. A Primary's I/O is stuck while
// it is suspended for lack of quorum (on-no-quorum suspend-io) or while its
// writes wait for a lost peer it has not noticed yet; it is not when it
// fails: on-no-quorum io-error, force-io-failures, or no access to UpToDate
// data. Processes in stuck I/O sleep uninterruptibly: they cannot exit and
// so cannot close the device.
func (r *replica) ioStuck() string {
	v := r.view
	if v == nil || v.role != state.RolePrimary || v.failsIO() || !r.accessesData() {
		return ""
	}
	if v.suspendedQuorum {
		return "I/O suspended for lack of quorum"
	}
	if p := r.hangingOn(); p != nil {
		return "writes wait for the lost peer " + p.node.name
	}
	return ""
}

// behindTruth reports whether the data r works with is older than the
// newest: a diskful replica that missed writes, or a diskless Primary whose
// peers' data moved on without it.
func (r *replica) behindTruth() bool {
	if r.kind.diskful() {
		return r.stale()
	}
	return r.view != nil && r.view.role == state.RolePrimary && r.dataGen < r.res.gen
}

// replicaView is what one node's DRBD knows about one resource.
type replicaView struct {
	role string
	open bool
	// autoPromoted is true when OpenDevice promoted the resource, so that
	// CloseDevice demotes it again.
	autoPromoted bool
	disk         string
	quorum       bool
	// suspendedQuorum freezes I/O (on-no-quorum suspend-io); quorumIOFail
	// fails it (on-no-quorum io-error); forcedIOFail fails it after a
	// forced demotion (`secondary --force`, on-suspended-primary-outdated
	// force-secondary) while the device stays open: it is DRBD's
	// force-io-failures, which only the last close clears.
	suspendedQuorum bool
	quorumIOFail    bool
	forcedIOFail    bool
	// closePending is a CloseDevice that waits for stuck I/O (see ioStuck):
	// the device stays open until the I/O resumes or fails, and closing is
	// its pending completion once it does.
	closePending bool
	closing      *timer
	// peers holds what the node knows of every other replica.
	peers map[*replica]*peerView
	// syncSource is the peer this replica resyncs from, if any;
	// syncStarting is the pending start of a resync.
	syncSource   *replica
	syncStarting *timer
	syncStart    time.Time
	syncTimer    *timer
}

func (v *replicaView) ioFlows() bool {
	return !v.suspendedQuorum && !v.quorumIOFail && !v.forcedIOFail
}

// failsIO reports whether the node fails I/O because of its quorum policy
// or a forced demotion. Only the latter is force-io-failures in events2:
// on-no-quorum io-error fails requests without setting it.
func (v *replicaView) failsIO() bool { return v.quorumIOFail || v.forcedIOFail }

// peerView is what a node's DRBD knows about one peer.
type peerView struct {
	state string
	// role and disk are the peer's as last known.
	role, disk string
	repl       string
	// detect is the pending notice that the session is gone.
	detect *timer
}

// disconnect forgets the peer, as DRBD does when a connection is lost.
func (p *peerView) disconnect(st string) {
	p.state = st
	p.role = state.RoleUnknown
	p.disk = state.DiskUnknown
	p.repl = state.ReplOff
}

// link is the replication connection between two replicas.
type link struct {
	a, b *replica
	// session is true while a DRBD connection between the two is
	// established and working. When the network breaks it, each side keeps
	// believing it is connected until it notices.
	session bool
	connect *timer
	// refused is set while a diskless Primary refuses the connection
	// because the peer has newer data than it exposes: DRBD keeps retrying
	// (both sides stay Connecting) and fails every time, until the reason
	// goes away; the simulator retries only then.
	refused bool
}

// newView creates the view of a replica whose node starts DRBD for the
// resource: Secondary, not connected, and a disk that is Consistent, or
// Outdated when it missed writes.
func newView(r *replica) *replicaView {
	v := &replicaView{role: state.RoleSecondary, disk: state.DiskDiskless, peers: make(map[*replica]*peerView)}
	if r.kind.diskful() {
		v.disk = state.DiskConsistent
		if r.stale() {
			v.disk = state.DiskOutdated
		}
	}
	for _, p := range r.res.replicas {
		if p != r {
			v.addPeer(p)
		}
	}
	return v
}

func (v *replicaView) addPeer(p *replica) {
	pv := &peerView{}
	pv.disconnect(state.ConnConnecting)
	v.peers[p] = pv
}

// discardView drops what a replica's DRBD knew, with its pending timers.
func (c *Cluster) discardView(r *replica) {
	if r.view == nil {
		return
	}
	for _, pv := range r.view.peers {
		c.cancel(pv.detect)
	}
	c.cancel(r.view.syncTimer)
	c.cancel(r.view.syncStarting)
	// A pending close dies with the node's processes.
	c.cancel(r.view.closing)
	r.view = nil
	for _, p := range r.res.replicas {
		if p.view != nil && p.view.syncSource == r {
			c.stopResync(p)
		}
	}
}
