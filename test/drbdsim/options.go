package drbdsim

import (
	"fmt"
	"strings"
	"time"

	"k8s.io/utils/clock"
)

// Options configure a Cluster.
type Options struct {
	// Clock drives every delay; nil means the real clock.
	Clock clock.WithDelayedExecution
	// Delays are DRBD's timing; nil means DefaultDelays. With all delays
	// zero every change applies synchronously, within the call that caused
	// it.
	Delays *Delays
}

// Delays are the times DRBD takes to notice and to repair.
type Delays struct {
	// PingInt and PingTimeout: an idle connection notices that its peer is
	// gone after PingInt + PingTimeout (DRBD's ping-int, ping-timeout).
	PingInt, PingTimeout time.Duration
	// Timeout: a Primary with I/O in flight notices a lost peer after
	// Timeout, when its requests are not answered (DRBD's timeout).
	Timeout time.Duration
	// Reconnect is the time a healed link takes to be Connected again.
	Reconnect time.Duration
	// Resync is the time a resync takes.
	Resync time.Duration
}

// DefaultDelays returns DRBD's defaults: ping-int 10 s, ping-timeout 0.5 s,
// timeout 6 s; a reconnect takes 1 s and a resync 2 s.
func DefaultDelays() Delays {
	return Delays{
		PingInt:     10 * time.Second,
		PingTimeout: 500 * time.Millisecond,
		Timeout:     6 * time.Second,
		Reconnect:   time.Second,
		Resync:      2 * time.Second,
	}
}

func (d Delays) validate() error {
	for _, v := range []struct {
		name string
		d    time.Duration
	}{
		{"ping-int", d.PingInt}, {"ping-timeout", d.PingTimeout}, {"timeout", d.Timeout},
		{"reconnect", d.Reconnect}, {"resync", d.Resync},
	} {
		if v.d < 0 {
			return fmt.Errorf("%w: delay %s must not be negative, got %s", ErrInvalid, v.name, v.d)
		}
	}
	return nil
}

// ReplicaKind is what a replica stores.
type ReplicaKind string

// The kinds of replica LINSTOR creates.
const (
	// Diskful replicas store the data.
	Diskful ReplicaKind = "Diskful"
	// Diskless replicas (DRBD clients) access the data over the network.
	Diskless ReplicaKind = "Diskless"
	// Tiebreaker replicas are diskless replicas that LINSTOR adds so that
	// an even number of diskful replicas can keep quorum.
	Tiebreaker ReplicaKind = "Tiebreaker"
)

func (k ReplicaKind) diskful() bool { return k == Diskful }

// Quorum and on-no-quorum policies.
const (
	QuorumMajority = "majority"
	QuorumOff      = "off"

	OnNoQuorumSuspendIO = "suspend-io"
	OnNoQuorumIOError   = "io-error"
)

// on-suspended-primary-outdated policies: what a Primary whose I/O is
// suspended for lack of quorum does when a connection attempt shows it that
// a peer has newer data.
const (
	// OnSuspendedPrimaryOutdatedDisconnect (DRBD's default) refuses the
	// connection: the Primary stays Primary and isolated. Its disk is
	// marked Outdated all the same, so, without UpToDate data, its frozen
	// I/O fails (on-no-data-accessible io-error) and its openers can close.
	OnSuspendedPrimaryOutdatedDisconnect = "disconnect"
	// OnSuspendedPrimaryOutdatedForceSecondary demotes the Primary at once,
	// as `secondary --force` does: an open device fails all I/O
	// (force-io-failures:yes) until its openers close it.
	OnSuspendedPrimaryOutdatedForceSecondary = "force-secondary"
)

// ResourceSpec describes a DRBD resource and its replicas.
type ResourceSpec struct {
	Name string `json:"name"`
	// Volumes is the number of volumes; 0 means 1.
	Volumes int `json:"volumes,omitempty"`
	// Quorum is "majority" (the default) or "off".
	Quorum string `json:"quorum,omitempty"`
	// OnNoQuorum is "suspend-io" (the default) or "io-error".
	OnNoQuorum string `json:"onNoQuorum,omitempty"`
	// OnSuspendedPrimaryOutdated is "disconnect" (the default) or
	// "force-secondary" (DRBD's on-suspended-primary-outdated).
	OnSuspendedPrimaryOutdated string `json:"onSuspendedPrimaryOutdated,omitempty"`
	// SizeKiB is the size of every volume; 0 means 1 GiB.
	SizeKiB uint64 `json:"sizeKiB,omitempty"`
	// Replicas get node ids in this order, starting at 0.
	Replicas []ReplicaSpec `json:"replicas"`
}

