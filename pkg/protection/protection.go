package protection

import (
	"fmt"
	"slices"
	"strings"
)

// MaxReplicas is the most replicas a DRBD resource can have: DRBD 9 gives
// every replica a node id from 0 to 31. A longer list cannot describe one
// resource, and refusing it keeps the work of Compute and ZoneFixes small
// whatever callers pass.
const MaxReplicas = 32

// Replica is one replica of a resource, as the analysis needs it. Callers
// build it from the replica reports (see FromReports) and the nodes'
// topology.kubernetes.io/zone.
type Replica struct {
	// Node holds the replica. DRBD puts at most one replica of a resource
	// on a node, so the node names the replica.
	Node string
	// Zone is the node's topology.kubernetes.io/zone, "" when unknown.
	Zone string
	// Diskful is true for a replica that stores the data, whatever its
	// disk state is now: DRBD counts it as a voter even while it is
	// Outdated, Inconsistent or detached. False for tiebreakers and
	// diskless clients.
	Diskful bool
	// UpToDate is true when the replica's data is UpToDate, so that it
	// could be promoted. Diskless replicas hold no data; for them it is
	// ignored.
	UpToDate bool
}

// FailureKind is what fails.
type FailureKind string

const (
	// NodeFailure is the loss of one node and the replica on it.
	NodeFailure FailureKind = "node"
	// ZoneFailure is the loss of one zone (room) and every replica in it.
	ZoneFailure FailureKind = "zone"
)

// Failure is one single failure the analysis considers.
type Failure struct {
	Kind FailureKind
	// Name is the node's or the zone's name; for NodesFailure, the nodes'
	// names joined by commas.
	Name string
}

// String returns "node a1", "zone room-a" or, for nodes lost together,
// "nodes a1 and a2".
func (f Failure) String() string {
	if f.Kind == NodesFailure {
		return nodeList(lostNodes(f))
	}
	return string(f.Kind) + " " + f.Name
}

// Summary rates a resource's protection in one word.
type Summary string

const (
	// ZoneSafe: fail-over works after the loss of any one node and of any
	// one zone that holds replicas.
	ZoneSafe Summary = "ZoneSafe"
	// NodeSafe: fail-over works after the loss of any one node, but not
	// after the loss of some zone, or the zones are not known well enough
	// to tell.
	NodeSafe Summary = "NodeSafe"
	// Unprotected: the loss of some single node stops the resource.
	Unprotected Summary = "Unprotected"
	// Unknown: the replicas given do not allow a judgement; Problems says
	// why.
	Unknown Summary = "Unknown"
)

// Reason says why a failure is not survived, or why a resource cannot be
// judged. Messages carry the details and the fix in operators' words.
type Reason string

// Reasons a failure is not survived.
const (
	// AllReplicasLost: the failure takes every replica.
	AllReplicasLost Reason = "AllReplicasLost"
	// FewerThanHalfDiskful: less than half of the diskful replicas remain,
	// which is never quorum.
	FewerThanHalfDiskful Reason = "FewerThanHalfDiskful"
	// TiebreakerLost: exactly half of the diskful replicas remain, and the
	// failure took the tiebreaker (or enough tiebreakers that those left
	// are no majority of them).
	TiebreakerLost Reason = "TiebreakerLost"
	// NoTiebreaker: exactly half of the diskful replicas remain and the
	// resource has no tiebreaker to decide the even split.
	NoTiebreaker Reason = "NoTiebreaker"
	// NoUpToDateData: the remaining replicas have quorum but none of them
	// has UpToDate data to promote.
	NoUpToDateData Reason = "NoUpToDateData"
	// ZoneUnknown: the outcome of losing a zone depends on replicas whose
	// nodes have no zone.
	ZoneUnknown Reason = "ZoneUnknown"
)

// Reasons a resource cannot be judged.
const (
	// NoReplicas: no replica was given.
	NoReplicas Reason = "NoReplicas"
	// NodeNameMissing: a replica has no node name, so no failure can be
	// said to take it.
	NodeNameMissing Reason = "NodeNameMissing"
	// ConflictingReplicas: one node is given more than once with different
	// zone, kind or data.
	ConflictingReplicas Reason = "ConflictingReplicas"
	// TooManyReplicas: more replicas than a DRBD resource can have.
	TooManyReplicas Reason = "TooManyReplicas"
)

// NoQuorum reports whether the reason is a loss of quorum.
func (r Reason) NoQuorum() bool {
	return r == FewerThanHalfDiskful || r == TiebreakerLost || r == NoTiebreaker
}

