package protection_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/linstor-ha/linstor-ha/pkg/protection"
)

// Shorthands for placements: a diskful replica with UpToDate data, one
// without (Outdated, Inconsistent or detached, which look alike here), and
// a tiebreaker.
func upToDate(node, zone string) protection.Replica {
	return protection.Replica{Node: node, Zone: zone, Diskful: true, UpToDate: true}
}

func stale(node, zone string) protection.Replica {
	return protection.Replica{Node: node, Zone: zone, Diskful: true}
}

func tiebreaker(node, zone string) protection.Replica {
	return protection.Replica{Node: node, Zone: zone}
}

// failureNames returns "node a1", "zone room-a", ... in the result's order.
func failureNames(fs []protection.Failure) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, f.String())
	}
	return out
}

func outcomeReasons(os []protection.Outcome) map[string]protection.Reason {
	out := map[string]protection.Reason{}
	for _, o := range os {
		out[o.Failure.String()] = o.Reason
	}
	return out
}

func TestCompute(t *testing.T) {
	for _, tc := range []struct {
		name      string
		replicas  []protection.Replica
		summary   protection.Summary
		survives  []string
		fails     map[string]protection.Reason
		undecided []string
		// messages holds, per failed or undecided failure, text its
		// message must contain.
		messages map[string][]string
		unzoned  []string
	}{
		{
			name:     "two rooms, tiebreaker in a third zone",
			replicas: []protection.Replica{upToDate("a1", "room-a"), upToDate("b1", "room-b"), tiebreaker("t1", "room-c")},
			summary:  protection.ZoneSafe,
			survives: []string{"node a1", "node b1", "node t1", "zone room-a", "zone room-b", "zone room-c"},
		},
		{
			name:     "tiebreaker in room-a next to a diskful replica",
			replicas: []protection.Replica{upToDate("a1", "room-a"), tiebreaker("t1", "room-a"), upToDate("b1", "room-b")},
			summary:  protection.NodeSafe,
			survives: []string{"node a1", "node b1", "node t1", "zone room-b"},
			fails:    map[string]protection.Reason{"zone room-a": protection.TiebreakerLost},
			messages: map[string][]string{"zone room-a": {
				"losing zone room-a leaves 1 of 2 diskful replicas and no tiebreaker", "no quorum", "put the tiebreaker in a third zone"}},
		},
		{
			name:     "no tiebreaker: two diskful replicas only",
			replicas: []protection.Replica{upToDate("a1", "room-a"), upToDate("b1", "room-b")},
			summary:  protection.Unprotected,
			survives: []string{},
			fails: map[string]protection.Reason{
				"node a1": protection.NoTiebreaker, "node b1": protection.NoTiebreaker,
				"zone room-a": protection.NoTiebreaker, "zone room-b": protection.NoTiebreaker,
			},
			messages: map[string][]string{
				"node a1":     {"leaves 1 of 2 diskful replicas and the resource has no tiebreaker", "no quorum", "add a tiebreaker on a third node"},
				"zone room-b": {"losing zone room-b leaves 1 of 2 diskful replicas", "add a tiebreaker in a third zone"},
			},
		},
		{
			name:     "three diskful replicas in three zones",
			replicas: []protection.Replica{upToDate("a1", "room-a"), upToDate("b1", "room-b"), upToDate("c1", "room-c")},
			summary:  protection.ZoneSafe,
			survives: []string{"node a1", "node b1", "node c1", "zone room-a", "zone room-b", "zone room-c"},
		},
		{
			name:     "two diskful replicas in one room, tiebreaker elsewhere",
			replicas: []protection.Replica{upToDate("a1", "room-a"), upToDate("a2", "room-a"), tiebreaker("t1", "room-b")},
			summary:  protection.NodeSafe,
			survives: []string{"node a1", "node a2", "node t1", "zone room-b"},
			fails:    map[string]protection.Reason{"zone room-a": protection.FewerThanHalfDiskful},
			messages: map[string][]string{"zone room-a": {"leaves 0 of 2 diskful replicas", "no quorum", "spread the diskful replicas over more zones"}},
		},
		{
			name:     "the only UpToDate replica is the one lost",
			replicas: []protection.Replica{upToDate("a1", "room-a"), stale("b1", "room-b"), tiebreaker("t1", "room-c")},
			summary:  protection.Unprotected,
			survives: []string{"node b1", "node t1", "zone room-b", "zone room-c"},
			fails:    map[string]protection.Reason{"node a1": protection.NoUpToDateData, "zone room-a": protection.NoUpToDateData},
			messages: map[string][]string{
				"node a1":     {"leaves quorum but no UpToDate data", "node b1 is not UpToDate", "wait until the resync has finished"},
				"zone room-a": {"losing zone room-a leaves quorum but no UpToDate data"},
			},
		},
		{
			name:     "no replica UpToDate: nothing survives",
			replicas: []protection.Replica{stale("a1", "room-a"), stale("b1", "room-b"), tiebreaker("t1", "room-c")},
			summary:  protection.Unprotected,
			survives: []string{},
			fails: map[string]protection.Reason{
				"node a1": protection.NoUpToDateData, "node b1": protection.NoUpToDateData, "node t1": protection.NoUpToDateData,
				"zone room-a": protection.NoUpToDateData, "zone room-b": protection.NoUpToDateData, "zone room-c": protection.NoUpToDateData,
			},
			messages: map[string][]string{"node t1": {"nodes a1 and b1 are not UpToDate"}},
		},
		{
			name:     "no quorum and no UpToDate data: the message says both",
			replicas: []protection.Replica{upToDate("a1", "room-a"), stale("b1", "room-b")},
			summary:  protection.Unprotected,
			survives: []string{},
			fails: map[string]protection.Reason{
				"node a1": protection.NoTiebreaker, "node b1": protection.NoTiebreaker,
				"zone room-a": protection.NoTiebreaker, "zone room-b": protection.NoTiebreaker,
			},
			messages: map[string][]string{"node a1": {"and none of them is UpToDate"}},
		},
		{
			name:     "a tiebreaker's UpToDate flag is no data",
			replicas: []protection.Replica{upToDate("a1", "room-a"), stale("b1", "room-b"), {Node: "t1", Zone: "room-c", UpToDate: true}},
			summary:  protection.Unprotected,
			survives: []string{"node b1", "node t1", "zone room-b", "zone room-c"},
			fails:    map[string]protection.Reason{"node a1": protection.NoUpToDateData, "zone room-a": protection.NoUpToDateData},
		},
		{
			name:     "a single replica",
			replicas: []protection.Replica{upToDate("a1", "room-a")},
			summary:  protection.Unprotected,
			survives: []string{},
			fails:    map[string]protection.Reason{"node a1": protection.AllReplicasLost, "zone room-a": protection.AllReplicasLost},
			messages: map[string][]string{"zone room-a": {"loses every replica", "a tiebreaker in a third zone"}},
		},
		{
			name:     "all replicas in one room",
			replicas: []protection.Replica{upToDate("a1", "room-a"), upToDate("a2", "room-a"), tiebreaker("t1", "room-a")},
			summary:  protection.NodeSafe,
			survives: []string{"node a1", "node a2", "node t1"},
			fails:    map[string]protection.Reason{"zone room-a": protection.AllReplicasLost},
		},
		{
			name: "four diskful replicas two per room, tiebreaker in a third zone",
			replicas: []protection.Replica{upToDate("a1", "room-a"), upToDate("a2", "room-a"), upToDate("b1", "room-b"),
				upToDate("b2", "room-b"), tiebreaker("t1", "room-c")},
			summary:  protection.ZoneSafe,
			survives: []string{"node a1", "node a2", "node b1", "node b2", "node t1", "zone room-a", "zone room-b", "zone room-c"},
		},
		{
			name: "two tiebreakers, one lost with room-a: half of them is no majority",
			replicas: []protection.Replica{upToDate("a1", "room-a"), tiebreaker("t1", "room-a"), upToDate("b1", "room-b"),
				tiebreaker("t2", "room-c")},
			summary:  protection.NodeSafe,
			survives: []string{"node a1", "node b1", "node t1", "node t2", "zone room-b", "zone room-c"},
			fails:    map[string]protection.Reason{"zone room-a": protection.TiebreakerLost},
			messages: map[string][]string{"zone room-a": {"only 1 of 2 tiebreakers", "more than half of the tiebreakers"}},
		},
		{
			name:     "diskless replicas only: no data",
			replicas: []protection.Replica{tiebreaker("t1", "room-a"), tiebreaker("t2", "room-b")},
			summary:  protection.Unprotected,
			survives: []string{},
			fails: map[string]protection.Reason{
				"node t1": protection.NoUpToDateData, "node t2": protection.NoUpToDateData,
				"zone room-a": protection.NoUpToDateData, "zone room-b": protection.NoUpToDateData,
			},
			messages: map[string][]string{"node t1": {"no data to promote"}},
		},
		{
			name:      "tiebreaker without a zone: the zone failures are undecided",
			replicas:  []protection.Replica{upToDate("a1", "room-a"), upToDate("b1", "room-b"), tiebreaker("t1", "")},
			summary:   protection.NodeSafe,
			survives:  []string{"node a1", "node b1", "node t1"},
			undecided: []string{"zone room-a", "zone room-b"},
			messages: map[string][]string{"zone room-a": {
				"node t1 has no zone", "topology.kubernetes.io/zone", "may be in zone room-a",
				"if so, losing zone room-a leaves 1 of 2 diskful replicas and no tiebreaker"}},
			unzoned: []string{"t1"},
		},
		{
			name: "a replica without a zone that cannot matter",
			replicas: []protection.Replica{upToDate("a1", "room-a"), upToDate("b1", "room-b"), upToDate("c1", "room-c"),
				tiebreaker("client", "")},
			summary:  protection.ZoneSafe,
			survives: []string{"node a1", "node b1", "node c1", "node client", "zone room-a", "zone room-b", "zone room-c"},
			unzoned:  []string{"client"},
		},
		{
			name:     "a replica without a zone, and the zone fails anyway",
			replicas: []protection.Replica{upToDate("a1", "room-a"), upToDate("a2", "room-a"), upToDate("x1", "")},
			summary:  protection.NodeSafe,
			survives: []string{"node a1", "node a2", "node x1"},
			fails:    map[string]protection.Reason{"zone room-a": protection.FewerThanHalfDiskful},
			unzoned:  []string{"x1"},
		},
		{
			name:     "no zone known at all: no zone failure to judge",
			replicas: []protection.Replica{upToDate("a1", ""), upToDate("b1", ""), upToDate("c1", "")},
			summary:  protection.NodeSafe,
			survives: []string{"node a1", "node b1", "node c1"},
			unzoned:  []string{"a1", "b1", "c1"},
		},
		{
			name: "the same node twice with the same content counts once",
			replicas: []protection.Replica{upToDate("a1", "room-a"), upToDate("b1", "room-b"), tiebreaker("t1", "room-c"),
				upToDate("a1", "room-a"), {Node: "t1", Zone: "room-c", UpToDate: true}},
			summary:  protection.ZoneSafe,
			survives: []string{"node a1", "node b1", "node t1", "zone room-a", "zone room-b", "zone room-c"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			input := slices.Clone(tc.replicas)
			got := protection.Compute(input)
			if !reflect.DeepEqual(input, tc.replicas) {
				t.Errorf("Compute changed its input: %v", input)
			}
			if got.Summary != tc.summary {
				t.Errorf("summary: got %s, want %s", got.Summary, tc.summary)
			}
			if names := failureNames(got.Survives); !slices.Equal(names, tc.survives) {
				t.Errorf("survives: got %q, want %q", names, tc.survives)
			}
			wantFails := tc.fails
			if wantFails == nil {
				wantFails = map[string]protection.Reason{}
			}
			if reasons := outcomeReasons(got.Fails); !reflect.DeepEqual(reasons, wantFails) {
				t.Errorf("fails: got %v, want %v", reasons, wantFails)
			}
			var undecided []string
			for _, o := range got.Undecided {
				undecided = append(undecided, o.Failure.String())
				if o.Reason != protection.ZoneUnknown {
					t.Errorf("undecided %s: reason %s, want %s", o.Failure, o.Reason, protection.ZoneUnknown)
				}
			}
			if !slices.Equal(undecided, tc.undecided) {
				t.Errorf("undecided: got %q, want %q", undecided, tc.undecided)
			}
			for failure, parts := range tc.messages {
				msg := messageOf(got, failure)
				if msg == "" {
					t.Errorf("%s: no outcome with a message", failure)
				}
				for _, part := range parts {
					if !strings.Contains(msg, part) {
						t.Errorf("%s: message %q does not contain %q", failure, msg, part)
					}
				}
			}
			if !slices.Equal(got.NodesWithoutZone, tc.unzoned) {
				t.Errorf("nodes without zone: got %q, want %q", got.NodesWithoutZone, tc.unzoned)
			}
			if len(got.Problems) > 0 {
				t.Errorf("unexpected problems: %v", got.Problems)
			}
			for _, o := range slices.Concat(got.Fails, got.Undecided) {
				if o.Message == "" || o.Reason == "" {
					t.Errorf("%s: outcome without reason or message: %+v", o.Failure, o)
				}
			}
		})
	}
}

