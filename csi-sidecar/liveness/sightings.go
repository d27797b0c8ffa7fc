package liveness

import (
	"sync"
	"time"
)

// Sightings judge signs of life written by a peer's clock (a Lease's renew
// time, a report's heartbeat) by this node's clock only. For each node they
// remember the last mark seen and when it was first seen here; a mark that
// stays the same for longer than its window has gone stale. A peer whose
// clock runs behind or ahead is judged like any other: only a change of its
// mark counts, never the mark's value.
type Sightings struct {
	mu   sync.Mutex
	seen map[string]sighting
}

// sighting is the last mark seen of a node, and when it was first seen.
type sighting struct {
	mark, firstSeen time.Time
}

// NewSightings returns empty Sightings.
func NewSightings() *Sightings { return &Sightings{seen: map[string]sighting{}} }

// See records node's mark as read at now, and returns until when it counts
// as fresh: window after the mark was first seen here. A mark seen for the
// first time is fresh for a whole window, whatever its value: silence
// must be watched, it cannot be read off a peer's clock.
func (s *Sightings) See(node string, mark, now time.Time, window time.Duration) (until time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	last, ok := s.seen[node]
	if !ok || !last.mark.Equal(mark) {
		last = sighting{mark: mark, firstSeen: now}
		s.seen[node] = last
	}
	return last.firstSeen.Add(window)
}

// Forget drops what was seen of node: its next mark is watched afresh.
func (s *Sightings) Forget(node string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.seen, node)
}

// Retain forgets every node for which keep is false, so that the memory
// follows the peers currently lost.
func (s *Sightings) Retain(keep func(node string) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for node := range s.seen {
		if !keep(node) {
			delete(s.seen, node)
		}
	}
}
