package watchdog

import (
	"fmt"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// Watchdog watches loops and conditions.
type Watchdog struct {
	clock clock.PassiveClock

	mu         sync.Mutex
	loops      []*Loop
	conditions []*condition
}

// New returns a Watchdog that tells time by clk.
func New(clk clock.PassiveClock) *Watchdog {
	return &Watchdog{clock: clk}
}

// Loop is one loop's work in progress. A nil Loop watches nothing, so
// that code under test needs none.
type Loop struct {
	w     *Watchdog
	name  string
	limit time.Duration

	busySince time.Time // zero while idle
}

// Loop registers a loop whose work must finish within limit.
func (w *Watchdog) Loop(name string, limit time.Duration) *Loop {
	w.mu.Lock()
	defer w.mu.Unlock()
	l := &Loop{w: w, name: name, limit: limit}
	w.loops = append(w.loops, l)
	return l
}

// Begin marks the start of a piece of work.
func (l *Loop) Begin() {
	if l == nil {
		return
	}
	l.w.mu.Lock()
	defer l.w.mu.Unlock()
	l.busySince = l.w.clock.Now()
}

// End marks the end of the work Begin started.
func (l *Loop) End() {
	if l == nil {
		return
	}
	l.w.mu.Lock()
	defer l.w.mu.Unlock()
	l.busySince = time.Time{}
}

// condition is something that must hold again within limit once it stops
// holding.
type condition struct {
	name     string
	limit    time.Duration
	holds    func() bool
	badSince time.Time
}

// Require registers a condition that may stop holding for at most limit,
// such as a DRBD stream that is synced. It is checked whenever Stuck is
// called, so its time is known to the resolution of those calls (the
// probe's period).
func (w *Watchdog) Require(name string, limit time.Duration, holds func() bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.conditions = append(w.conditions, &condition{name: name, limit: limit, holds: holds})
}

// Stuck returns a line for each loop whose work began more than its limit
// ago and for each condition that has not held for more than its limit;
// none when all progress.
func (w *Watchdog) Stuck() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.clock.Now()
	var out []string
	for _, l := range w.loops {
		if !l.busySince.IsZero() && now.Sub(l.busySince) > l.limit {
			out = append(out, fmt.Sprintf("%s: busy for %s, more than %s", l.name, now.Sub(l.busySince).Round(time.Second), l.limit))
		}
	}
	for _, c := range w.conditions {
		switch {
		case c.holds():
			c.badSince = time.Time{}
		case c.badSince.IsZero():
			c.badSince = now
		case now.Sub(c.badSince) > c.limit:
			out = append(out, fmt.Sprintf("%s: not for %s, more than %s", c.name, now.Sub(c.badSince).Round(time.Second), c.limit))
		}
	}
	return out
}