func messageOf(r protection.Result, failure string) string {
	for _, o := range slices.Concat(r.Fails, r.Undecided) {
		if o.Failure.String() == failure {
			return o.Message
		}
	}
	return ""
}

// TestOutcomeDetails checks the counts and node lists of an outcome, which
// the CLI shows.
func TestOutcomeDetails(t *testing.T) {
	r := protection.Compute([]protection.Replica{tiebreaker("t1", "room-a"), upToDate("b1", "room-b"), upToDate("a1", "room-a")})
	if len(r.Fails) != 1 {
		t.Fatalf("fails: got %+v, want only zone room-a", r.Fails)
	}
	want := protection.Outcome{
		Failure: protection.Failure{Kind: protection.ZoneFailure, Name: "room-a"},
		Reason:  protection.TiebreakerLost,
		Lost:    []string{"a1", "t1"},
		Diskful: 2, DiskfulLeft: 1, Tiebreakers: 1, TiebreakersLeft: 0, UpToDateLeft: 1, Quorum: false,
	}
	got := r.Fails[0]
	got.Message = ""
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}

	r = protection.Compute([]protection.Replica{upToDate("a1", "room-a"), upToDate("b1", "room-b"), tiebreaker("t1", ""), tiebreaker("t2", "")})
	if len(r.Undecided) != 2 {
		t.Fatalf("undecided: got %+v, want room-a and room-b", r.Undecided)
	}
	u := r.Undecided[0]
	if u.Failure.Name != "room-a" || !slices.Equal(u.Lost, []string{"a1"}) || !slices.Equal(u.MaybeLost, []string{"t1", "t2"}) ||
		u.DiskfulLeft != 1 || u.TiebreakersLeft != 0 || u.Quorum {
		t.Errorf("undecided room-a: got %+v, want a1 lost, t1 and t2 maybe, worst case 1 diskful and no tiebreaker left", u)
	}
	if !strings.Contains(u.Message, "nodes t1 and t2 have no zone") {
		t.Errorf("undecided message %q does not name both nodes", u.Message)
	}
}

