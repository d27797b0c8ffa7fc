package state_test

import (
	"testing"

	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
)

// TestFixtureSemantics checks the answers fail-over asks of the model against
// what each reference stream shows a person reading it.
func TestFixtureSemantics(t *testing.T) {
	type want struct {
		resources    int
		role         string
		quorum       bool
		canPromote   bool
		mayPromote   state.Flag
		score        int64
		devices      int
		disconnected []string
		upToDate     []string
	}
	const res = "some-resource"
	tests := map[string]want{
		"events2-all-create-change.plain.txt":            {resources: 1, role: "Primary", quorum: true, mayPromote: state.FlagNo, score: 10102, devices: 1, upToDate: []string{"some-peer"}},
		"events2-all-create-change.full.txt":             {resources: 1, role: "Primary", quorum: true, mayPromote: state.FlagNo, score: 10102, devices: 1, upToDate: []string{"some-peer"}},
		"events2-all-create-change.statistics.txt":       {resources: 1, role: "Primary", quorum: true, mayPromote: state.FlagNo, score: 10102, devices: 1, upToDate: []string{"some-peer"}},
		"events2-all-create-change.timestamps.txt":       {resources: 1, role: "Primary", quorum: true, mayPromote: state.FlagNo, score: 10102, devices: 1, upToDate: []string{"some-peer"}},
		"events2-all-create-destroy.plain.txt":           {},
		"events2-all-create-helper.plain.txt":            {resources: 1, role: "Secondary", quorum: true, mayPromote: state.FlagNo, devices: 1, disconnected: []string{"some-peer"}},
		"events2-all-create-helper.timestamps.txt":       {resources: 1, role: "Secondary", quorum: true, mayPromote: state.FlagNo, devices: 1, disconnected: []string{"some-peer"}},
		"events2-change-before-exists.plain.txt":         {resources: 1, role: "Primary", quorum: true, mayPromote: state.FlagNo, score: 10101, devices: 1},
		"events2-create-before-exists.plain.txt":         {resources: 1, role: "Secondary", quorum: true, mayPromote: state.FlagNo, devices: 1},
		"events2-destroy-before-exists.plain.txt":        {},
		"events2-device-create-destroy.plain.txt":        {},
		"events2-exists-before-create.plain.txt":         {resources: 1, role: "Secondary", quorum: true, mayPromote: state.FlagNo, devices: 1},
		"events2-first-out-of-order.plain.txt":           {resources: 1, role: "Secondary", quorum: true, mayPromote: state.FlagNo, devices: 2, disconnected: []string{"some-peer"}},
		"events2-may-promote-peer-data.plain.txt":        {resources: 1, role: "Secondary", quorum: true, canPromote: true, mayPromote: state.FlagYes, score: 1, devices: 1, upToDate: []string{"some-peer"}},
		"events2-may-promote-peer-role.plain.txt":        {resources: 1, role: "Secondary", quorum: true, mayPromote: state.FlagNo, score: 10101, devices: 1},
		"events2-may-promote-quorum.plain.txt":           {resources: 1, role: "Secondary", mayPromote: state.FlagNo, devices: 1},
		"events2-no-resources.plain.txt":                 {},
		"events2-out-of-order.plain.txt":                 {resources: 1, role: "Secondary", quorum: true, mayPromote: state.FlagNo, devices: 2, disconnected: []string{"some-peer"}},
		"events2-promotion-score-devices.plain.txt":      {resources: 1, role: "Secondary", quorum: true, canPromote: true, mayPromote: state.FlagYes, score: 10201, devices: 2},
		"events2-promotion-score-inconsistent.plain.txt": {resources: 1, role: "Secondary", quorum: true, canPromote: true, mayPromote: state.FlagYes, score: 10001, devices: 1, upToDate: []string{"some-peer"}},
		"events2-resource-create-destroy.plain.txt":      {},
		"events2-resource-exists.plain.txt":              {resources: 1, role: "Secondary", mayPromote: state.FlagNo},
		"events2-sync.plain.txt":                         {resources: 1, role: "Secondary", quorum: true, canPromote: true, mayPromote: state.FlagYes, score: 10101, devices: 1},
		"events2-sync.statistics.txt":                    {resources: 1, role: "Secondary", quorum: true, canPromote: true, mayPromote: state.FlagYes, score: 10101, devices: 1},
	}
	for _, name := range fixtureNames(t) {
		if _, ok := tests[name]; !ok && name != "capture-kubernetes-linstor-2019.timestamps-statistics.txt" {
			t.Errorf("fixture %s has no expectations", name)
		}
	}
	for name, w := range tests {
		t.Run(name, func(t *testing.T) {
			m, _ := loadFixture(t, name)
			if m.Len() != w.resources {
				t.Fatalf("%d resources, want %d", m.Len(), w.resources)
			}
			if w.resources == 0 {
				return
			}
			r, ok := m.Resource(res)
			if !ok {
				t.Fatalf("no resource %s", res)
			}
			if r.Role != w.role || r.HasQuorum() != w.quorum || r.CanPromote() != w.canPromote ||
				r.MayPromote != w.mayPromote || r.PromotionScore != w.score || len(r.Devices) != w.devices {
				t.Errorf("got role=%s quorum=%v canPromote=%v mayPromote=%v score=%d devices=%d, want %+v",
					r.Role, r.HasQuorum(), r.CanPromote(), r.MayPromote, r.PromotionScore, len(r.Devices), w)
			}
			if got := connNames(r.DisconnectedPeers()); !equal(got, w.disconnected) {
				t.Errorf("disconnected peers %v, want %v", got, w.disconnected)
			}
			if got := connNames(r.UpToDatePeers()); !equal(got, w.upToDate) {
				t.Errorf("UpToDate peers %v, want %v", got, w.upToDate)
			}
			// drbdsetup printed may_promote and promotion_score itself:
			// the rules must arrive at the same final answer.
			if r.MayPromote != state.FlagUnknown && len(r.Devices) > 0 {
				if got := state.ComputeMayPromote(r); got != (r.MayPromote == state.FlagYes) {
					t.Errorf("ComputeMayPromote = %v, drbdsetup said %v", got, r.MayPromote)
				}
				if got := state.ComputePromotionScore(r); got != r.PromotionScore {
					t.Errorf("ComputePromotionScore = %d, drbdsetup said %d", got, r.PromotionScore)
				}
			}
		})
	}
}

