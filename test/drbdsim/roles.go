package drbdsim

import (
	"errors"
	"fmt"

	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
)

// OpenError is a failed OpenDevice: DRBD could not auto-promote the resource, so
// opening the device for writing fails as it does on a real node.
type OpenError struct {
	Node, Resource string
	Minor          uint32
	// Cause says why the promotion was refused; a *StateChangeError when
	// DRBD refused the state change.
	Cause error
}

func (e *OpenError) Error() string {
	return fmt.Sprintf("failed to open /dev/drbd%d (resource %s) on node %s: Read-only file system (auto-promote failed: %v)",
		e.Minor, e.Resource, e.Node, e.Cause)
}

func (e *OpenError) Unwrap() error { return e.Cause }

// errMayNotPromote is the cause of an OpenDevice refused because the view does not
// allow promotion, when no more specific reason applies.
var errMayNotPromote = errors.New("may_promote is no")

// OpenDevice opens the resource's devices for writing on a node, as an application
// (a mount) does: DRBD promotes the resource to Primary, which it allows
// only when the node's view says may_promote:yes, or when it is Primary
// already. It fails, wrapping ErrCloseBlocked, while a close of the device
// is pending (see CloseDevice).
func (c *Cluster) OpenDevice(nodeName, resName string) error {
	return c.do(func() error {
		r, err := c.liveReplica(nodeName, resName)
		if err != nil {
			return fmt.Errorf("failed to open: %w", err)
		}
		v := r.view
		if v.closePending {
			return fmt.Errorf("failed to open /dev/drbd%d (resource %s) on node %s: its previous openers are still closing it: %w",
				r.res.minor, resName, nodeName, ErrCloseBlocked)
		}
		if v.role == state.RolePrimary {
			v.open = true
			return nil
		}
		cause := c.promotionError(r)
		if cause == nil && c.renderView(r).MayPromote != state.FlagYes {
			cause = errMayNotPromote
		}
		if cause != nil {
			return &OpenError{Node: nodeName, Resource: resName, Minor: r.res.minor, Cause: cause}
		}
		promote(r)
		v.open = true
		v.autoPromoted = true
		return nil
	})
}

// CloseDevice closes the resource's devices on a node, as the application's
// exit (an unmount) does. When OpenDevice promoted the resource, DRBD
// demotes it to Secondary again.
//
// While the node is Primary and its I/O is stuck, neither completing nor
// failing (suspended for lack of quorum, or waiting for a lost peer not yet
// noticed), the openers hang in uninterruptible sleep: the close does not
// complete. CloseDevice then records a pending close and returns an error
// wrapping ErrCloseBlocked; the device stays open (open:yes in events2).
// The pending close completes by itself, with the demotion, as soon as the
// I/O resumes (quorum is back) or fails (secondary --force, a forced
// demotion by on-suspended-primary-outdated, on-no-quorum io-error, loss of
// access to UpToDate data). Another CloseDevice meanwhile returns
// ErrCloseBlocked again and changes nothing; a crash of the node drops the
// pending close. ClosePending tells whether one waits.
func (c *Cluster) CloseDevice(nodeName, resName string) error {
	var blocked error
	err := c.do(func() error {
		r, err := c.liveReplica(nodeName, resName)
		if err != nil {
			return fmt.Errorf("failed to close: %w", err)
		}
		v := r.view
		why := r.ioStuck()
		if v.open && (v.closePending || why != "") {
			switch {
			case v.closePending && why != "":
				why = "a close is already pending; " + why
			case v.closePending:
				why = "a close is already pending"
			}
			v.closePending = true
			blocked = fmt.Errorf("failed to close /dev/drbd%d (resource %s) on node %s: %w (%s)",
				r.res.minor, resName, nodeName, ErrCloseBlocked, why)
			return nil
		}
		c.closeDevice(r)
		return nil
	})
	if err != nil {
		return err
	}
	return blocked
}

// ClosePending reports whether a CloseDevice on the node waits for the
// device's stuck I/O (see CloseDevice).
func (c *Cluster) ClosePending(nodeName, resName string) (bool, error) {
	var pending bool
	err := c.do(func() error {
		r, err := c.liveReplica(nodeName, resName)
		if err != nil {
			return err
		}
		pending = r.view.closePending
		return nil
	})
	return pending, err
}

// closeDevice completes a close: the last opener is gone, which clears
// force-io-failures, and an auto-promoted resource is demoted.
func (c *Cluster) closeDevice(r *replica) {
	v := r.view
	c.cancel(v.closing)
	v.closing = nil
	v.closePending = false
	v.open = false
	v.forcedIOFail = false
	if v.autoPromoted {
		demote(v)
	}
}