// Outcome tells what one failure leaves and why fail-over does not work
// after it.
type Outcome struct {
	Failure Failure
	Reason  Reason
	// Message explains the reason with numbers and names and says what to
	// change.
	Message string
	// Lost lists the nodes whose replicas the failure takes, sorted. For a
	// zone, the nodes known to be in it.
	Lost []string
	// MaybeLost lists, for an undecided zone failure, the nodes without a
	// zone that it may take, sorted.
	MaybeLost []string
	// The counts describe the replicas after the failure; for an undecided
	// zone failure, in the worst case, with MaybeLost lost too.
	Diskful, DiskfulLeft         int
	Tiebreakers, TiebreakersLeft int
	// UpToDateLeft counts the remaining diskful replicas with UpToDate
	// data.
	UpToDateLeft int
	// Quorum is whether the remaining replicas have quorum.
	Quorum bool
}

// Problem is why a resource cannot be judged.
type Problem struct {
	Reason Reason
	// Node is the node concerned, if one is.
	Node    string
	Message string
}

// Result is the analysis of one resource. Failures are ordered nodes first,
// then zones, each by name.
type Result struct {
	Summary Summary
	// Survives lists the failures after which fail-over works.
	Survives []Failure
	// Fails lists the failures after which it does not, with why.
	Fails []Outcome
	// Undecided lists the zone failures whose outcome depends on where the
	// nodes without a zone are.
	Undecided []Outcome
	// NodesWithoutZone lists the nodes whose zone is unknown, sorted.
	NodesWithoutZone []string
	// Problems is set, and everything else but Summary empty, when the
	// replicas do not allow a judgement.
	Problems []Problem
}

// Compute analyses one resource from its replicas, in any order. Every
// node that holds a replica, and every zone named by a replica, is a
// candidate failure.
//
// A node listed more than once with the same content counts once; listed
// with different contents, the reports disagree and the result is Unknown,
// as it is for an empty list, a replica without a node name, or more than
// MaxReplicas replicas.
func Compute(replicas []Replica) Result {
	set, problems := normalize(replicas)
	if len(problems) > 0 {
		return Result{Summary: Unknown, Problems: problems}
	}
	var res Result
	nodeSafe := true
	for i := range set {
		lost := &set[i]
		f := Failure{Kind: NodeFailure, Name: lost.Node}
		a := assess(set, func(r *Replica) bool { return r == lost })
		if a.reason == "" {
			res.Survives = append(res.Survives, f)
			continue
		}
		nodeSafe = false
		res.Fails = append(res.Fails, a.outcome(f, failureMessage(f, a)))
	}

	zones, unzoned := zonesOf(set)
	res.NodesWithoutZone = unzoned
	zoneSafe := len(zones) > 0
	for _, zone := range zones {
		f := Failure{Kind: ZoneFailure, Name: zone}
		// Losing more replicas never helps: the fewer remain, the fewer
		// votes and UpToDate replicas they have. So the best case is that
		// no node without a zone is in this one, the worst that all are.
		best := assess(set, func(r *Replica) bool { return r.Zone == zone })
		worst := best
		if len(unzoned) > 0 {
			worst = assess(set, func(r *Replica) bool { return r.Zone == zone || r.Zone == "" })
		}
		switch {
		case worst.reason == "":
			res.Survives = append(res.Survives, f)
		case best.reason != "":
			zoneSafe = false
			res.Fails = append(res.Fails, best.outcome(f, failureMessage(f, best)))
		default:
			zoneSafe = false
			o := worst.outcome(f, undecidedMessage(f, unzoned, worst))
			o.Reason = ZoneUnknown
			o.Lost = best.lost
			o.MaybeLost = unzoned
			res.Undecided = append(res.Undecided, o)
		}
	}

	switch {
	case !nodeSafe:
		res.Summary = Unprotected
	case zoneSafe:
		res.Summary = ZoneSafe
	default:
		res.Summary = NodeSafe
	}
	return res
}

// hasQuorum is DRBD's quorum rule as one of the remaining replicas sees it
// (it counts itself as reached). The failed replicas did not leave
// gracefully, so they stay in the totals.
func hasQuorum(diskfulReached, diskful, tiebreakersReached, tiebreakers int) bool {
	return 2*diskfulReached > diskful ||
		(2*diskfulReached == diskful && 2*tiebreakersReached > tiebreakers)
}

// assessment is what remains of a resource after a failure.
type assessment struct {
	lost             []string
	diskfulLeftNodes []string
	diskful          int
	diskfulLeft      int
	tiebreakers      int
	tiebreakersLeft  int
	upToDateLeft     int
	quorum           bool
	// reason is "" when fail-over works.
	reason Reason
}

