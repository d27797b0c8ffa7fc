// Package chaos injects seeded random sequences of faults into a local
// cluster that runs all three parts of linstor-ha, and checks its
// invariants with the DRBD simulator as ground truth: never two writers,
// no pod deleted by linstor-ha while its node had quorum, no workload pod
// left Terminating once something could end it (DRBD freezes the I/O of
// a minority's pods, so only a forced secondary lets them go), and
// everything back to normal once the faults heal.
package chaos

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/linstor-ha/linstor-ha/test/cluster"
)

// monitor samples the simulator's ground truth every tick: the writers of
// each resource, and since when each node has had quorum for it.
type monitor struct {
	c         *cluster.Cluster
	resources []string

	mu           sync.Mutex
	violations   []string
	quorateSince map[string]time.Time // node/resource; absent: no quorum
}

func newMonitor(c *cluster.Cluster, resources []string) *monitor {
	return &monitor{c: c, resources: resources, quorateSince: map[string]time.Time{}}
}

// run samples until ctx ends.
func (m *monitor) run(ctx context.Context, tick time.Duration) {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		m.sample(time.Now())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (m *monitor) sample(now time.Time) {
	nodes := m.c.Nodes()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, res := range m.resources {
		if w, err := m.c.DRBD.Writers(res); err == nil && len(w) > 1 {
			m.violations = append(m.violations, fmt.Sprintf("%s: two writers of %s: %v", now.Format("15:04:05.000"), res, w))
		}
		for _, n := range nodes {
			key := n.Spec.Name + "/" + res
			v, ok := m.c.DRBD.View(n.Spec.Name, res)
			if ok && v.HasQuorum() {
				if _, was := m.quorateSince[key]; !was {
					m.quorateSince[key] = now
				}
			} else {
				delete(m.quorateSince, key)
			}
		}
	}
}

// anyQuorate reports whether some node has quorum for res, by the last
// sample.
func (m *monitor) anyQuorate(res string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for key := range m.quorateSince {
		if strings.HasSuffix(key, "/"+res) {
			return true
		}
	}
	return false
}

// quorateSinceFor returns since when node has had quorum for res without a
// break, by the last sample; false when it has not now.
func (m *monitor) quorateSinceFor(node, res string) (time.Time, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	since, ok := m.quorateSince[node+"/"+res]
	return since, ok
}

func (m *monitor) violate(format string, args ...any) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.violations = append(m.violations, fmt.Sprintf(time.Now().Format("15:04:05.000")+": "+format, args...))
}

// takeViolations returns the violations seen so far and forgets them.
func (m *monitor) takeViolations() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	v := m.violations
	m.violations = nil
	return v
}
