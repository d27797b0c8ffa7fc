package protection

import (
	"slices"
	"strings"
)

// NodesFailure is the loss of several nodes at once, as a survivor
// observes it: DRBD shows which peers it lost, not which zone they were in.
// Nodes that fail together are a zone in all but name, so the fixes its
// messages propose are those of a zone failure.
const NodesFailure FailureKind = "nodes"

// AfterLoss tells what remains of the resource once the replicas on the
// named nodes are lost together, and whether fail-over works then. Compute
// foresees single failures; AfterLoss explains one that happened, for the
// sidecar of a survivor, which knows the lost peers from DRBD but not their
// zones. Names of nodes that hold no replica are ignored; with none left,
// nothing is lost and fail-over is not needed, which counts as working.
// Replicas that allow no judgement give their first problem's reason and
// message, and false.
func AfterLoss(replicas []Replica, lost []string) (Outcome, bool) {
	set, problems := normalize(replicas)
	if len(problems) > 0 {
		return Outcome{Reason: problems[0].Reason, Message: problems[0].Message}, false
	}
	gone := map[string]bool{}
	for _, n := range lost {
		gone[n] = true
	}
	var names []string
	for i := range set {
		if gone[set[i].Node] {
			names = append(names, set[i].Node)
		}
	}
	if len(names) == 0 {
		return Outcome{}, true
	}
	f := Failure{Kind: NodeFailure, Name: names[0]}
	if len(names) > 1 {
		f = Failure{Kind: NodesFailure, Name: strings.Join(names, ",")}
	}
	a := assess(set, func(r *Replica) bool { return gone[r.Node] })
	if a.reason == "" {
		o := a.outcome(f, "")
		return o, true
	}
	return a.outcome(f, failureMessage(f, a)), false
}

// lostNodes returns the node names of a NodesFailure, sorted.
func lostNodes(f Failure) []string {
	names := strings.Split(f.Name, ",")
	slices.Sort(names)
	return names
}
