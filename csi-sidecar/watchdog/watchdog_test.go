package watchdog

import (
	"strings"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

func TestLoopStuckOnlyWhileBusyPastItsLimit(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(time.Unix(1000, 0))
	w := New(clk)
	l := w.Loop("fail-over evaluation", time.Minute)
	if got := w.Stuck(); len(got) != 0 {
		t.Fatalf("an idle loop is stuck: %q", got)
	}
	clk.SetTime(clk.Now().Add(time.Hour))
	if got := w.Stuck(); len(got) != 0 {
		t.Fatalf("a loop idle for an hour is stuck: %q", got)
	}
	l.Begin()
	clk.SetTime(clk.Now().Add(time.Minute))
	if got := w.Stuck(); len(got) != 0 {
		t.Fatalf("a loop busy for its limit is stuck: %q", got)
	}
	clk.SetTime(clk.Now().Add(time.Second))
	got := w.Stuck()
	if len(got) != 1 || !strings.HasPrefix(got[0], "fail-over evaluation: busy for 1m1s") {
		t.Fatalf("a loop busy past its limit: %q", got)
	}
	l.End()
	if got := w.Stuck(); len(got) != 0 {
		t.Fatalf("a loop that finished is stuck: %q", got)
	}
}

func TestConditionStuckOnceItFailedForLongerThanItsLimit(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(time.Unix(1000, 0))
	w := New(clk)
	synced := false
	w.Require("DRBD events synced", 2*time.Minute, func() bool { return synced })
	// The first check starts the count: nothing says since when it failed.
	if got := w.Stuck(); len(got) != 0 {
		t.Fatalf("first check: %q", got)
	}
	clk.SetTime(clk.Now().Add(2 * time.Minute))
	if got := w.Stuck(); len(got) != 0 {
		t.Fatalf("at the limit: %q", got)
	}
	clk.SetTime(clk.Now().Add(time.Second))
	if got := w.Stuck(); len(got) != 1 || !strings.Contains(got[0], "DRBD events synced: not for 2m1s") {
		t.Fatalf("past the limit: %q", got)
	}
	synced = true
	if got := w.Stuck(); len(got) != 0 {
		t.Fatalf("once it holds: %q", got)
	}
	// It fails again: a new count.
	synced = false
	w.Stuck()
	clk.SetTime(clk.Now().Add(time.Minute))
	if got := w.Stuck(); len(got) != 0 {
		t.Fatalf("failing again, within the limit: %q", got)
	}
}

func TestNilLoopWatchesNothing(t *testing.T) {
	var l *Loop
	l.Begin()
	l.End()
}
