package protection

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// ChangeKind is one kind of change to a resource's placement.
type ChangeKind string

// The changes ZoneFixes proposes, in the order it prefers them, cheapest
// first; LabelZone, which it cannot check, it lists first when nodes lack
// a zone.
const (
	// WaitForUpToDate: let the replica on Node finish its resync.
	WaitForUpToDate ChangeKind = "WaitForUpToDate"
	// MoveTiebreaker: put the tiebreaker on Node in another zone instead.
	MoveTiebreaker ChangeKind = "MoveTiebreaker"
	// AddTiebreaker: add a tiebreaker in a zone.
	AddTiebreaker ChangeKind = "AddTiebreaker"
	// AddDiskful: add a diskful replica in a zone.
	AddDiskful ChangeKind = "AddDiskful"
	// MoveDiskful: replace the diskful replica on Node by one in another
	// zone.
	MoveDiskful ChangeKind = "MoveDiskful"
	// LabelZone: give Node its topology.kubernetes.io/zone label, so that
	// the analysis can tell which zone it is in.
	LabelZone ChangeKind = "LabelZone"
)

// Change is one change to a resource's placement.
type Change struct {
	Kind ChangeKind
	// Node is the node whose replica is moved, waited for or labelled; ""
	// for an addition.
	Node string
	// Zone is the zone to move to or add in, when it already holds a
	// replica of the resource.
	Zone string
	// NewZone, when above 0, means a zone that holds no replica of the
	// resource yet, instead of Zone: 1 is one such zone, 2 another one.
	NewZone int
}

// Fix is a set of changes to make together. A verified fix lets the
// resource survive the loss of any one node and of any one zone.
type Fix struct {
	Changes []Change
	// Message says what to do in operators' words.
	Message string
	// Verified is true when the analysis confirmed that the changes
	// suffice; false for labelling nodes, whose zones it cannot guess.
	Verified bool
}

const (
	// maxFixes bounds the fixes ZoneFixes returns; beyond the first few,
	// the options only vary which node or zone to use.
	maxFixes = 10
	// maxPairSearchReplicas bounds the resources for which ZoneFixes tries
	// pairs of changes: their number grows with the square of the
	// replicas times the zones, and real resources have two to five
	// replicas.
	maxPairSearchReplicas = 8
)

// ZoneFixes returns what to change so that the resource survives the loss
// of any one zone (and of any one node): the single changes that suffice,
// or, when none does, pairs of changes; at most ten, cheapest first. When
// some nodes have no zone, the first fix is to label them. It returns nil
// when the resource is already ZoneSafe, when it cannot be judged, and when
// nothing short of a redesign would do.
func ZoneFixes(replicas []Replica) []Fix {
	if s := Compute(replicas).Summary; s == ZoneSafe || s == Unknown {
		return nil
	}
	set, _ := normalize(replicas)
	zones, unzoned := zonesOf(set)
	p := newPlacement(set, zones)

	var fixes []Fix
	if len(unzoned) > 0 {
		label := Fix{Message: fmt.Sprintf("set the %s label on %s; until then, which zone failures it survives cannot be checked", zoneLabel, nodeList(unzoned))}
		for _, n := range unzoned {
			label.Changes = append(label.Changes, Change{Kind: LabelZone, Node: n})
		}
		fixes = append(fixes, label)
	}

	var found [][]Change
	for _, c := range p.candidates(1) {
		if works(set, c) {
			found = append(found, []Change{c})
		}
	}
	if len(found) == 0 && len(set) <= maxPairSearchReplicas {
		found = p.pairsThatWork(p.candidates(2))
	}
	slices.SortFunc(found, compareChangeSets)
	if len(found) > maxFixes-len(fixes) {
		found = found[:maxFixes-len(fixes)]
	}
	for _, changes := range found {
		fixes = append(fixes, Fix{Changes: changes, Message: p.describe(changes), Verified: true})
	}
	return fixes
}

// placement is a resource's replicas as the search for fixes sees them.
// Replicas in the same zone with the same kind and data are
// interchangeable: moving one or another makes the same difference. The
// search moves only the first few of each such class, by node name, which
// keeps the options few and distinct.
type placement struct {
	set   []Replica
	zones []string
	// class gives each node its class and its rank in it.
	class map[string]member
}