// TestComputeRefuses checks the inputs that allow no judgement.
func TestComputeRefuses(t *testing.T) {
	tooMany := make([]protection.Replica, protection.MaxReplicas+1)
	for i := range tooMany {
		tooMany[i] = upToDate(fmt.Sprintf("n%02d", i), fmt.Sprintf("z%d", i%3))
	}
	for _, tc := range []struct {
		name     string
		replicas []protection.Replica
		reason   protection.Reason
		node     string
	}{
		{"nil", nil, protection.NoReplicas, ""},
		{"empty", []protection.Replica{}, protection.NoReplicas, ""},
		{"no node name", []protection.Replica{upToDate("a1", "room-a"), upToDate("", "room-b")}, protection.NodeNameMissing, ""},
		{"same node, different zones", []protection.Replica{upToDate("a1", "room-a"), upToDate("a1", "room-b"), upToDate("b1", "room-b")},
			protection.ConflictingReplicas, "a1"},
		{"same node, diskful and tiebreaker", []protection.Replica{upToDate("b1", "room-b"), tiebreaker("b1", "room-b"), upToDate("a1", "room-a")},
			protection.ConflictingReplicas, "b1"},
		{"same node, UpToDate and not", []protection.Replica{upToDate("a1", "room-a"), stale("a1", "room-a"), stale("a1", "room-a")},
			protection.ConflictingReplicas, "a1"},
		{"more than a DRBD resource can have", tooMany, protection.TooManyReplicas, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := protection.Compute(tc.replicas)
			want := protection.Result{Summary: protection.Unknown}
			if len(got.Problems) != 1 || got.Problems[0].Reason != tc.reason || got.Problems[0].Node != tc.node || got.Problems[0].Message == "" {
				t.Fatalf("problems: got %+v, want one %s for node %q", got.Problems, tc.reason, tc.node)
			}
			got.Problems = nil
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v, want only Summary Unknown besides the problem", got)
			}
		})
	}

	// The limit itself is allowed.
	if got := protection.Compute(tooMany[:protection.MaxReplicas]); got.Summary != protection.ZoneSafe {
		t.Errorf("%d diskful replicas in three zones: got %s %v, want ZoneSafe", protection.MaxReplicas, got.Summary, got.Problems)
	}
}

