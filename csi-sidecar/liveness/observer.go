package liveness

import (
	"context"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	coordinationlisters "k8s.io/client-go/listers/coordination/v1"
	"k8s.io/client-go/tools/cache"
)

// Verdict is what a peer's Lease shows.
type Verdict struct {
	// Silent is true when the Lease has not been renewed for longer than
	// its duration, by the observer's clock.
	Silent bool
	// AliveUntil is when a Lease that is not silent yet becomes silent
	// unless renewed; zero when the Lease proves nothing either way.
	AliveUntil time.Time
	// RenewTime is the Lease's renew time, by the peer's clock, and
	// Duration its duration.
	RenewTime time.Time
	Duration  time.Duration
	// SilentSince is when a silent Lease went silent, by the observer's
	// clock: its duration after the observer first saw its last renewal.
	SilentSince time.Time
}

// Abandoned reports whether a silent Lease was left behind by a sidecar
// that still runs: its replica report, written by the same clock, is newer
// than the Lease could be. Such silence proves nothing.
func (v Verdict) Abandoned(reportHeartbeat time.Time) bool {
	return v.Silent && reportHeartbeat.After(v.RenewTime.Add(v.Duration))
}

// Observer reads peers' Leases on demand, only for peers DRBD lost, and
// remembers when it saw each renewal.
type Observer struct {
	leases coordinationv1client.LeaseInterface
	seen   *Sightings

	// Set when the Observer watches the Leases (NewWatchingObserver).
	informer        cache.SharedIndexInformer
	lister          coordinationlisters.LeaseLister
	namespace, self string
	// silentAsRead holds, per peer, the last read from the API server
	// that showed its renewal run out.
	mu           sync.Mutex
	silentAsRead map[string]silentRead
}

// NewObserver returns an Observer of the Leases in one namespace.
func NewObserver(leases coordinationv1client.LeaseInterface) *Observer {
	return &Observer{leases: leases, seen: NewSightings(), silentAsRead: map[string]silentRead{}}
}

// Check reads node's Lease and judges it at now. A Lease that is missing,
// held by another identity or without a renew time or duration proves
// nothing: the verdict is zero. So is an API error, which is returned.
func (o *Observer) Check(ctx context.Context, node string, now time.Time) (Verdict, error) {
	if o.informer != nil {
		return o.checkCached(ctx, node, now)
	}
	duration, renewTime, ok, err := o.read(ctx, node)
	if err != nil || !ok {
		// Silence must be seen across reads that succeed: after an API
		// outage the peer's next renewal may simply not have come yet.
		o.Forget(node)
		return Verdict{}, err
	}
	return judge(o.seen.See(node, renewTime, now, duration), renewTime, duration, now), nil
}

// read gets node's Lease from the API server: its duration and renew time
// when it is usable (see usable); a missing Lease is not usable, and no
// error.
func (o *Observer) read(ctx context.Context, node string) (time.Duration, time.Time, bool, error) {
	l, err := o.leases.Get(ctx, LeaseName(node), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return 0, time.Time{}, false, nil
	}
	if err != nil {
		return 0, time.Time{}, false, err
	}
	duration, renewTime, ok := usable(l, node)
	return duration, renewTime, ok, nil
}

// checkCached judges node's Lease from the watch's cache. A peer counts as
// silent only once something read after its renewal should have come shows
// none: the watch bringing one of this node's own renewals made after that
// moment (a watch delivers in order), or else one read of the Lease from
// the API server. A watch that hangs brings nobody's renewals, and that
// must not pass for anybody's silence; but waiting for this node's next
// renewal to come through would add up to a renewal interval to every
// crash's fail-over, so the read proves it at once.
func (o *Observer) checkCached(ctx context.Context, node string, now time.Time) (Verdict, error) {
	l, err := o.lister.Leases(o.namespace).Get(LeaseName(node))
	if err != nil {
		return Verdict{}, nil
	}
	duration, renewTime, ok := usable(l, node)
	if !ok {
		return Verdict{}, nil
	}
	until := o.seen.See(node, renewTime, now, duration)
	if now.Before(until) || o.watchDeliveredAfter(until) || o.readSilent(node, renewTime, now) {
		return judge(until, renewTime, duration, now), nil
	}
	return o.confirmSilence(ctx, node, renewTime, duration, now)
}

// confirmSilence reads node's Lease from the API server, once its renewal
// of renewTime ran out by the watch's account, within the Lease's duration:
// a read that takes longer comes from a connection in trouble. The same
// renewal there proves the silence; it is remembered for the Lease's
// duration, so that the evaluations that follow do not read it again, and
// read again after that while the watch still brings nothing, so that a
// watch that stalls cannot keep a peer silent that renewed since. A newer
// renewal there is one the watch has not brought yet.
func (o *Observer) confirmSilence(ctx context.Context, node string, renewTime time.Time, duration time.Duration, now time.Time) (Verdict, error) {
	ctx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	d, renew, ok, err := o.read(ctx, node)
	if err != nil || !ok {
		return Verdict{}, err
	}
	until := o.seen.See(node, renew, now, d)
	if renew.Equal(renewTime) && !now.Before(until) {
		o.mu.Lock()
		o.silentAsRead[node] = silentRead{renewTime: renew, validUntil: now.Add(d)}
		o.mu.Unlock()
	}
	return judge(until, renew, d, now), nil
}

// silentRead is a read from the API server that showed a peer's renewal of
// renewTime run out; it counts until validUntil.
type silentRead struct {
	renewTime, validUntil time.Time
}

// readSilent reports whether a read of node's Lease from the API server
// showed its renewal of renewTime run out, recently enough to count at now.
func (o *Observer) readSilent(node string, renewTime, now time.Time) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	read, ok := o.silentAsRead[node]
	return ok && read.renewTime.Equal(renewTime) && now.Before(read.validUntil)
}

// judge is the verdict on a Lease whose current renewal counts until
// until.
func judge(until, renewTime time.Time, duration time.Duration, now time.Time) Verdict {
	if !now.Before(until) {
		return Verdict{Silent: true, SilentSince: until, RenewTime: renewTime, Duration: duration}
	}
	return Verdict{AliveUntil: until, RenewTime: renewTime, Duration: duration}
}

// Forget drops what was seen of node's Lease: the next Check starts
// observing afresh.
func (o *Observer) Forget(node string) {
	o.seen.Forget(node)
	o.mu.Lock()
	delete(o.silentAsRead, node)
	o.mu.Unlock()
}

// Retain forgets every node for which keep is false, so that the memory
// follows the peers currently lost.
// A watching Observer keeps every node: it holds one sighting per Lease
// anyway, and the history before a loss is what it watches for.
func (o *Observer) Retain(keep func(node string) bool) {
	if o.informer == nil {
		o.seen.Retain(keep)
	}
}
