package chaos

import (
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
)

// stuckBound is how long a workload's pod may stay Terminating while
// something could end it: the chaos cluster's fail-over timeout (2 s) and
// 30 s for DRBD, the sidecars and the kubelet to get there.
const stuckBound = 2*time.Second + 30*time.Second

// stuckPods turns a workload pod that stays Terminating for longer than
// stuckBound into a violation. The clock of a pod runs only while its end
// is possible: its node reaches the API server (a cut-off kubelet cannot
// confirm anything), its node's sidecar runs when the node is up (only it
// can force a frozen device secondary), and some node has quorum for the
// pod's volume (without, nothing may move). A pod that DRBD froze is
// therefore counted from the moment a survivor could fail it over, and a
// pod on a node that was cut off from the moment its network is back. The
// injector says which faults hold a node (see hold).
type stuckPods struct {
	m         *monitor
	resources map[string]string // claim -> DRBD resource

	mu       sync.Mutex
	pods     map[types.UID]*corev1.Pod
	since    map[types.UID]time.Time
	reported map[types.UID]bool
	// held are the nodes where a fault stops what would end a pod's
	// termination: cut off from the API server, or its sidecar killed.
	held map[string]map[string]bool
}

func newStuckPods(m *monitor, resources map[string]string) *stuckPods {
	return &stuckPods{m: m, resources: resources, pods: map[types.UID]*corev1.Pod{}, since: map[types.UID]time.Time{},
		reported: map[types.UID]bool{}, held: map[string]map[string]bool{}}
}

// follow registers on the namespace's pods; the caller starts the factory.
func (s *stuckPods) follow(f informers.SharedInformerFactory) error {
	_, err := f.Core().V1().Pods().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { s.update(obj) },
		UpdateFunc: func(_, obj any) { s.update(obj) },
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if p, ok := obj.(*corev1.Pod); ok {
				s.mu.Lock()
				delete(s.pods, p.UID)
				delete(s.since, p.UID)
				s.mu.Unlock()
			}
		},
	})
	return err
}

func (s *stuckPods) update(obj any) {
	p, ok := obj.(*corev1.Pod)
	if !ok || p.DeletionTimestamp == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pods[p.UID] = p
}

// hold records that the fault why stops, or no longer stops, what would
// end the termination of node's pods.
func (s *stuckPods) hold(node, why string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held[node] == nil {
		s.held[node] = map[string]bool{}
	}
	if on {
		s.held[node][why] = true
	} else {
		delete(s.held[node], why)
	}
}

// run checks every tick until ctx ends.
func (s *stuckPods) run(ctx context.Context, tick time.Duration) {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.check(time.Now())
	}
}

func (s *stuckPods) check(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for uid, p := range s.pods {
		if s.reported[uid] {
			continue
		}
		since, counting := s.since[uid]
		if !s.endPossibleLocked(p) {
			delete(s.since, uid)
			continue
		}
		if !counting {
			s.since[uid] = now
			continue
		}
		if now.Sub(since) > stuckBound {
			s.reported[uid] = true
			s.m.violate("%s/%s on %s Terminating for %s while it could have ended (since %s)",
				p.Namespace, p.Name, p.Spec.NodeName, now.Sub(since).Round(time.Second), since.Format("15:04:05.000"))
		}
	}
}

// endPossibleLocked reports whether something could end p's termination
// now.
func (s *stuckPods) endPossibleLocked(p *corev1.Pod) bool {
	node := p.Spec.NodeName
	if node == "" {
		return true
	}
	if len(s.held[node]) > 0 {
		return false
	}
	for _, v := range p.Spec.Volumes {
		if v.PersistentVolumeClaim == nil {
			continue
		}
		res, ok := s.resources[v.PersistentVolumeClaim.ClaimName]
		if ok && !s.m.anyQuorate(res) {
			return false
		}
	}
	return true
}