// TestComputeIgnoresOrder checks that every order of the same replicas
// gives the same result, sorted the same way.
func TestComputeIgnoresOrder(t *testing.T) {
	base := []protection.Replica{upToDate("b1", "room-b"), tiebreaker("t1", ""), stale("a1", "room-a"), upToDate("c1", "room-c"), tiebreaker("t2", "room-a")}
	want := protection.Compute(base)
	permutations := 0
	permute(base, 0, func(p []protection.Replica) {
		permutations++
		if got := protection.Compute(p); !reflect.DeepEqual(got, want) {
			t.Fatalf("order %v: got %+v, want %+v", p, got, want)
		}
	})
	if permutations != 120 {
		t.Fatalf("tried %d orders, want 120", permutations)
	}
}

// permute calls fn with every ordering of rs[k:], in place.
func permute(rs []protection.Replica, k int, fn func([]protection.Replica)) {
	if k == len(rs) {
		fn(slices.Clone(rs))
		return
	}
	for i := k; i < len(rs); i++ {
		rs[k], rs[i] = rs[i], rs[k]
		permute(rs, k+1, fn)
		rs[k], rs[i] = rs[i], rs[k]
	}
}

func TestReasonNoQuorum(t *testing.T) {
	quorumLoss := map[protection.Reason]bool{
		protection.FewerThanHalfDiskful: true, protection.TiebreakerLost: true, protection.NoTiebreaker: true,
		protection.AllReplicasLost: false, protection.NoUpToDateData: false, protection.ZoneUnknown: false,
	}
	for reason, want := range quorumLoss {
		if got := reason.NoQuorum(); got != want {
			t.Errorf("%s.NoQuorum() = %v, want %v", reason, got, want)
		}
	}
}
