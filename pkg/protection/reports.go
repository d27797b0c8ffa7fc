package protection

import (
	"github.com/linstor-ha/linstor-ha/pkg/apis/linstorha/v1alpha1"
)

// diskUpToDate is DRBD's disk state of replicas with current data.
const diskUpToDate = "UpToDate"

// FromReports returns the replicas of resource that the nodes' reports
// list, for the webhook and the CLI, which see every report. Each report
// speaks only for its own node, with the zone it gives. A report that is
// not synced still places a replica (leaving it out would change the
// number of voters) but proves nothing about its data, so its replica
// counts as not UpToDate. Whether a report's heartbeat is fresh enough is
// the caller's choice: drop or pass such reports before.
func FromReports(resource string, reports []v1alpha1.ReplicaReport) []Replica {
	var out []Replica
	for i := range reports {
		rr := &reports[i]
		// The index names nodes by the report's name; NodeName is the
		// fallback for a report built without metadata.
		node := rr.Name
		if node == "" {
			node = rr.Status.NodeName
		}
		for j := range rr.Status.Resources {
			res := &rr.Status.Resources[j]
			if res.Name != resource {
				continue
			}
			r := fromDisk(node, rr.Status.Zone, res.Client, res.Disk)
			r.UpToDate = r.UpToDate && rr.Status.Synced
			out = append(out, r)
		}
	}
	return out
}

// FromResourceReport returns the replicas of a resource as one node sees
// them, for its sidecar: its own replica and its peers, with the peers'
// disk states as last known (a peer not connected now shows none, so it
// counts as not UpToDate). zoneOf gives a peer's zone, "" when unknown; nil
// means unknown for every peer.
func FromResourceReport(node, zone string, res *v1alpha1.ResourceReport, zoneOf func(node string) string) []Replica {
	if res == nil {
		return nil
	}
	out := make([]Replica, 0, 1+len(res.Peers))
	out = append(out, fromDisk(node, zone, res.Client, res.Disk))
	for i := range res.Peers {
		p := &res.Peers[i]
		peerZone := ""
		if zoneOf != nil {
			peerZone = zoneOf(p.Name)
		}
		out = append(out, fromDisk(p.Name, peerZone, p.Client, p.Disk))
	}
	return out
}

// fromDisk builds a replica from DRBD's view of it. Only an intentionally
// diskless replica (client: a tiebreaker or a diskless client) is no
// voter; a diskful replica whose disk is detached still is one.
func fromDisk(node, zone string, client bool, disk string) Replica {
	return Replica{Node: node, Zone: zone, Diskful: !client, UpToDate: !client && disk == diskUpToDate}
}
