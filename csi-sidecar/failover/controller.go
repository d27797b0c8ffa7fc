package failover

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/flowcontrol"

	"github.com/linstor-ha/linstor-ha/csi-sidecar/clusterview"
	"github.com/linstor-ha/linstor-ha/csi-sidecar/liveness"
	"github.com/linstor-ha/linstor-ha/csi-sidecar/metrics"
	"github.com/linstor-ha/linstor-ha/csi-sidecar/report"
	"github.com/linstor-ha/linstor-ha/csi-sidecar/watchdog"
)

// ControllerOptions configure a Controller.
type ControllerOptions struct {
	Node string
	// ReadOptions reads the resources' DRBD options (drbdsetup show);
	// nil counts every resource as without quorum.
	ReadOptions OptionsReader
	// Timeout is the fail-over timeout; Hysteresis delays removing this
	// node's taint; ReportStaleAfter is how long a peer's report counts
	// after this node saw its heartbeat change.
	Timeout, Hysteresis, ReportStaleAfter time.Duration
	// EvidenceGrace is how long past the timeout a fail-over waits for
	// evidence that the peer cannot write before it is refused; the
	// Lease duration covers a crashed peer's Lease running out.
	EvidenceGrace time.Duration
	// AttacherGrace is how long the external-attacher gets to finish
	// the detach of a deleted attachment on a gone node before this node
	// removes the attacher's finalizer itself; DefaultAttacherGrace when
	// zero.
	AttacherGrace time.Duration
	// Taints are the keys of the taints to set, DefaultTaintKeys when
	// zero; DisableNodeTaints sets none.
	Taints            TaintKeys
	DisableNodeTaints bool
	// DryRun records what would be done and does nothing.
	DryRun bool
	// PeerNode maps a DRBD connection name to a node name.
	PeerNode func(string) string
	// Liveness reads lost peers' Leases; nil leaves a peer's report and
	// readiness as the only signs of its life.
	Liveness *liveness.Observer
	// Conflicts knows the pods of another fail-over actor, while which
	// nothing is done; nil when no other actor is looked for.
	Conflicts Conflicts
	// Progress tells the liveness probe while an evaluation runs; nil
	// tells nobody.
	Progress *watchdog.Loop
}

// Conflicts tells which pods of another fail-over actor run; a
// *conflict.Watcher is one.
type Conflicts interface {
	// Synced is false until the pods are known.
	Synced() bool
	Pods() []types.NamespacedName
}

// DefaultAttacherGrace leaves a deleted attachment to a live
// external-attacher, which detaches it in milliseconds and, in a room's
// worth of fail-overs, within a second: this node then spends no call on
// it. Only an attacher that is down or stuck, say on a CSI driver that
// cannot reach the gone node, has its finalizer removed here.
const DefaultAttacherGrace = time.Second

// Retries of a failed action back off from retryInitial to retryMax, as
// client-go's workqueue does, so that an API server that refuses does not
// get a hot loop of calls.
const (
	retryInitial = 200 * time.Millisecond
	retryMax     = 10 * time.Second
)

// Controller turns DRBD and cluster changes into decisions and actions. It
// runs one evaluation at a time, triggered by events, never by polling:
// gather the input, decide (pure), run the actions phase by phase, record
// what came of them.
type Controller struct {
	opts     ControllerOptions
	gatherer *gatherer
	executor *Executor
	recorder *recorder

	trigger chan struct{}

	// What one evaluation hands to the next; only Run's goroutine
	// touches it.
	memory decisionMemory
	done   map[string]bool // actions done for the current need
	// retry grows the wait after each failure of an action; retryAt is
	// when a failed action may be tried again.
	retry   *flowcontrol.Backoff
	retryAt map[string]time.Time
}

// decisionMemory is what a decision remembers from the one before.
type decisionMemory struct {
	lostSince    map[Key]time.Time
	healthySince time.Time
}

