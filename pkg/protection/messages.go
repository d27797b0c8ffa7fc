package protection

import (
	"fmt"
	"strings"
)

// zoneLabel is the node label that gives the zone.
const zoneLabel = "topology.kubernetes.io/zone"

// failureMessage explains in operators' words why fail-over does not work
// after f, and what to change. The fix differs by kind: after a node
// failure the remedy is another node, after a zone failure, or the loss of
// several nodes at once, another zone.
func failureMessage(f Failure, a assessment) string {
	zone := f.Kind != NodeFailure
	left := fmt.Sprintf("%d of %d diskful %s", a.diskfulLeft, a.diskful, plural(a.diskful, "replica", "replicas"))
	// Without quorum there may be no UpToDate data left either; say so,
	// or the operator fixes quorum only to meet the second problem.
	alsoNoData := ""
	if a.diskfulLeft > 0 && a.upToDateLeft == 0 {
		alsoNoData = ", and none of them is UpToDate"
	}
	switch a.reason {
	case AllReplicasLost:
		if zone {
			return fmt.Sprintf("losing %s loses every replica of the resource; put a diskful replica in another zone and a tiebreaker in a third zone", f)
		}
		return fmt.Sprintf("losing %s loses the only replica of the resource; add a diskful replica on another node and a tiebreaker on a third node", f)
	case FewerThanHalfDiskful:
		fix := "add diskful replicas on other nodes"
		if zone {
			fix = "spread the diskful replicas over more zones, so that no zone holds half of them or more (exactly half only with the tiebreaker in another zone)"
		}
		return fmt.Sprintf("losing %s leaves %s%s: no quorum, which needs more than half of them; %s", f, left, alsoNoData, fix)
	case TiebreakerLost:
		tiebreakers := "no tiebreaker"
		if a.tiebreakersLeft > 0 {
			tiebreakers = fmt.Sprintf("only %d of %d tiebreakers", a.tiebreakersLeft, a.tiebreakers)
		}
		fix := "put the tiebreaker on a third node"
		if zone {
			fix = "put the tiebreaker in a third zone"
		}
		if a.tiebreakers > 1 {
			fix = "put the tiebreakers on nodes of their own"
			if zone {
				fix = "put more than half of the tiebreakers in zones that hold no diskful replica"
			}
		}
		return fmt.Sprintf("losing %s leaves %s and %s%s: no quorum, since an even split needs a majority of the tiebreakers; %s", f, left, tiebreakers, alsoNoData, fix)
	case NoTiebreaker:
		fix := "add a tiebreaker on a third node"
		if zone {
			fix = "add a tiebreaker in a third zone"
		}
		return fmt.Sprintf("losing %s leaves %s and the resource has no tiebreaker%s: no quorum, since an even split needs one; %s", f, left, alsoNoData, fix)
	case NoUpToDateData:
		if a.diskfulLeft == 0 {
			// Only a resource without any diskful replica gets here: with
			// one, losing all of them also loses quorum.
			return fmt.Sprintf("losing %s leaves no diskful replica: the resource has no data to promote; add diskful replicas", f)
		}
		return fmt.Sprintf("losing %s leaves quorum but no UpToDate data: the diskful %s on %s %s not UpToDate (Outdated, Inconsistent or detached) and cannot be promoted; wait until the resync has finished",
			f, plural(a.diskfulLeft, "replica", "replicas"), nodeList(a.diskfulLeftNodes), plural(a.diskfulLeft, "is", "are"))
	}
	return ""
}

// undecidedMessage explains a zone failure whose outcome depends on nodes
// without a zone; worst is the outcome when they are all in the zone.
func undecidedMessage(f Failure, unzoned []string, worst assessment) string {
	return fmt.Sprintf("%s %s no zone (label %s) and may be in %s; if so, %s; set the label so that this can be checked",
		nodeList(unzoned), plural(len(unzoned), "has", "have"), zoneLabel, f, failureMessage(f, worst))
}

// nodeList returns "node a", "nodes a and b" or "nodes a, b and c".
func nodeList(nodes []string) string {
	switch len(nodes) {
	case 0:
		return "no node"
	case 1:
		return "node " + nodes[0]
	}
	return "nodes " + strings.Join(nodes[:len(nodes)-1], ", ") + " and " + nodes[len(nodes)-1]
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
