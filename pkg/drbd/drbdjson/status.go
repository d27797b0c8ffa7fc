package drbdjson

import (
	"strconv"
)

// Resource is one element of the array that `drbdsetup status --json`
// prints: the state of one DRBD resource on this node.
type Resource struct {
	Name   string `json:"name"`
	NodeID int32  `json:"node-id"`
	// Role is Primary, Secondary or Unknown.
	Role string `json:"role"`
	// Suspended is true when I/O is frozen for any reason; the
	// Suspended* fields below give the reasons.
	Suspended        bool   `json:"suspended"`
	SuspendedUser    bool   `json:"suspended-user"`
	SuspendedNoData  bool   `json:"suspended-no-data"`
	SuspendedFencing bool   `json:"suspended-fencing"`
	SuspendedQuorum  bool   `json:"suspended-quorum"`
	ForceIOFailures  bool   `json:"force-io-failures"`
	WriteOrdering    string `json:"write-ordering"`

	Devices     []Device     `json:"devices"`
	Connections []Connection `json:"connections"`
}

// Device is one local volume of a resource.
type Device struct {
	Volume int32  `json:"volume"`
	Minor  uint32 `json:"minor"`
	// DiskState is the local disk state: Diskless, UpToDate, Outdated, ...
	DiskState string `json:"disk-state"`
	// Client is true for an intentionally diskless replica.
	Client bool `json:"client"`
	Open   bool `json:"open"`
	Quorum bool `json:"quorum"`
	// Size and the traffic counters are in KiB.
	Size         uint64 `json:"size"`
	Read         uint64 `json:"read"`
	Written      uint64 `json:"written"`
	ALWrites     uint64 `json:"al-writes"`
	BMWrites     uint64 `json:"bm-writes"`
	UpperPending uint64 `json:"upper-pending"`
	LowerPending uint64 `json:"lower-pending"`
}

// Connection is this node's connection to one peer.
type Connection struct {
	PeerNodeID int32 `json:"peer-node-id"`
	// Name is the connection name; LINSTOR sets it to the peer's node name.
	Name            string `json:"name"`
	ConnectionState string `json:"connection-state"`
	Congested       bool   `json:"congested"`
	// PeerRole is the peer's role as last known; Unknown when disconnected.
	PeerRole    string       `json:"peer-role"`
	TLS         bool         `json:"tls"`
	APInFlight  uint64       `json:"ap-in-flight"`
	RSInFlight  uint64       `json:"rs-in-flight"`
	Paths       []Path       `json:"paths"`
	PeerDevices []PeerDevice `json:"peer_devices"`
}

// Path is one network path of a connection.
type Path struct {
	ThisHost    Host `json:"this_host"`
	RemoteHost  Host `json:"remote_host"`
	Established bool `json:"established"`
}

// Host is one end of a path.
type Host struct {
	Address string `json:"address"`
	Port    uint16 `json:"port"`
	// Family is ipv4, ipv6, ...
	Family string `json:"family"`
}

// PeerDevice is the replication state of one volume towards one peer.
type PeerDevice struct {
	Volume           int32  `json:"volume"`
	ReplicationState string `json:"replication-state"`
	PeerDiskState    string `json:"peer-disk-state"`
	PeerClient       bool   `json:"peer-client"`
	ResyncSuspended  string `json:"resync-suspended"`
	// The traffic counters are in KiB.
	Received               uint64  `json:"received"`
	Sent                   uint64  `json:"sent"`
	OutOfSync              uint64  `json:"out-of-sync"`
	Pending                uint64  `json:"pending"`
	Unacked                uint64  `json:"unacked"`
	HasSyncDetails         bool    `json:"has-sync-details"`
	HasOnlineVerifyDetails bool    `json:"has-online-verify-details"`
	PercentInSync          Percent `json:"percent-in-sync"`
	// PercentResyncDone is printed only while a resync runs.
	PercentResyncDone *Percent `json:"percent-resync-done,omitempty"`
}

// Percent is a percentage. It decodes any JSON number and encodes with two
// decimals, as drbdsetup prints it ("100.00").
type Percent float64

// MarshalJSON writes the percentage with two decimals.
func (p Percent) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, float64(p), 'f', 2, 64), nil
}