// assess applies the failure that takes the replicas isLost selects. set
// is sorted by node, so the node lists come out sorted.
func assess(set []Replica, isLost func(*Replica) bool) assessment {
	var a assessment
	for i := range set {
		r := &set[i]
		lost := isLost(r)
		if lost {
			a.lost = append(a.lost, r.Node)
		}
		switch {
		case r.Diskful:
			a.diskful++
			if !lost {
				a.diskfulLeft++
				a.diskfulLeftNodes = append(a.diskfulLeftNodes, r.Node)
				if r.UpToDate {
					a.upToDateLeft++
				}
			}
		default:
			a.tiebreakers++
			if !lost {
				a.tiebreakersLeft++
			}
		}
	}
	a.quorum = hasQuorum(a.diskfulLeft, a.diskful, a.tiebreakersLeft, a.tiebreakers)
	switch {
	case a.diskfulLeft+a.tiebreakersLeft == 0:
		a.reason = AllReplicasLost
	case a.diskful == 0:
		// Without voters DRBD's rule degenerates; what matters is that
		// there is no data at all.
		a.reason = NoUpToDateData
	case a.quorum && a.upToDateLeft > 0:
		a.reason = ""
	case a.quorum:
		a.reason = NoUpToDateData
	case 2*a.diskfulLeft < a.diskful:
		a.reason = FewerThanHalfDiskful
	case a.tiebreakers == 0:
		a.reason = NoTiebreaker
	default:
		a.reason = TiebreakerLost
	}
	return a
}

func (a *assessment) outcome(f Failure, message string) Outcome {
	return Outcome{
		Failure:         f,
		Reason:          a.reason,
		Message:         message,
		Lost:            a.lost,
		Diskful:         a.diskful,
		DiskfulLeft:     a.diskfulLeft,
		Tiebreakers:     a.tiebreakers,
		TiebreakersLeft: a.tiebreakersLeft,
		UpToDateLeft:    a.upToDateLeft,
		Quorum:          a.quorum,
	}
}

// normalize returns the replicas sorted by node, one per node, or the
// problems that prevent a judgement. The input is not changed.
func normalize(replicas []Replica) ([]Replica, []Problem) {
	if len(replicas) == 0 {
		return nil, []Problem{{Reason: NoReplicas, Message: "no replica of the resource is known: no report lists it"}}
	}
	set := make([]Replica, len(replicas))
	copy(set, replicas)
	for i := range set {
		// A diskless replica's UpToDate is meaningless; clearing it keeps
		// it from making two otherwise equal entries conflict.
		if !set[i].Diskful {
			set[i].UpToDate = false
		}
	}
	slices.SortFunc(set, compareReplicas)
	set = slices.Compact(set)

	var problems []Problem
	if set[0].Node == "" {
		problems = append(problems, Problem{Reason: NodeNameMissing,
			Message: "a replica has no node name, so no failure can be said to take it; fix the report that lists it"})
	}
	for i := 1; i < len(set); i++ {
		// After sorting and compacting, two entries left for one node
		// differ; report each such node once.
		if set[i].Node == set[i-1].Node && set[i].Node != "" && (i < 2 || set[i-2].Node != set[i].Node) {
			problems = append(problems, Problem{Reason: ConflictingReplicas, Node: set[i].Node,
				Message: "node " + set[i].Node + " is listed more than once with a different zone, kind or disk state: the reports disagree; judge again once they agree"})
		}
	}
	if len(problems) == 0 && len(set) > MaxReplicas {
		problems = append(problems, Problem{Reason: TooManyReplicas,
			Message: fmt.Sprintf("%d replicas are listed, more than the %d a DRBD resource can have; the list does not describe one resource", len(set), MaxReplicas)})
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return set, nil
}

func compareReplicas(a, b Replica) int {
	if c := strings.Compare(a.Node, b.Node); c != 0 {
		return c
	}
	if c := strings.Compare(a.Zone, b.Zone); c != 0 {
		return c
	}
	if c := compareBool(a.Diskful, b.Diskful); c != 0 {
		return c
	}
	return compareBool(a.UpToDate, b.UpToDate)
}

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	default:
		return -1
	}
}

// zonesOf returns the distinct known zones and the nodes without a zone,
// both sorted.
func zonesOf(set []Replica) (zones, unzoned []string) {
	for i := range set {
		if set[i].Zone == "" {
			unzoned = append(unzoned, set[i].Node)
		} else {
			zones = append(zones, set[i].Zone)
		}
	}
	slices.Sort(zones)
	return slices.Compact(zones), unzoned
}
