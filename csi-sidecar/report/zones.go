package report

import (
	"context"
	"slices"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

// How the peers' zones are kept. A node's zone comes from its CSI driver
// at registration and practically never changes, so a known zone is read
// again only now and then; an unknown one (no report yet, a failed read)
// sooner.
const (
	zoneRefresh = 10 * time.Minute
	zoneRetry   = 30 * time.Second
	// zoneReadTimeout bounds one read of a peer's report.
	zoneReadTimeout = 5 * time.Second
)

// zoneCache learns the peers' zones from their own replica reports, the
// same source the webhook and the status command use, away from the
// report's writes: a write never waits for a peer's report.
type zoneCache struct {
	client Client
	clock  clock.WithTicker
	// onChange is called after a peer's zone became known or changed.
	onChange func()

	mu      sync.Mutex
	entries map[string]*zoneEntry
	wake    chan struct{}
}

type zoneEntry struct {
	zone string
	// due is when the zone is to be read (again); zero while a read is
	// not wanted.
	due time.Time
	// asked is when the zone was last asked for; entries nobody asks for
	// any more are dropped.
	asked time.Time
}

func newZoneCache(client Client, clk clock.WithTicker, onChange func()) *zoneCache {
	return &zoneCache{client: client, clock: clk, onChange: onChange, entries: map[string]*zoneEntry{}, wake: make(chan struct{}, 1)}
}

// Zone returns the zone of node as last read, "" when unknown yet, and has
// it read when it is due. It never blocks on the API server.
func (z *zoneCache) Zone(node string) string {
	now := z.clock.Now()
	z.mu.Lock()
	defer z.mu.Unlock()
	e, ok := z.entries[node]
	if !ok {
		e = &zoneEntry{due: now}
		z.entries[node] = e
		z.signalLocked()
	}
	e.asked = now
	return e.zone
}

func (z *zoneCache) signalLocked() {
	select {
	case z.wake <- struct{}{}:
	default:
	}
}

// run reads the zones that are due until ctx ends.
func (z *zoneCache) run(ctx context.Context) {
	for {
		next := z.readDue(ctx)
		wait := zoneRefresh
		if !next.IsZero() {
			wait = max(next.Sub(z.clock.Now()), 0)
		}
		timer := z.clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-z.wake:
			timer.Stop()
		case <-timer.C():
		}
	}
}

// readDue reads every zone that is due and returns when the next one will
// be, zero when none is asked for.
func (z *zoneCache) readDue(ctx context.Context) time.Time {
	now := z.clock.Now()
	var due []string
	z.mu.Lock()
	for node, e := range z.entries {
		switch {
		case now.Sub(e.asked) > zoneRefresh:
			// No resource shares a replica with that node any more.
			delete(z.entries, node)
		case !now.Before(e.due):
			due = append(due, node)
		}
	}
	z.mu.Unlock()
	slices.Sort(due)

	changed := false
	for _, node := range due {
		zone, err := z.read(ctx, node)
		if ctx.Err() != nil {
			return time.Time{}
		}
		retry := zoneRefresh
		if err != nil || zone == "" {
			retry = zoneRetry
		}
		z.mu.Lock()
		if e, ok := z.entries[node]; ok {
			// A failed read keeps the zone known before: a peer that is
			// down stays where it was.
			if err == nil && e.zone != zone {
				e.zone = zone
				changed = true
			}
			e.due = z.clock.Now().Add(retry)
		}
		z.mu.Unlock()
	}
	if changed && z.onChange != nil {
		z.onChange()
	}

	var next time.Time
	z.mu.Lock()
	defer z.mu.Unlock()
	for _, e := range z.entries {
		if next.IsZero() || e.due.Before(next) {
			next = e.due
		}
	}
	return next
}

// read returns the zone a peer's report gives; a peer without a report has
// none yet, which is no error.
func (z *zoneCache) read(ctx context.Context, node string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, zoneReadTimeout)
	defer cancel()
	rr, err := z.client.Get(ctx, node)
	switch {
	case apierrors.IsNotFound(err):
		return "", nil
	case err != nil:
		klog.FromContext(ctx).Error(err, "Failed to read a peer's replica report for its zone; its replicas count as in an unknown zone until the next try", "node", node, "retryIn", zoneRetry)
		return "", err
	}
	return rr.Status.Zone, nil
}
