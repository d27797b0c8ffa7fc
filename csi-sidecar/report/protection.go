package report

import (
	"slices"

	"github.com/linstor-ha/linstor-ha/pkg/apis/linstorha/v1alpha1"
	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
	"github.com/linstor-ha/linstor-ha/pkg/protection"
)

// Protections are the protection counts of the resources this node speaks
// for, for the metrics.
type Protections struct {
	// BySummary counts resources by protection summary; every summary is
	// present, zero or not, so that an alert can tell "none" from "not
	// reported".
	BySummary map[protection.Summary]int
	// NotSurvivingZoneLoss counts, per zone that holds a replica of them,
	// the resources whose pods could not fail over, or might not, after
	// that zone's loss.
	NotSurvivingZoneLoss map[string]int
}

// AddProtection judges every resource of st with the zones zoneOf gives
// (by node name, "" when unknown) and counts the results in its summary.
// peerNode maps a DRBD connection name to a node name; nil keeps the
// connection names. It returns the counts of the resources this node
// speaks for: those where it has the lowest name among the replicas
// connected to it, so that a cluster counts each resource once (once per
// partition while DRBD is split).
func AddProtection(st *v1alpha1.ReplicaReportStatus, zoneOf, peerNode func(string) string) Protections {
	if peerNode == nil {
		peerNode = func(conn string) string { return conn }
	}
	counts := Protections{BySummary: map[protection.Summary]int{}, NotSurvivingZoneLoss: map[string]int{}}
	for _, s := range []protection.Summary{protection.ZoneSafe, protection.NodeSafe, protection.Unprotected, protection.Unknown} {
		counts.BySummary[s] = 0
	}
	st.Summary.NotZoneSafe, st.Summary.Unprotected = 0, 0
	for i := range st.Resources {
		res := &st.Resources[i]
		replicas := replicasOf(st.NodeName, st.Zone, res, zoneOf, peerNode)
		result := protection.Compute(replicas)
		res.Protection = protectionOf(result)
		if result.Summary != protection.ZoneSafe {
			st.Summary.NotZoneSafe++
		}
		if result.Summary == protection.Unprotected {
			st.Summary.Unprotected++
		}
		if !speaksFor(st.NodeName, res, peerNode) {
			continue
		}
		counts.BySummary[result.Summary]++
		// Every zone with a replica gets a series, zero or not.
		for _, r := range replicas {
			if _, seen := counts.NotSurvivingZoneLoss[r.Zone]; r.Zone != "" && !seen {
				counts.NotSurvivingZoneLoss[r.Zone] = 0
			}
		}
		for _, o := range slices.Concat(result.Fails, result.Undecided) {
			if o.Failure.Kind == protection.ZoneFailure {
				counts.NotSurvivingZoneLoss[o.Failure.Name]++
			}
		}
	}
	return counts
}

// replicasOf returns the replicas of res as this node's DRBD shows them,
// named by node.
func replicasOf(node, zone string, res *v1alpha1.ResourceReport, zoneOf, peerNode func(string) string) []protection.Replica {
	replicas := protection.FromResourceReport(node, zone, res, func(conn string) string {
		if zoneOf == nil {
			return ""
		}
		return zoneOf(peerNode(conn))
	})
	for i := 1; i < len(replicas); i++ {
		replicas[i].Node = peerNode(replicas[i].Node)
	}
	return replicas
}

// protectionOf is the API form of a result.
func protectionOf(r protection.Result) *v1alpha1.ResourceProtection {
	p := &v1alpha1.ResourceProtection{Summary: string(r.Summary)}
	for _, o := range slices.Concat(r.Fails, r.Undecided) {
		p.NotSurvived = append(p.NotSurvived, v1alpha1.FailureReport{Kind: string(o.Failure.Kind), Name: o.Failure.Name, Reason: string(o.Reason)})
	}
	return p
}

// speaksFor reports whether node has the lowest name among itself and the
// peers of res it is connected to. Every replica of a partition sees the
// same set, so exactly one of them speaks for the resource there, whatever
// its kind, and a lost node's resources are spoken for by a survivor.
func speaksFor(node string, res *v1alpha1.ResourceReport, peerNode func(string) string) bool {
	for _, p := range res.Peers {
		if p.Connection == state.ConnConnected && peerNode(p.Name) < node {
			return false
		}
	}
	return true
}
