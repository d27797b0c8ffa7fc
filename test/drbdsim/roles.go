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
// already.
func (c *Cluster) OpenDevice(nodeName, resName string) error {
	return c.do(func() error {
		r, err := c.liveReplica(nodeName, resName)
		if err != nil {
			return fmt.Errorf("failed to open: %w", err)
		}
		v := r.view
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
		v.role = state.RolePrimary
		v.open = true
		v.autoPromoted = true
		return nil
	})
}

// CloseDevice closes the resource's devices on a node. When OpenDevice promoted the
// resource, DRBD demotes it to Secondary again.
func (c *Cluster) CloseDevice(nodeName, resName string) error {
	return c.do(func() error {
		r, err := c.liveReplica(nodeName, resName)
		if err != nil {
			return fmt.Errorf("failed to close: %w", err)
		}
		v := r.view
		v.open = false
		v.forcedIOFail = false
		if v.autoPromoted {
			demote(v)
		}
		return nil
	})
}

func demote(v *replicaView) {
	v.role = state.RoleSecondary
	v.autoPromoted = false
	v.suspendedQuorum = false
	v.quorumIOFail = false
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
		v.role = state.RolePrimary
		return nil
	})
}

// Secondary demotes the resource on a node, as `drbdsetup secondary` does.
// It fails while the device is open, unless forced: then the device stays
// open and fails all I/O (force-io-failures:yes) until closed.
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
		demote(v)
		if v.open {
			v.forcedIOFail = true
		}
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
