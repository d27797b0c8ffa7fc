package drbdreplicas

import (
	"time"

	fwk "k8s.io/kube-scheduler/framework"

	"github.com/linstor-ha/linstor-ha/pkg/replicas"
)

const stateKey fwk.StateKey = Name

// podState is what PreFilter learns about a pod's volumes, read by Filter
// and Score for every node. It only holds fresh replicas: a stale one is as
// good as no information.
type podState struct {
	volumes []volumeState
	strict  bool
}

type volumeState struct {
	resource string
	// byNode holds the fresh replicas of the resource.
	byNode map[string]replicas.Replica
	// dataZones are the zones with a fresh UpToDate replica.
	dataZones map[string]bool
	// hasData is true when some fresh report shows UpToDate data: only
	// then can strict mode ask for it.
	hasData bool
}

// Clone shares the state: nothing changes it after PreFilter.
func (s *podState) Clone() fwk.StateData { return s }

// newPodState takes the snapshot of the resources' replicas.
func newPodState(resources []string, lookup func(string) []replicas.Replica, now time.Time, staleAfter time.Duration, strict bool) *podState {
	s := &podState{volumes: make([]volumeState, 0, len(resources)), strict: strict}
	for _, res := range resources {
		vs := volumeState{resource: res, byNode: map[string]replicas.Replica{}, dataZones: map[string]bool{}}
		for _, r := range lookup(res) {
			if !r.Fresh(now, staleAfter) {
				continue
			}
			vs.byNode[r.Node] = r
			if r.Health == replicas.UpToDate {
				vs.hasData = true
				if r.Zone != "" {
					vs.dataZones[r.Zone] = true
				}
			}
		}
		s.volumes = append(s.volumes, vs)
	}
	return s
}

// hasFreshData reports whether any volume has a fresh replica anywhere;
// without one, every node scores the same.
func (s *podState) hasFreshData() bool {
	for i := range s.volumes {
		if len(s.volumes[i].byNode) > 0 {
			return true
		}
	}
	return false
}

// verdict is Filter's answer for one node: empty when the node fits.
// knownNode says whether the node itself has a fresh report; strict mode
// never rejects a node it knows nothing about.
func (s *podState) verdict(node string, knownNode bool) string {
	for i := range s.volumes {
		v := &s.volumes[i]
		r, ok := v.byNode[node]
		if ok && r.Health == replicas.Bad {
			return "replica of " + v.resource + " on this node: " + r.Reason
		}
		if s.strict && v.hasData && knownNode && (!ok || r.Health != replicas.UpToDate) {
			return "strict placement: no UpToDate replica of " + v.resource + " on this node"
		}
	}
	return ""
}

// score is Score's raw answer for one node in zone.
func (s *podState) score(node, zone string, w *settings) int64 {
	var total int64
	for i := range s.volumes {
		v := &s.volumes[i]
		r, ok := v.byNode[node]
		if ok && r.Health == replicas.UpToDate {
			total += w.dataWeight
			continue
		}
		if zone != "" && v.dataZones[zone] {
			total += w.zoneWeight
		}
		if ok && r.Health == replicas.Diskless {
			total += w.disklessWeight
		}
	}
	return total
}