type member struct {
	key  string
	rank int
	size int
}

func newPlacement(set []Replica, zones []string) *placement {
	p := &placement{set: set, zones: zones, class: make(map[string]member, len(set))}
	sizes := map[string]int{}
	for i := range set {
		r := &set[i]
		key := r.Zone + "\x00" + strconv.FormatBool(r.Diskful) + strconv.FormatBool(r.UpToDate)
		p.class[r.Node] = member{key: key, rank: sizes[key]}
		sizes[key]++
	}
	for node, m := range p.class {
		m.size = sizes[m.key]
		p.class[node] = m
	}
	return p
}

// candidates lists the single changes worth trying, with up to changes
// new zones and moves of up to changes members of each class.
func (p *placement) candidates(changes int) []Change {
	var out []Change
	targets := func(except string) []Change {
		var ts []Change
		for _, z := range p.zones {
			if z != except {
				ts = append(ts, Change{Zone: z})
			}
		}
		for n := 1; n <= changes; n++ {
			ts = append(ts, Change{NewZone: n})
		}
		return ts
	}
	for i := range p.set {
		r := &p.set[i]
		move := MoveTiebreaker
		if r.Diskful {
			move = MoveDiskful
			// Waiting is per replica: each one resyncs on its own.
			if !r.UpToDate {
				out = append(out, Change{Kind: WaitForUpToDate, Node: r.Node})
			}
		}
		if p.class[r.Node].rank >= changes {
			continue
		}
		for _, t := range targets(r.Zone) {
			out = append(out, Change{Kind: move, Node: r.Node, Zone: t.Zone, NewZone: t.NewZone})
		}
	}
	for _, t := range targets("") {
		out = append(out,
			Change{Kind: AddTiebreaker, Zone: t.Zone, NewZone: t.NewZone},
			Change{Kind: AddDiskful, Zone: t.Zone, NewZone: t.NewZone})
	}
	slices.SortFunc(out, compareChanges)
	return out
}

// pairsThatWork returns the pairs of candidates that together make the
// resource ZoneSafe.
func (p *placement) pairsThatWork(cands []Change) [][]Change {
	var found [][]Change
	for i := range cands {
		for j := i; j < len(cands); j++ {
			a, b := cands[i], cands[j]
			// The same addition twice is a real option (two diskful
			// replicas in a third zone); the same move or wait twice is not,
			// nor two changes of one replica.
			if a.Node != "" && a.Node == b.Node {
				continue
			}
			if !canonicalNewZones(a, b) || !p.canonicalMoves(a, b) {
				continue
			}
			if pair := []Change{a, b}; works(p.set, pair...) {
				found = append(found, pair)
			}
		}
	}
	return found
}

// canonicalMoves accepts a pair only in one of the forms that mean the
// same: a later member of a class moves only along with the first, which
// sorts before it, and then to a target that sorts no earlier. a sorts
// before b.
func (p *placement) canonicalMoves(a, b Change) bool {
	ma, mb := p.class[a.Node], p.class[b.Node]
	switch {
	case isMove(a.Kind) && ma.rank > 0:
		return false
	case !isMove(b.Kind) || mb.rank == 0:
		return true
	default:
		return isMove(a.Kind) && ma.key == mb.key && compareTargets(a, b) <= 0
	}
}

func compareTargets(a, b Change) int {
	return cmp.Or(cmp.Compare(a.NewZone, b.NewZone), strings.Compare(a.Zone, b.Zone))
}

// canonicalNewZones accepts a pair only when its new zones are numbered in
// order of use: "new zone 2" alone, or before "new zone 1", describes a
// pair already tried with the numbers swapped.
func canonicalNewZones(a, b Change) bool {
	switch {
	case a.NewZone == 2:
		return false
	case b.NewZone == 2:
		return a.NewZone == 1
	default:
		return true
	}
}

func isMove(k ChangeKind) bool { return k == MoveTiebreaker || k == MoveDiskful }

// works reports whether the changes make the resource ZoneSafe.
func works(set []Replica, changes ...Change) bool {
	return Compute(apply(set, changes)).Summary == ZoneSafe
}

