package report

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/linstor-ha/linstor-ha/csi-sidecar/watchdog"
	"github.com/linstor-ha/linstor-ha/pkg/apis/linstorha/v1alpha1"
	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
	"github.com/linstor-ha/linstor-ha/pkg/metadata"
)

// Options configure a Publisher.
type Options struct {
	NodeName string
	Zone     string
	// Heartbeat is how often the report is confirmed when nothing changes;
	// readers consider a report stale after a few missed heartbeats.
	Heartbeat time.Duration
	// Coalesce is how long changes that do not matter for fail-over are
	// gathered before they are written.
	Coalesce time.Duration
	// Urgent is how long changes that matter for fail-over (quorum,
	// may_promote, role, a peer's connection or disk) are gathered: a
	// burst of events2 lines for one state change becomes one write.
	Urgent time.Duration
	// RetryMin and RetryMax bound the wait before a failed write is tried
	// again.
	RetryMin, RetryMax time.Duration
	Clock              clock.WithTicker
	// OnWrite is called after every write attempt, with its error.
	OnWrite func(err error)
	// PeerNode maps a DRBD connection name to the peer's node name, for
	// the peers' zones; nil takes connection names for node names, as
	// LINSTOR sets them.
	PeerNode func(connection string) string
	// Progress tells the liveness probe while a write runs; nil tells
	// nobody.
	Progress *watchdog.Loop
}