// scheduleCloses completes the pending closes whose I/O no longer hangs: the
// frozen requests return (with success or with an error), the openers exit
// and close the device, a moment after the I/O resumed or started to fail,
// so that events2 shows the two as separate changes.
func (c *Cluster) scheduleCloses(res *resource) {
	for _, r := range res.replicas {
		v := r.view
		if v == nil || !v.closePending || v.closing != nil || r.ioStuck() != "" {
			continue
		}
		v.closing = c.after(0, func() {
			v.closing = nil
			if r.view == v && v.closePending && r.ioStuck() == "" {
				c.closeDevice(r)
			}
		})
	}
}

// promote makes r Primary. A diskless Primary exposes the data of the
// UpToDate peers it reaches.
func promote(r *replica) {
	v := r.view
	v.role = state.RolePrimary
	if r.kind.diskful() {
		return
	}
	var gen uint64
	for _, p := range r.res.replicas {
		if p != r && p.kind.diskful() && v.peers[p].state == state.ConnConnected && v.peers[p].disk == state.DiskUpToDate {
			gen = max(gen, p.dataGen)
		}
	}
	r.dataGen = gen
}

func demote(v *replicaView) {
	v.role = state.RoleSecondary
	v.autoPromoted = false
	v.suspendedQuorum = false
	v.quorumIOFail = false
}

// forceSecondary demotes a Primary whatever its openers do, as DRBD does
// for `secondary --force` and for on-suspended-primary-outdated
// force-secondary: an open device stays open and fails all I/O, pending and
// new (force-io-failures:yes), until its last opener closes it. The failed
// requests return, so openers stuck in frozen I/O can exit.
func forceSecondary(v *replicaView) {
	demote(v)
	if v.open {
		v.forcedIOFail = true
	}
}

// Primary promotes the resource on a node, as `drbdsetup primary` does.
// With force, a diskful replica that has no access to UpToDate data declares
// its own data UpToDate, and every other replica behind it; quorum and other
// Primaries are never overridden. A refusal is a *StateChangeError.
func (c *Cluster) Primary(nodeName, resName string, force bool) error {
	return c.do(func() error {
		r, err := c.liveReplica(nodeName, resName)
		if err != nil {
			return err
		}
		v := r.view
		if v.role == state.RolePrimary {
			return nil
		}
		err = c.promotionError(r)
		var sce *StateChangeError
		if force && r.kind.diskful() && errors.As(err, &sce) && sce.Code == SSNoUpToDateDisk {
			// The forced replica's data becomes the data: every other
			// replica is now behind it.
			err = nil
			v.disk = state.DiskUpToDate
			r.res.gen++
			r.dataGen, r.knownGen = r.res.gen, r.res.gen
		}
		if err != nil {
			return err
		}
		promote(r)
		return nil
	})
}

// Secondary demotes the resource on a node, as `drbdsetup secondary` does.
// It fails while the device is open, unless forced: then the device stays
// open and fails all I/O (force-io-failures:yes) until closed. Forced on a
// Primary whose I/O is frozen, it fails the frozen requests too, so that a
// pending close completes.
func (c *Cluster) Secondary(nodeName, resName string, force bool) error {
	return c.do(func() error {
		r, err := c.liveReplica(nodeName, resName)
		if err != nil {
			return err
		}
		v := r.view
		if v.role != state.RolePrimary {
			return nil
		}
		if v.open && !force {
			return stateChangeError(resName, SSDeviceInUse)
		}
		forceSecondary(v)
		return nil
	})
}

// promotionError returns why DRBD refuses to promote r, or nil.
func (c *Cluster) promotionError(r *replica) error {
	v := r.view
	name := r.res.spec.Name
	if v.forcedIOFail {
		return stateChangeError(name, SSDeviceInUse)
	}
	if c.primaryConnected(r) {
		return stateChangeError(name, SSTwoPrimaries)
	}
	for _, p := range r.res.replicas {
		// A promotion is a cluster-wide transaction: a peer that the view
		// believes connected but that does not answer makes it time out.
		if p != r && v.peers[p].state == state.ConnConnected && !r.res.link(r, p).session {
			return stateChangeError(name, SSTimeout)
		}
	}
	if r.res.quorumEnabled() && !v.quorum {
		return stateChangeError(name, SSNoQuorum)
	}
	if r.diskState() == state.DiskUpToDate {
		return nil
	}
	for _, p := range r.res.replicas {
		if p != r && v.peers[p].state == state.ConnConnected && v.peers[p].disk == state.DiskUpToDate {
			return nil
		}
	}
	return stateChangeError(name, SSNoUpToDateDisk)
}

// Writers returns the nodes whose writes to a resource complete right now:
// Primary, with I/O neither suspended nor failing, and not hanging on a
// peer whose loss the node has not noticed yet (see DRBD's protocol C).
// This is the ground truth for "never two writers".
func (c *Cluster) Writers(resName string) ([]string, error) {
	var writers []string
	err := c.do(func() error {
		res, ok := c.resources[resName]
		if !ok {
			return fmt.Errorf("%w %q", ErrUnknownResource, resName)
		}
		for _, r := range res.replicas {
			if r.canWrite() {
				writers = append(writers, r.node.name)
			}
		}
		return nil
	})
	return writers, err
}
