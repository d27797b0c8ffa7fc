package cluster

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Timeline records when things happened relative to a start, each once, and
// prints them as they happen.
type Timeline struct {
	mu    sync.Mutex
	start time.Time
	out   io.Writer
	seen  map[string]time.Duration
	order []string
}

// NewTimeline starts a timeline now; events are printed to out.
func NewTimeline(out io.Writer) *Timeline {
	return &Timeline{start: time.Now(), out: out, seen: make(map[string]time.Duration)}
}

// Mark records what happened now, unless it was recorded before, and
// reports whether it was new.
func (t *Timeline) Mark(what string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.seen[what]; ok {
		return false
	}
	at := time.Since(t.start)
	t.seen[what] = at
	t.order = append(t.order, what)
	fmt.Fprintf(t.out, "%+8.1fs  %s\n", at.Seconds(), what)
	return true
}

// At returns when what happened, and whether it did.
func (t *Timeline) At(what string) (time.Duration, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	d, ok := t.seen[what]
	return d, ok
}