// NewController returns a controller.
func NewController(opts ControllerOptions, resources Resources, view *clusterview.View, reports report.Client,
	executor *Executor, events events.EventRecorder, m *metrics.Metrics) *Controller {
	if opts.AttacherGrace <= 0 {
		opts.AttacherGrace = DefaultAttacherGrace
	}
	switch {
	case opts.DisableNodeTaints:
		opts.Taints = TaintKeys{}
	case opts.Taints == TaintKeys{}:
		opts.Taints = DefaultTaintKeys()
	}
	return &Controller{
		opts:     opts,
		gatherer: newGatherer(opts, resources, view, reports, m),
		executor: executor,
		recorder: &recorder{events: events, metrics: m, dryRun: opts.DryRun},
		trigger:  make(chan struct{}, 1),
		memory:   decisionMemory{lostSince: map[Key]time.Time{}},
		done:     map[string]bool{},
		retry:    flowcontrol.NewBackOff(retryInitial, retryMax),
		retryAt:  map[string]time.Time{},
	}
}

// Trigger asks for an evaluation; it never blocks.
func (c *Controller) Trigger() {
	select {
	case c.trigger <- struct{}{}:
	default:
	}
}

// StreamRestarted tells the controller that the DRBD stream was restarted:
// what it cached of the resources' options may be outdated.
func (c *Controller) StreamRestarted() {
	c.gatherer.ForgetOptions()
	c.Trigger()
}

// Run evaluates whenever triggered or when a waiting fail-over is due.
func (c *Controller) Run(ctx context.Context) error {
	var due <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.trigger:
		case <-due:
		}
		c.opts.Progress.Begin()
		next := c.evaluate(ctx, time.Now())
		c.opts.Progress.End()
		due = nil
		if !next.IsZero() {
			due = time.After(time.Until(next))
		}
	}
}

// evaluate gathers the input, decides and acts; it returns when to look
// again even without a trigger.
func (c *Controller) evaluate(ctx context.Context, now time.Time) time.Time {
	d := Decide(c.gatherer.gather(ctx, now, c.memory))
	c.memory = decisionMemory{lostSince: d.Lost, healthySince: d.HealthySince}

	needed := map[string]bool{}
	// held are the resources with an action waiting for its retry: what
	// must come after it waits too, as if it had failed this round.
	held := map[string]bool{}
	// Held actions stay needed: what was done or is waiting for its retry
	// is remembered for when the other actor is gone.
	for _, a := range d.Held {
		needed[actionKey(a)] = true
	}
	var pending []Action
	for _, a := range d.Actions {
		key := actionKey(a)
		needed[key] = true
		if c.done[key] {
			continue
		}
		if now.Before(c.retryAt[key]) {
			held[a.Resource] = true
			continue
		}
		pending = append(pending, a)
	}
	if len(pending) > 0 {
		done, tried := c.run(ctx, pending, d.Lost, held)
		// The backoff counts from when the calls returned: a call that
		// ran into its deadline is not tried again at once.
		after := time.Now()
		for _, a := range pending {
			key := actionKey(a)
			switch {
			case done[key]:
				c.done[key] = true
				c.retry.Reset(key)
				delete(c.retryAt, key)
			case tried[key]:
				c.retry.Next(key, after)
				c.retryAt[key] = after.Add(c.retry.Get(key))
			}
		}
	}
	for key := range c.done {
		if !needed[key] {
			delete(c.done, key)
		}
	}
	next := d.NextCheck
	for key, at := range c.retryAt {
		if !needed[key] {
			// What is no longer needed is not retried; a need that
			// comes back starts afresh.
			delete(c.retryAt, key)
			c.retry.Reset(key)
			continue
		}
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	c.retry.GC()
	c.recorder.refusals(ctx, d.Refusals)
	c.recorder.notices(ctx, d.Notices)
	c.recorder.conflict(ctx, c.opts.Node, d.ConflictingActors, len(d.Held))
	return next
}
