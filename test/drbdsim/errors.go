package drbdsim

import (
	"errors"
	"fmt"
)

var (
	// ErrClosed is returned by every method once the cluster is closed, and
	// ends its streams.
	ErrClosed = errors.New("drbdsim: cluster closed")
	// ErrInvalid wraps errors about invalid arguments.
	ErrInvalid = errors.New("invalid argument")
	// ErrUnknownNode wraps errors about a node the cluster does not have.
	ErrUnknownNode = errors.New("unknown node")
	// ErrUnknownResource wraps errors about a resource that does not exist
	// on a node (or at all).
	ErrUnknownResource = errors.New("unknown resource")
	// ErrNodeDown wraps errors about a crashed node: its DRBD does not
	// answer. It also ends the node's event streams.
	ErrNodeDown = errors.New("node is down")
	// ErrExists wraps errors about adding what already exists.
	ErrExists = errors.New("already exists")
	// ErrStreamClosed ends a stream that its subscriber closed.
	ErrStreamClosed = errors.New("stream closed")
	// ErrCloseBlocked wraps the answer of CloseDevice on a Primary whose I/O
	// is frozen (suspended for lack of quorum, or waiting for a lost peer
	// not noticed yet), and of OpenDevice while such a close is pending. The
	// openers hang in uninterruptible sleep in I/O that neither completes
	// nor fails, so they cannot exit, the file system cannot be unmounted
	// and the device stays open. The close is recorded as pending and
	// completes by itself once I/O resumes (quorum is back) or fails
	// (secondary --force, on-no-quorum io-error, no access to UpToDate
	// data); ClosePending tells whether it still waits.
	ErrCloseBlocked = errors.New("close blocked: I/O is suspended, the openers hang in uninterruptible sleep; " +
		"the close waits until I/O resumes or fails")
)

// DRBD's state change results that the simulator returns, as the kernel
// numbers them (enum drbd_state_rv).
const (
	SSTwoPrimaries      = -1
	SSNoUpToDateDisk    = -2
	SSDeviceInUse       = -12
	SSTimeout           = -23
	SSNoQuorum          = -25
	errResourceNotKnown = 158
)

// StateChangeError is a state change that DRBD refused, such as a promotion
// without quorum or a demotion of a device that is held open. drbdsetup
// reports it as "State change failed" with exit code 11.
type StateChangeError struct {
	Resource string
	// Code is the kernel's result code (SSNoQuorum, SSDeviceInUse, ...).
	Code int
	// Reason is the kernel's text for Code.
	Reason string
}

func (e *StateChangeError) Error() string {
	return fmt.Sprintf("%s: State change failed: (%d) %s", e.Resource, e.Code, e.Reason)
}

func stateChangeError(res string, code int) *StateChangeError {
	reasons := map[int]string{
		SSTwoPrimaries:   "Multiple primaries not allowed by config",
		SSNoUpToDateDisk: "Need access to UpToDate data",
		SSDeviceInUse:    "Device is held open by someone",
		SSTimeout:        "Timeout in operation",
		SSNoQuorum:       "No quorum",
	}
	return &StateChangeError{Resource: res, Code: code, Reason: reasons[code]}
}
