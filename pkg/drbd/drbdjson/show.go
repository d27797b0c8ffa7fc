package drbdjson

import (
	"bytes"
	"encoding/json"
)

// ShowResource is one element of the array that `drbdsetup show --json`
// prints: the configuration of one resource as the kernel holds it.
type ShowResource struct {
	Resource string      `json:"resource"`
	Options  ShowOptions `json:"options"`
	ThisHost ShowHost    `json:"_this_host"`
	// Connections is absent for a resource without peers.
	Connections []ShowConnection `json:"connections,omitempty"`
}

// ShowOptions are the resource options. drbdsetup prints only the options
// that differ from their defaults, so an empty value means "default".
type ShowOptions struct {
	// Quorum is "off", "majority", "all" or a number.
	Quorum                     string `json:"quorum,omitempty"`
	QuorumMinimumRedundancy    string `json:"quorum-minimum-redundancy,omitempty"`
	OnNoQuorum                 string `json:"on-no-quorum,omitempty"`
	OnNoDataAccessible         string `json:"on-no-data-accessible,omitempty"`
	OnSuspendedPrimaryOutdated string `json:"on-suspended-primary-outdated,omitempty"`
	// AutoPromote is nil when not printed, which means the default (true).
	AutoPromote *bool `json:"auto-promote,omitempty"`
}

// ShowHost is the local part of the configuration.
type ShowHost struct {
	NodeID  int32        `json:"node-id"`
	Volumes []ShowVolume `json:"volumes"`
}

// ShowVolume is the configuration of one local volume.
type ShowVolume struct {
	VolumeNr    int32  `json:"volume_nr"`
	DeviceMinor uint32 `json:"device_minor"`
	// BackingDisk and MetaDisk are absent on a diskless replica.
	BackingDisk string `json:"backing-disk,omitempty"`
	MetaDisk    string `json:"meta-disk,omitempty"`
	// Disk is the string "none" on an intentionally diskless replica, or an
	// object of disk options; see IntentionalDiskless.
	Disk json.RawMessage `json:"disk,omitempty"`
}

// IntentionalDiskless reports whether the volume is configured without a
// disk (`"disk": "none"`).
func (v *ShowVolume) IntentionalDiskless() bool {
	return bytes.Equal(bytes.TrimSpace(v.Disk), []byte(`"none"`))
}

// ShowConnection is the configuration of the connection to one peer.
type ShowConnection struct {
	PeerNodeID int32 `json:"_peer_node_id"`
	// CState is the connection state at the time of the dump.
	CState string `json:"_cstate,omitempty"`
	// IsStandalone is true while the connection is StandAlone.
	IsStandalone bool             `json:"_is_standalone,omitempty"`
	Net          ShowNet          `json:"net"`
	Paths        []ShowPath       `json:"paths"`
	Volumes      []ShowPeerVolume `json:"volumes,omitempty"`
}

// ShowNet holds the net options of a connection. Durations are printed as
// DRBD stores them: PingInt and ConnectInt in seconds, PingTimeout and
// Timeout in tenths of a second.
type ShowNet struct {
	// Name is the connection name (the peer's node name under LINSTOR).
	Name              string `json:"_name"`
	Transport         string `json:"transport,omitempty"`
	Protocol          string `json:"protocol,omitempty"`
	Timeout           string `json:"timeout,omitempty"`
	PingInt           string `json:"ping-int,omitempty"`
	PingTimeout       string `json:"ping-timeout,omitempty"`
	ConnectInt        string `json:"connect-int,omitempty"`
	KoCount           string `json:"ko-count,omitempty"`
	AllowTwoPrimaries *bool  `json:"allow-two-primaries,omitempty"`
}

// ShowPath is one configured network path.
type ShowPath struct {
	ThisHost   Host `json:"this_host"`
	RemoteHost Host `json:"remote_host"`
}

// ShowPeerVolume holds the per-peer options of one volume.
type ShowPeerVolume struct {
	VolumeNr int32           `json:"volume_nr"`
	Disk     json.RawMessage `json:"disk,omitempty"`
}