func (o *Options) complete() {
	if o.Heartbeat <= 0 {
		o.Heartbeat = 10 * time.Second
	}
	if o.Coalesce <= 0 {
		o.Coalesce = time.Second
	}
	if o.Urgent <= 0 {
		o.Urgent = 20 * time.Millisecond
	}
	if o.RetryMin <= 0 {
		o.RetryMin = 200 * time.Millisecond
	}
	if o.RetryMax < o.RetryMin {
		o.RetryMax = 10 * time.Second
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
}

// Publisher keeps the node's ReplicaReport current. It always writes the
// whole status from the store, so a failed write loses nothing: the next
// one carries everything.
type Publisher struct {
	opts   Options
	client Client
	store  *state.Store

	// zones are the peers' zones, for the resources' protection.
	zones *zoneCache

	mu        sync.Mutex
	published map[string]v1alpha1.ResourceReport
	due       time.Time // zero: nothing pending
	wake      chan struct{}
}

// NewPublisher returns a publisher of store's state for one node.
func NewPublisher(opts Options, client Client, store *state.Store) *Publisher {
	opts.complete()
	p := &Publisher{opts: opts, client: client, store: store, published: map[string]v1alpha1.ResourceReport{}, wake: make(chan struct{}, 1)}
	// A peer's zone that becomes known changes protections, not
	// fail-over: it waits for the next coalesced write.
	p.zones = newZoneCache(client, opts.Clock, func() { p.Changed(nil) })
	return p
}

// Changed tells the publisher that resources changed; it schedules a write,
// soon when the change matters for fail-over.
func (p *Publisher) Changed(names []string) {
	urgent := false
	p.mu.Lock()
	for _, name := range names {
		r, ok := p.store.Get(name)
		old, had := p.published[name]
		// A resource that comes or goes is not urgent: nothing fails over
		// to a resource being created, and the scheduler can wait a
		// second. Coalescing them keeps a node that creates many
		// resources from rewriting its whole report for each.
		if ok && had && Urgent(&old, ptrTo(Resource(r))) {
			urgent = true
			break
		}
	}
	delay := p.opts.Coalesce
	if urgent {
		delay = p.opts.Urgent
	}
	p.scheduleLocked(p.opts.Clock.Now().Add(delay))
	p.mu.Unlock()
}

func ptrTo[T any](v T) *T { return &v }

// scheduleLocked makes a write due at t unless one is due earlier.
func (p *Publisher) scheduleLocked(t time.Time) {
	if p.due.IsZero() || t.Before(p.due) {
		p.due = t
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

// Urgent reports whether the change from old to cur matters for fail-over
// and so must reach the API server at once.
func Urgent(old, cur *v1alpha1.ResourceReport) bool {
	if old.Quorum != cur.Quorum || old.MayPromote != cur.MayPromote || old.Role != cur.Role ||
		old.Disk != cur.Disk || len(old.Suspended) != len(cur.Suspended) || len(old.Peers) != len(cur.Peers) {
		return true
	}
	for i := range old.Peers {
		o, c := old.Peers[i], cur.Peers[i]
		if o.Name != c.Name || o.Connection != c.Connection || o.Disk != c.Disk || o.Role != c.Role {
			return true
		}
	}
	return false
}

// Run writes the report until ctx ends.
func (p *Publisher) Run(ctx context.Context) error {
	logger := klog.FromContext(ctx).WithValues("node", p.opts.NodeName)
	clk := p.opts.Clock
	p.mu.Lock()
	p.scheduleLocked(clk.Now())
	p.mu.Unlock()
	retry := p.opts.RetryMin
	zonesDone := make(chan struct{})
	go func() { defer close(zonesDone); p.zones.run(ctx) }()
	defer func() { <-zonesDone }()
	for {
		p.mu.Lock()
		due := p.due
		p.mu.Unlock()
		wait := due.Sub(clk.Now())
		if due.IsZero() {
			wait = p.opts.Heartbeat
		}
		timer := clk.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-p.wake:
			timer.Stop()
			continue
		case <-timer.C():
		}
		// From here on, a change schedules the next write; this one
		// carries everything that happened before it.
		p.mu.Lock()
		p.due = time.Time{}
		p.mu.Unlock()
		p.opts.Progress.Begin()
		err := p.write(ctx)
		p.opts.Progress.End()
		if p.opts.OnWrite != nil {
			p.opts.OnWrite(err)
		}
		p.mu.Lock()
		if err != nil {
			logger.Error(err, "Failed to write replica report, retrying", "retryIn", retry)
			p.scheduleLocked(clk.Now().Add(retry))
			retry = min(2*retry, p.opts.RetryMax)
		} else {
			retry = p.opts.RetryMin
			p.scheduleLocked(clk.Now().Add(p.opts.Heartbeat))
		}
		p.mu.Unlock()
	}
}

// write sends the whole current status, creating the report first when it
// does not exist.
func (p *Publisher) write(ctx context.Context) error {
	synced := p.store.Synced()
	resources := p.store.List()
	status := Status(p.opts.NodeName, p.opts.Zone, synced, resources)
	status.HeartbeatTime = metav1.NewMicroTime(p.opts.Clock.Now())
	counts := AddProtection(&status, p.zones.Zone, p.opts.PeerNode)
	if synced {
		// Before the first full DRBD dump the resources are incomplete:
		// the gauges keep their last counts.
		setProtectionMetrics(counts)
	}

	// What this write carries is what later changes are compared with,
	// from now on: a change that arrives while the write is in flight must
	// not be judged against an older report. A failed write is retried
	// with the then current state anyway.
	p.mu.Lock()
	clear(p.published)
	for _, rr := range status.Resources {
		p.published[rr.Name] = rr
	}
	p.mu.Unlock()

	patch, err := json.Marshal(map[string]any{"status": status})
	if err != nil {
		return err
	}
	err = p.client.PatchStatus(ctx, p.opts.NodeName, patch)
	if apierrors.IsNotFound(err) {
		report := &v1alpha1.ReplicaReport{ObjectMeta: metav1.ObjectMeta{
			Name:   p.opts.NodeName,
			Labels: map[string]string{metadata.LabelReportNode: p.opts.NodeName},
		}}
		if err := p.client.Create(ctx, report); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("failed to create replica report %s: %w", p.opts.NodeName, err)
		}
		err = p.client.PatchStatus(ctx, p.opts.NodeName, patch)
	}
	if err != nil {
		return fmt.Errorf("failed to update replica report %s: %w", p.opts.NodeName, err)
	}
	return nil
}
