package replicas

import (
	"time"

	"github.com/linstor-ha/linstor-ha/pkg/apis/linstorha/v1alpha1"
)

// Health says what a replica can do for a pod that uses its resource.
type Health uint8

const (
	// Unknown: no settled, fresh information; placement must stay neutral.
	Unknown Health = iota
	// UpToDate: local UpToDate data with quorum and I/O running.
	UpToDate
	// Diskless: a healthy replica without local data (a diskless client or
	// a tiebreaker); it can serve the resource over the network.
	Diskless
	// Bad: the replica cannot serve the resource now.
	Bad
)

func (h Health) String() string {
	switch h {
	case UpToDate:
		return "UpToDate"
	case Diskless:
		return "Diskless"
	case Bad:
		return "Bad"
	default:
		return "Unknown"
	}
}

// Replica is one node's replica of a resource, as its report shows it.
type Replica struct {
	Node   string
	Zone   string
	Health Health
	// Reason says why the replica is Bad, for scheduling messages.
	Reason string
	// Heartbeat is when the node's sidecar last confirmed its report.
	Heartbeat time.Time
}

// Fresh reports whether the replica's report was confirmed within
// staleAfter before now. Stale replicas count as Unknown.
func (r *Replica) Fresh(now time.Time, staleAfter time.Duration) bool {
	return Fresh(r.Heartbeat, now, staleAfter)
}

// Fresh reports whether a heartbeat is at most staleAfter old. A heartbeat
// more than staleAfter in the future comes from a clock that cannot be
// trusted and is stale too: a dead node with a fast clock must not look
// alive.
func Fresh(heartbeat, now time.Time, staleAfter time.Duration) bool {
	if heartbeat.IsZero() {
		return false
	}
	age := now.Sub(heartbeat)
	return age <= staleAfter && age >= -staleAfter
}

// Classify judges one resource of a report.
func Classify(rr *v1alpha1.ResourceReport) (Health, string) {
	switch {
	case len(rr.Suspended) > 0:
		return Bad, "I/O suspended"
	case !rr.Quorum:
		return Bad, "no quorum"
	}
	switch rr.Disk {
	case "Outdated", "Inconsistent", "Failed":
		return Bad, "disk " + rr.Disk
	case "UpToDate":
		return UpToDate, ""
	case "Diskless":
		if rr.Client {
			return Diskless, ""
		}
		// A diskful replica whose disk was detached or failed.
		return Bad, "disk detached"
	default:
		// Attaching, Negotiating, DUnknown, Consistent: in transition.
		return Unknown, ""
	}
}
