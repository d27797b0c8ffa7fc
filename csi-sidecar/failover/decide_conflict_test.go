package failover_test

import (
	"maps"
	"slices"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/linstor-ha/linstor-ha/csi-sidecar/failover"
	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
)

// TestDecideHoldsEverythingWhileAnotherActorRuns checks that while another
// fail-over actor's pod runs, Decide takes no action of any kind (pod
// deletions and evictions, detaching, taints and untaints, forced
// secondaries), holds exactly what it would have done, and keeps the rest
// of the decision: the lost peers' first sightings, the next check and the
// refusals.
func TestDecideHoldsEverythingWhileAnotherActorRuns(t *testing.T) {
	later := t0.Add(timeout)
	frozen := drbd(state.RolePrimary, false, false, state.ConnConnecting, state.SuspendedQuorum)
	local := appPod
	local.Node = "node-b"
	ownLoss := func(tainted bool, pod failover.Pod) failover.Input {
		in := input(later, time.Time{}, map[string]failover.NodeState{"node-b": {Ready: true, Tainted: tainted}}, volume(frozen, []failover.Pod{pod}, nil))
		in.LostSince[failover.Key{Resource: "r0", Node: "node-b"}] = t0
		return in
	}
	untaint := input(later, time.Time{}, map[string]failover.NodeState{"node-b": {Ready: true, Tainted: true}},
		volume(drbd(state.RoleSecondary, true, false, state.ConnConnected, ""), nil, nil))
	untaint.HealthySince = t0
	optedOut := appPod
	optedOut.OptOut = true
	for _, tc := range []struct {
		name string
		in   failover.Input
		// acts is what Decide does without the other actor.
		acts []string
	}{
		{"lost peer: taint, force-delete, detach",
			input(later, t0, aDead, volume(survivor, []failover.Pod{appPod}, []failover.Attachment{appVA})),
			[]string{"TaintNode node-a", "DeletePod node-a pg-0 grace=0", "DeleteAttachment node-a csi-1"}},
		{"lost peer still listing the volume in use: release it",
			input(later, t0, map[string]failover.NodeState{"node-a": {VolumesInUse: []string{"r0"}}, "node-b": {Ready: true}},
				volume(survivor, []failover.Pod{appPod}, []failover.Attachment{appVA})),
			[]string{"TaintNode node-a", "DeletePod node-a pg-0 grace=0", "ReleaseVolume node-a", "DeleteAttachment node-a csi-1"}},
		{"own quorum lost: taint self, evict", ownLoss(false, local), []string{"TaintNode node-b", "EvictPod node-b pg-0"}},
		{"own pod terminating in frozen I/O: force secondary", ownLoss(true, terminating(local)), []string{"Demote node-b"}},
		{"quorum back: untaint", untaint, []string{"UntaintNode node-b"}},
		{"lost peer with an opted-out pod: taint, and the refusal is still said",
			input(later, t0, aDead, volume(survivor, []failover.Pod{optedOut}, nil)),
			[]string{"TaintNode node-a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			free := failover.Decide(tc.in)
			if got := summary(failover.Decision{Actions: free.Actions}); !slices.Equal(got, tc.acts) {
				t.Fatalf("without another actor: %v, want %v", got, tc.acts)
			}
			in := tc.in
			in.ConflictingActors = []types.NamespacedName{{Namespace: "storage", Name: "ha-controller-x"}}
			held := failover.Decide(in)
			if len(held.Actions) != 0 {
				t.Errorf("acts while another actor runs: %v", summary(held))
			}
			if got := summary(failover.Decision{Actions: held.Held}); !slices.Equal(got, tc.acts) {
				t.Errorf("holds %v, want %v", got, tc.acts)
			}
			if !slices.Equal(held.ConflictingActors, in.ConflictingActors) {
				t.Errorf("decision names the actors %v, want %v", held.ConflictingActors, in.ConflictingActors)
			}
			if !maps.Equal(held.Lost, free.Lost) || !held.NextCheck.Equal(free.NextCheck) || !held.HealthySince.Equal(free.HealthySince) {
				t.Errorf("memory changed: lost %v next %v healthy %v; want %v, %v, %v", held.Lost, held.NextCheck, held.HealthySince, free.Lost, free.NextCheck, free.HealthySince)
			}
			if got, want := summary(failover.Decision{Refusals: held.Refusals}), summary(failover.Decision{Refusals: free.Refusals}); !slices.Equal(got, want) {
				t.Errorf("refusals %v, want %v as without the other actor", got, want)
			}
		})
	}
}

// TestDecideWithoutAnotherActorHoldsNothing: no conflicting actor, no held
// action and no actor named.
func TestDecideWithoutAnotherActorHoldsNothing(t *testing.T) {
	d := failover.Decide(input(t0.Add(timeout), t0, aDead, volume(survivor, []failover.Pod{appPod}, []failover.Attachment{appVA})))
	if len(d.Held) != 0 || d.ConflictingActors != nil || len(d.Actions) == 0 {
		t.Errorf("held %v, actors %v, actions %v; want actions only", d.Held, d.ConflictingActors, summary(d))
	}
}
