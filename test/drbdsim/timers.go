package drbdsim

import (
	"container/heap"
	"time"
)

// The cluster keeps its own queue of timed transitions and asks the clock
// for a single alarm at the earliest one. The alarm's callback only wakes
// the loop goroutine: a fake clock runs callbacks while it holds its lock,
// so a callback must not call the clock, nor wait for the cluster's lock
// (whose holder may be calling the clock).
//
// Every public method catches up first (settleLocked), so after a test
// steps a fake clock, the next call sees every transition that became due,
// applied in due-time order, each at its own simulated time.

// timer is one pending transition.
type timer struct {
	at    time.Time
	seq   uint64
	fire  func()
	index int // in the queue; -1 when not queued
}

type timerQueue []*timer

func (q timerQueue) Len() int { return len(q) }
func (q timerQueue) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	return q[i].seq < q[j].seq
}
func (q timerQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index = i
	q[j].index = j
}
func (q *timerQueue) Push(x any) {
	t := x.(*timer)
	t.index = len(*q)
	*q = append(*q, t)
}
func (q *timerQueue) Pop() any {
	old := *q
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	t.index = -1
	return t
}

// after schedules fire at d after the current simulated time.
func (c *Cluster) after(d time.Duration, fire func()) *timer {
	c.seq++
	t := &timer{at: c.now.Add(d), seq: c.seq, fire: fire}
	heap.Push(&c.timers, t)
	return t
}

// cancel unschedules t; nil and fired timers are ignored.
func (c *Cluster) cancel(t *timer) {
	if t != nil && t.index >= 0 {
		heap.Remove(&c.timers, t.index)
	}
}

// maxSteps bounds one catch-up, as a guard against a transition that
// keeps rescheduling itself without delay.
const maxSteps = 100000

// settleLocked lets DRBD react: it reconciles every view with the truth,
// publishes the changes to the streams and fires the due timers in order,
// until nothing is due. Then it sets the alarm for the next timer.
func (c *Cluster) settleLocked() {
	wall := c.clock.Now()
	for range maxSteps {
		c.reconcileLocked()
		c.publishLocked()
		if len(c.timers) == 0 || c.timers[0].at.After(wall) {
			break
		}
		// Everything due at the same instant happens at once: a Primary
		// that loses all its peers at the same moment must not look, in
		// between, like a Primary that lost only some of them.
		at := c.timers[0].at
		if at.After(c.now) {
			c.now = at
		}
		for len(c.timers) > 0 && c.timers[0].at.Equal(at) {
			heap.Pop(&c.timers).(*timer).fire()
		}
	}
	if wall.After(c.now) {
		c.now = wall
	}
	c.armAlarmLocked()
}

func (c *Cluster) armAlarmLocked() {
	if len(c.timers) == 0 {
		if c.alarm != nil {
			c.alarm.Stop()
			c.alarm = nil
		}
		return
	}
	next := c.timers[0].at
	if c.alarm != nil && c.alarmAt.Equal(next) {
		return
	}
	if c.alarm != nil {
		c.alarm.Stop()
	}
	c.alarmAt = next
	c.alarm = c.clock.AfterFunc(max(next.Sub(c.now), 0), c.wakeUp)
}

// wakeUp is the alarm's callback; see the comment at the top.
func (c *Cluster) wakeUp() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// loop applies the timers that the alarm announces, so that streams see
// them without anyone calling the cluster.
func (c *Cluster) loop() {
	defer close(c.done)
	for {
		select {
		case <-c.stop:
			return
		case <-c.wake:
			c.mu.Lock()
			if !c.closed {
				c.settleLocked()
			}
			c.mu.Unlock()
		}
	}
}