// ReplicaSpec places one replica of a resource on a node.
type ReplicaSpec struct {
	Node string `json:"node"`
	// Kind is Diskful when empty.
	Kind ReplicaKind `json:"kind,omitempty"`
}

// maxVolumes bounds the volumes of a resource; LINSTOR resources have one
// or a few.
const maxVolumes = 64

func (s *ResourceSpec) normalize() error {
	if err := validName("resource", s.Name); err != nil {
		return err
	}
	switch {
	case s.Volumes == 0:
		s.Volumes = 1
	case s.Volumes < 0 || s.Volumes > maxVolumes:
		return fmt.Errorf("%w: resource %q: volumes must be between 1 and %d, got %d", ErrInvalid, s.Name, maxVolumes, s.Volumes)
	}
	switch s.Quorum {
	case "":
		s.Quorum = QuorumMajority
	case QuorumMajority, QuorumOff:
	default:
		return fmt.Errorf("%w: resource %q: quorum must be %q or %q, got %q", ErrInvalid, s.Name, QuorumMajority, QuorumOff, s.Quorum)
	}
	switch s.OnNoQuorum {
	case "":
		s.OnNoQuorum = OnNoQuorumSuspendIO
	case OnNoQuorumSuspendIO, OnNoQuorumIOError:
	default:
		return fmt.Errorf("%w: resource %q: on-no-quorum must be %q or %q, got %q", ErrInvalid, s.Name, OnNoQuorumSuspendIO, OnNoQuorumIOError, s.OnNoQuorum)
	}
	switch s.OnSuspendedPrimaryOutdated {
	case "":
		s.OnSuspendedPrimaryOutdated = OnSuspendedPrimaryOutdatedDisconnect
	case OnSuspendedPrimaryOutdatedDisconnect, OnSuspendedPrimaryOutdatedForceSecondary:
	default:
		return fmt.Errorf("%w: resource %q: on-suspended-primary-outdated must be %q or %q, got %q", ErrInvalid, s.Name,
			OnSuspendedPrimaryOutdatedDisconnect, OnSuspendedPrimaryOutdatedForceSecondary, s.OnSuspendedPrimaryOutdated)
	}
	if s.SizeKiB == 0 {
		s.SizeKiB = 1 << 20
	}
	if len(s.Replicas) == 0 {
		return fmt.Errorf("%w: resource %q has no replicas", ErrInvalid, s.Name)
	}
	seen := make(map[string]bool, len(s.Replicas))
	s.Replicas = append([]ReplicaSpec(nil), s.Replicas...)
	for i := range s.Replicas {
		r := &s.Replicas[i]
		if seen[r.Node] {
			return fmt.Errorf("%w: resource %q has two replicas on node %q", ErrInvalid, s.Name, r.Node)
		}
		seen[r.Node] = true
		switch r.Kind {
		case "":
			r.Kind = Diskful
		case Diskful, Diskless, Tiebreaker:
		default:
			return fmt.Errorf("%w: resource %q: replica on %q: kind must be %s, %s or %s, got %q",
				ErrInvalid, s.Name, r.Node, Diskful, Diskless, Tiebreaker, r.Kind)
		}
	}
	return nil
}

// validName accepts names that fit in an events2 token and a URL path.
func validName(what, name string) error {
	if name == "" {
		return fmt.Errorf("%w: %s name must not be empty", ErrInvalid, what)
	}
	if len(name) > 128 || strings.ContainsAny(name, " \t\r\n:/\\\"'") || name == "all" || strings.HasPrefix(name, "-") {
		return fmt.Errorf("%w: %s name %q: must be at most 128 characters, not \"all\", not start with '-', without blanks, quotes, ':' or '/'", ErrInvalid, what, name)
	}
	return nil
}
