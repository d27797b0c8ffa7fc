package state

import (
	"slices"
	"strings"
)

// Values of the state keys that fail-over decisions depend on.
const (
	RolePrimary   = "Primary"
	RoleSecondary = "Secondary"
	RoleUnknown   = "Unknown"

	DiskDiskless     = "Diskless"
	DiskAttaching    = "Attaching"
	DiskDetaching    = "Detaching"
	DiskFailed       = "Failed"
	DiskNegotiating  = "Negotiating"
	DiskInconsistent = "Inconsistent"
	DiskOutdated     = "Outdated"
	DiskUnknown      = "DUnknown"
	DiskConsistent   = "Consistent"
	DiskUpToDate     = "UpToDate"

	ConnStandAlone    = "StandAlone"
	ConnDisconnecting = "Disconnecting"
	ConnUnconnected   = "Unconnected"
	ConnTimeout       = "Timeout"
	ConnBrokenPipe    = "BrokenPipe"
	ConnNetworkFail   = "NetworkFailure"
	ConnProtocolError = "ProtocolError"
	ConnTearDown      = "TearDown"
	ConnConnecting    = "Connecting"
	ConnConnected     = "Connected"

	ReplOff         = "Off"
	ReplEstablished = "Established"
	ReplSyncSource  = "SyncSource"
	ReplSyncTarget  = "SyncTarget"

	// SuspendedNo is the value of "suspended" when I/O flows.
	SuspendedNo = "no"
	// SuspendedQuorum is the suspend reason of on-no-quorum suspend-io.
	SuspendedQuorum = "quorum"
)

// Flag is a yes/no value that a stream may not have reported (yet).
type Flag int8

// The values of a Flag.
const (
	FlagUnknown Flag = iota
	FlagNo
	FlagYes
)

func (f Flag) String() string {
	switch f {
	case FlagYes:
		return "yes"
	case FlagNo:
		return "no"
	}
	return "unknown"
}

// Resource is the state of one DRBD resource as seen from this node.
type Resource struct {
	Name string
	// Role is this node's role: Primary, Secondary or Unknown.
	Role string
	// Suspended is "no" or a comma-separated list of reasons
	// (user, no-data, fencing, quorum); empty when never reported.
	Suspended string
	// MayPromote and PromotionScore are as drbdsetup computed them; older
	// drbd-utils do not print them (see CanPromote).
	MayPromote      Flag
	PromotionScore  int64
	ForceIOFailures bool
	// Devices, sorted by volume number.
	Devices []Device
	// Connections to peers, sorted by peer node id.
	Connections []Connection
}

// Device is one volume of a resource on this node.
type Device struct {
	Volume int32
	Minor  int32
	// Disk is the local disk state (Diskless, UpToDate, Outdated, ...).
	Disk string
	// Client is true for an intentionally diskless replica.
	Client bool
	Quorum bool
	// Open is true while something (a filesystem, a VM) holds the device.
	Open bool
}

// Connection is this node's connection to one peer.
type Connection struct {
	PeerNodeID int32
	// Name is the connection name, which LINSTOR sets to the peer's node
	// name.
	Name string
	// State is the connection state (Connected, Connecting, StandAlone, ...).
	State string
	// PeerRole is the peer's role as last known; Unknown once disconnected.
	PeerRole    string
	PeerDevices []PeerDevice
}

// PeerDevice is the replication state of one volume towards one peer.
type PeerDevice struct {
	Volume          int32
	Replication     string
	PeerDisk        string
	PeerClient      bool
	ResyncSuspended string
}

// IOSuspended reports whether I/O on the resource is frozen here, for any
// reason.
func (r *Resource) IOSuspended() bool {
	return r.Suspended != "" && r.Suspended != SuspendedNo
}

// SuspendedReasons returns the reasons I/O is suspended, nil when it is not.
func (r *Resource) SuspendedReasons() []string {
	if !r.IOSuspended() {
		return nil
	}
	return strings.Split(r.Suspended, ",")
}