// apply returns set with the changes made. A new zone and an added node
// get names no real zone or node can have: Kubernetes names and label
// values hold no NUL.
func apply(set []Replica, changes []Change) []Replica {
	out := slices.Clone(set)
	zoneOf := func(c Change) string {
		if c.NewZone > 0 {
			return "\x00new-zone-" + strconv.Itoa(c.NewZone)
		}
		return c.Zone
	}
	for i, c := range changes {
		switch c.Kind {
		case AddDiskful, AddTiebreaker:
			// Analysed as after its initial sync: an added diskful replica
			// protects only once it is UpToDate.
			out = append(out, Replica{Node: "\x00added-" + strconv.Itoa(i), Zone: zoneOf(c), Diskful: c.Kind == AddDiskful, UpToDate: c.Kind == AddDiskful})
			continue
		}
		for k := range out {
			if out[k].Node != c.Node {
				continue
			}
			switch c.Kind {
			case WaitForUpToDate:
				out[k].UpToDate = true
			case MoveTiebreaker, MoveDiskful:
				// A moved diskful replica is a new one, synced from the
				// others before the old one goes.
				out[k].Zone = zoneOf(c)
				out[k].UpToDate = out[k].Diskful
			}
		}
	}
	return out
}

// kindRank orders the kinds from the cheapest change to the dearest.
func kindRank(k ChangeKind) int {
	switch k {
	case WaitForUpToDate:
		return 0
	case MoveTiebreaker:
		return 1
	case AddTiebreaker:
		return 2
	case AddDiskful:
		return 3
	case MoveDiskful:
		return 4
	default:
		return 5
	}
}

func compareChanges(a, b Change) int {
	return cmp.Or(
		cmp.Compare(kindRank(a.Kind), kindRank(b.Kind)),
		strings.Compare(a.Node, b.Node),
		// A zone that already holds replicas needs no new room.
		compareTargets(a, b),
	)
}

func compareChangeSets(a, b []Change) int {
	if c := cmp.Compare(len(a), len(b)); c != 0 {
		return c
	}
	return slices.CompareFunc(a, b, compareChanges)
}

// describe joins the changes' descriptions. New zones get ordinals
// counting the zones in use ("a third zone").
func (p *placement) describe(changes []Change) string {
	parts := make([]string, 0, len(changes))
	for _, c := range changes {
		parts = append(parts, p.describeChange(c))
	}
	return strings.Join(parts, " and ")
}

func (p *placement) describeChange(c Change) string {
	where := "zone " + c.Zone
	if c.NewZone > 0 {
		where = newZoneWords(len(p.zones) + c.NewZone)
	}
	// A moved replica stands for its class; say so, or the operator
	// may think that only this node will do.
	alike := ""
	if m := p.class[c.Node]; isMove(c.Kind) && m.size > 1 {
		alike = ", or another like it"
		if zone := p.zoneOf(c.Node); zone != "" {
			alike += " in zone " + zone
		}
		alike += ","
	}
	switch c.Kind {
	case WaitForUpToDate:
		return "wait until the replica on node " + c.Node + " is UpToDate (resync finished)"
	case MoveTiebreaker:
		return "move the tiebreaker on node " + c.Node + alike + " to " + where
	case AddTiebreaker:
		return "add a tiebreaker in " + where
	case AddDiskful:
		return "add a diskful replica in " + where
	case MoveDiskful:
		// DRBD replicas do not move: a new one syncs, then the old one goes.
		return "replace the diskful replica on node " + c.Node + alike + " by one in " + where
	case LabelZone:
		return "set the " + zoneLabel + " label on node " + c.Node
	}
	return string(c.Kind)
}

func (p *placement) zoneOf(node string) string {
	for i := range p.set {
		if p.set[i].Node == node {
			return p.set[i].Zone
		}
	}
	return ""
}

// newZoneWords names the nth zone counting the zones in use: with two
// zones in use, the first new one is "a third zone".
func newZoneWords(n int) string {
	ordinals := []string{"", "", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"}
	switch {
	case n < 2:
		// No zone is in use: every zone is new.
		return "a zone"
	case n < len(ordinals):
		return "a " + ordinals[n] + " zone"
	}
	return "another zone that holds no replica of the resource"
}
