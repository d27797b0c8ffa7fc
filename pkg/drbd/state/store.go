package state

import (
	"slices"
	"strings"
	"sync"
)

// Store is a Model shared between one writer and many readers. Readers get
// copies, never the live objects.
type Store struct {
	mu     sync.RWMutex
	model  *Model
	synced bool
}

// NewStore returns an empty store that has not seen an initial dump yet.
func NewStore() *Store {
	return &Store{model: NewModel()}
}

// Synced reports whether the store holds a complete initial dump: until then
// the absence of a resource or a peer proves nothing.
func (s *Store) Synced() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.synced
}

// Get returns a copy of the resource called name.
func (s *Store) Get(name string) (*Resource, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.model.resources[name]
	if !ok {
		return nil, false
	}
	return r.Clone(), true
}

// List returns copies of all resources, sorted by name.
func (s *Store) List() []*Resource {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*Resource, 0, len(s.model.resources))
	for _, r := range s.model.resources {
		out = append(out, r.Clone())
	}
	slices.SortFunc(out, func(a, b *Resource) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// MarkUnsynced records that the stream feeding the store ended: its content
// stays readable but may be outdated until the next Replace.
func (s *Store) MarkUnsynced() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.synced = false
}

// Len returns the number of resources.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.model.Len()
}

// Update runs fn on the live model under the write lock.
func (s *Store) Update(fn func(m *Model)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s.model)
}

// Replace makes next, a model built from a complete initial dump, the live
// model, and returns the names of the resources that differ between the two
// (added, removed or changed), sorted. This is how a restarted events2
// stream resynchronises: nothing is lost while the dump is read, and a
// resource that did not change is not reported again.
func (s *Store) Replace(next *Model) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var changed []string
	for name, r := range next.resources {
		if old, ok := s.model.resources[name]; !ok || !old.Equal(r) {
			changed = append(changed, name)
		}
	}
	for name := range s.model.resources {
		if _, ok := next.resources[name]; !ok {
			changed = append(changed, name)
		}
	}
	s.model = next
	s.synced = true
	slices.Sort(changed)
	return changed
}