// HasQuorum reports whether every local device of the resource has quorum.
// A resource without devices has none: nothing can be written there.
func (r *Resource) HasQuorum() bool {
	if len(r.Devices) == 0 {
		return false
	}
	for i := range r.Devices {
		if !r.Devices[i].Quorum {
			return false
		}
	}
	return true
}

// Diskless reports whether this node holds no data of the resource: every
// device is Diskless.
func (r *Resource) Diskless() bool {
	for i := range r.Devices {
		if r.Devices[i].Disk != DiskDiskless {
			return false
		}
	}
	return true
}

// UpToDate reports whether every local device holds UpToDate data.
func (r *Resource) UpToDate() bool {
	if len(r.Devices) == 0 {
		return false
	}
	for i := range r.Devices {
		if r.Devices[i].Disk != DiskUpToDate {
			return false
		}
	}
	return true
}

// InUse reports whether any device of the resource is open on this node.
func (r *Resource) InUse() bool {
	for i := range r.Devices {
		if r.Devices[i].Open {
			return true
		}
	}
	return false
}

// Connected reports whether the connection is established.
func (c *Connection) Connected() bool { return c.State == ConnConnected }

// UpToDate reports whether the peer is connected and holds UpToDate data of
// every volume.
func (c *Connection) UpToDate() bool {
	if !c.Connected() || len(c.PeerDevices) == 0 {
		return false
	}
	for i := range c.PeerDevices {
		if c.PeerDevices[i].PeerDisk != DiskUpToDate {
			return false
		}
	}
	return true
}

// Connection returns the connection to the peer with the given connection
// name, or nil.
func (r *Resource) Connection(name string) *Connection {
	for i := range r.Connections {
		if r.Connections[i].Name == name {
			return &r.Connections[i]
		}
	}
	return nil
}

// DisconnectedPeers returns the connections that are not established.
func (r *Resource) DisconnectedPeers() []Connection {
	var out []Connection
	for _, c := range r.Connections {
		if !c.Connected() {
			out = append(out, c)
		}
	}
	return out
}

// UpToDatePeers returns the connected peers that hold UpToDate data.
func (r *Resource) UpToDatePeers() []Connection {
	var out []Connection
	for _, c := range r.Connections {
		if c.UpToDate() {
			out = append(out, c)
		}
	}
	return out
}

// CanPromote reports whether this node may become Primary: the may_promote
// that drbdsetup reported, or, for drbd-utils that do not report it, the
// same rule computed from the state (see ComputeMayPromote).
func (r *Resource) CanPromote() bool {
	switch r.MayPromote {
	case FlagYes:
		return true
	case FlagNo:
		return false
	}
	return ComputeMayPromote(r)
}

// Clone returns a deep copy of r.
func (r *Resource) Clone() *Resource {
	c := *r
	c.Devices = append([]Device(nil), r.Devices...)
	c.Connections = make([]Connection, len(r.Connections))
	for i := range r.Connections {
		c.Connections[i] = r.Connections[i]
		c.Connections[i].PeerDevices = append([]PeerDevice(nil), r.Connections[i].PeerDevices...)
	}
	return &c
}

// Equal reports whether r and o describe the same state.
func (r *Resource) Equal(o *Resource) bool {
	return r.Name == o.Name && r.Role == o.Role && r.Suspended == o.Suspended &&
		r.MayPromote == o.MayPromote && r.PromotionScore == o.PromotionScore &&
		r.ForceIOFailures == o.ForceIOFailures &&
		slices.Equal(r.Devices, o.Devices) &&
		slices.EqualFunc(r.Connections, o.Connections, func(a, b Connection) bool {
			return a.PeerNodeID == b.PeerNodeID && a.Name == b.Name && a.State == b.State &&
				a.PeerRole == b.PeerRole && slices.Equal(a.PeerDevices, b.PeerDevices)
		})
}
