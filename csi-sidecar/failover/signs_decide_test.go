package failover_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/linstor-ha/linstor-ha/csi-sidecar/failover"
)

// TestDecideTimeoutFromTheFirstSign checks that a lost peer's fail-over
// timeout counts from the first sign of its loss, whichever arrives first,
// while everything else a fail-over needs stays required.
func TestDecideTimeoutFromTheFirstSign(t *testing.T) {
	detected := t0.Add(10 * time.Second) // DRBD noticed
	alive := &failover.PeerReport{Quorum: map[string]bool{"r0": true}}
	vol := volume(survivor, []failover.Pod{appPod}, nil)
	crashed := []string{"TaintNode node-a", "DeletePod node-a pg-0 grace=0"}
	tests := []struct {
		name string
		now  time.Time
		peer failover.NodeState
		want []string
		wake time.Time
	}{{
		name: "Lease silent since before DRBD noticed: act at detection",
		now:  detected,
		peer: failover.NodeState{Ready: true, Report: alive, Silent: true, GoneSince: t0.Add(3 * time.Second)},
		want: crashed,
	}, {
		name: "node NotReady since before DRBD noticed: act at detection",
		now:  detected,
		peer: failover.NodeState{Ready: false, Report: alive, GoneSince: t0},
		want: []string{"TaintNode node-a", "DeletePod node-a pg-0 grace=0"},
	}, {
		name: "Lease silent only just before DRBD noticed: the timeout runs from the silence",
		now:  detected,
		peer: failover.NodeState{Ready: true, Report: alive, Silent: true, GoneSince: detected.Add(-2 * time.Second)},
		wake: detected.Add(timeout - 2*time.Second),
	}, {
		name: "replication blip, Lease alive and node Ready: the full timeout from DRBD's detection",
		now:  detected.Add(timeout - time.Millisecond),
		peer: failover.NodeState{Ready: true, Report: alive, AliveUntil: detected.Add(timeout + time.Second)},
		wake: detected.Add(timeout),
	}, {
		name: "a sign that cleared (Lease renewed again) no longer shortens the wait",
		now:  detected.Add(time.Second),
		peer: failover.NodeState{Ready: true, Report: alive, AliveUntil: detected.Add(3 * time.Second)},
		wake: detected.Add(timeout),
	}, {
		name: "a sign from long before DRBD lost the peer is something else: the full timeout",
		now:  detected,
		peer: failover.NodeState{Ready: false, Report: alive, GoneSince: detected.Add(-time.Hour)},
		wake: detected.Add(timeout),
	}, {
		name: "silence without the time it began: the timeout runs from DRBD's detection",
		now:  detected,
		peer: failover.NodeState{Ready: true, Report: alive, Silent: true},
		wake: detected.Add(timeout),
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := input(tc.now, detected, map[string]failover.NodeState{"node-a": tc.peer, "node-b": {Ready: true}}, vol)
			d := failover.Decide(in)
			if got := summary(d); !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if !d.NextCheck.Equal(tc.wake) {
				t.Errorf("wake %v, want %v", d.NextCheck, tc.wake)
			}
			if got := d.Lost[failover.Key{Resource: "r0", Node: "node-a"}]; !got.Equal(detected) {
				t.Errorf("lost since %v, want DRBD's detection %v: an early sign must not be remembered as DRBD's", got, detected)
			}
		})
	}
}

// TestDecideWaitingForEvidenceIsNoRefusal checks that a fail-over whose
// evidence may still be coming is not recorded as refused until the grace
// for it has passed too.
func TestDecideWaitingForEvidenceIsNoRefusal(t *testing.T) {
	const grace = 3 * time.Second
	aliveUntil := t0.Add(timeout + grace + time.Second)
	ready := map[string]failover.NodeState{"node-a": {Ready: true, AliveUntil: aliveUntil,
		Report: &failover.PeerReport{Quorum: map[string]bool{"r0": true}}}, "node-b": {Ready: true}}
	vol := volume(survivor, []failover.Pod{appPod}, nil)
	for _, tc := range []struct {
		name string
		now  time.Time
		want []string
		wake time.Time
	}{
		{name: "timeout passed, Lease may still run out: wait", now: t0.Add(timeout), wake: t0.Add(timeout + grace)},
		{name: "grace passed without evidence: refused", now: t0.Add(timeout + grace), want: []string{"refuse PeerMayStillWrite node-a"},
			wake: aliveUntil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := input(tc.now, t0, ready, vol)
			in.EvidenceGrace = grace
			d := failover.Decide(in)
			if got := summary(d); !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if !d.NextCheck.Equal(tc.wake) {
				t.Errorf("wake %v, want %v", d.NextCheck, tc.wake)
			}
		})
	}
}

// TestDecideEventsTellTheStory checks that a fail-over's Events say what
// was lost, what proves it, and what was done.
func TestDecideEventsTellTheStory(t *testing.T) {
	in := input(t0.Add(timeout), t0, map[string]failover.NodeState{"node-a": {Ready: true, Silent: true,
		Report: &failover.PeerReport{Quorum: map[string]bool{"r0": true}}}, "node-b": {Ready: true}},
		volume(survivor, []failover.Pod{appPod}, []failover.Attachment{appVA}))
	d := failover.Decide(in)
	if len(d.Actions) != 3 || len(d.Refusals) != 0 {
		t.Fatalf("got %q", summary(d))
	}
	for _, a := range d.Actions[:2] {
		if !strings.Contains(a.Message, "stopped renewing its liveness Lease") {
			t.Errorf("%s message %q does not name the evidence", a.Kind, a.Message)
		}
	}
}