// TestCaptureFromLinstorNode reads a real node's stream, which comes from
// drbd-utils that do not print may_promote: CanPromote falls back to the rule.
func TestCaptureFromLinstorNode(t *testing.T) {
	m, _ := loadFixture(t, "capture-kubernetes-linstor-2019.timestamps-statistics.txt")
	r, ok := m.Resource("pvc-0a2826c9-7108-11e9-8f74-0026b954ca4c")
	if !ok || m.Len() != 1 {
		t.Fatalf("resources %v, want the one pvc", m.Names())
	}
	if r.MayPromote != state.FlagUnknown {
		t.Errorf("MayPromote = %v, the stream never said", r.MayPromote)
	}
	if !r.HasQuorum() || !r.UpToDate() || r.IOSuspended() || !r.CanPromote() {
		t.Errorf("quorum=%v upToDate=%v suspended=%v canPromote=%v, want true true false true", r.HasQuorum(), r.UpToDate(), r.IOSuspended(), r.CanPromote())
	}
	if got := connNames(r.UpToDatePeers()); !equal(got, []string{"kubelet-b"}) {
		t.Errorf("UpToDate peers %v, want [kubelet-b]", got)
	}
	if c := r.Connection("kubelet-b"); c == nil || c.PeerNodeID != 2 {
		t.Errorf("Connection(kubelet-b) = %+v", c)
	}
}

func connNames(cs []state.Connection) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
