package report

import (
	"slices"
	"strings"

	"github.com/linstor-ha/linstor-ha/pkg/apis/linstorha/v1alpha1"
	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
)

// diskRank orders disk states from least to most healthy, so that a
// resource with several volumes reports its weakest disk.
var diskRank = map[string]int{
	state.DiskFailed: 0, state.DiskUnknown: 1, state.DiskDetaching: 2, state.DiskAttaching: 3,
	state.DiskNegotiating: 4, state.DiskInconsistent: 5, state.DiskOutdated: 6,
	state.DiskConsistent: 7, state.DiskDiskless: 8, state.DiskUpToDate: 9,
}

func weakest(a, b string) string {
	if diskRank[b] < diskRank[a] {
		return b
	}
	return a
}

// Resource converts one resource of the DRBD model.
func Resource(r *state.Resource) v1alpha1.ResourceReport {
	out := v1alpha1.ResourceReport{
		Name:       r.Name,
		Role:       r.Role,
		Diskless:   len(r.Devices) > 0 && r.Diskless(),
		Quorum:     r.HasQuorum(),
		MayPromote: r.CanPromote(),
		InUse:      r.InUse(),
		Suspended:  r.SuspendedReasons(),
	}
	for i, d := range r.Devices {
		if i == 0 {
			out.Disk, out.Client = d.Disk, d.Client
			continue
		}
		out.Disk = weakest(out.Disk, d.Disk)
		out.Client = out.Client && d.Client
	}
	for _, c := range r.Connections {
		p := v1alpha1.PeerReport{Name: c.Name, Connection: c.State, Role: c.PeerRole}
		for i, pd := range c.PeerDevices {
			if i == 0 {
				p.Disk, p.Client = pd.PeerDisk, pd.PeerClient
				continue
			}
			p.Disk = weakest(p.Disk, pd.PeerDisk)
			p.Client = p.Client && pd.PeerClient
		}
		out.Peers = append(out.Peers, p)
	}
	return out
}

// Healthy reports whether a resource has quorum, reaches UpToDate data and
// has every peer connected.
func Healthy(r *v1alpha1.ResourceReport) bool {
	if !r.Quorum || len(r.Suspended) > 0 {
		return false
	}
	data := r.Disk == state.DiskUpToDate
	for _, p := range r.Peers {
		if p.Connection != state.ConnConnected {
			return false
		}
		data = data || p.Disk == state.DiskUpToDate
	}
	return data
}

// Status builds the status of a node's report from its resources, sorted by
// name. The heartbeat is left to the caller.
func Status(node, zone string, synced bool, resources []*state.Resource) v1alpha1.ReplicaReportStatus {
	st := v1alpha1.ReplicaReportStatus{NodeName: node, Zone: zone, Synced: synced}
	for _, r := range resources {
		st.Resources = append(st.Resources, Resource(r))
	}
	st.Summary = Summarize(st.Resources)
	slices.SortFunc(st.Resources, func(a, b v1alpha1.ResourceReport) int { return strings.Compare(a.Name, b.Name) })
	return st
}

// Summarize counts resources by health: without quorum, healthy, or
// degraded.
func Summarize(resources []v1alpha1.ResourceReport) v1alpha1.ReportSummary {
	var s v1alpha1.ReportSummary
	for i := range resources {
		s.Resources++
		switch {
		case !resources[i].Quorum:
			s.WithoutQuorum++
		case Healthy(&resources[i]):
			s.Healthy++
		default:
			s.Degraded++
		}
	}
	return s
}
