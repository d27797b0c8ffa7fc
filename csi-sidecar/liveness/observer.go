package liveness

import (
	"context"
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
}

// NewObserver returns an Observer of the Leases in one namespace.
func NewObserver(leases coordinationv1client.LeaseInterface) *Observer {
	return &Observer{leases: leases, seen: NewSightings()}
}

// Check reads node's Lease and judges it at now. A Lease that is missing,
// held by another identity or without a renew time or duration proves
// nothing: the verdict is zero. So is an API error, which is returned.
func (o *Observer) Check(ctx context.Context, node string, now time.Time) (Verdict, error) {
	if o.informer != nil {
		return o.checkCached(node, now), nil
	}
	l, err := o.leases.Get(ctx, LeaseName(node), metav1.GetOptions{})
	if err != nil {
		// Silence must be seen across reads that succeed: after an API
		// outage the peer's next renewal may simply not have come yet.
		o.Forget(node)
		if apierrors.IsNotFound(err) {
			return Verdict{}, nil
		}
		return Verdict{}, err
	}
	duration, renewTime, ok := usable(l, node)
	if !ok {
		o.Forget(node)
		return Verdict{}, nil
	}
	return judge(o.seen.See(node, renewTime, now, duration), renewTime, duration, now), nil
}

// checkCached judges node's Lease from the watch's cache. A peer counts as
// silent only once the watch brought one of this node's own renewals made
// after the peer's should have come: a watch that hangs brings nobody's
// renewals, and that must not pass for anybody's silence.
func (o *Observer) checkCached(node string, now time.Time) Verdict {
	l, err := o.lister.Leases(o.namespace).Get(LeaseName(node))
	if err != nil {
		return Verdict{}
	}
	duration, renewTime, ok := usable(l, node)
	if !ok {
		return Verdict{}
	}
	until := o.seen.See(node, renewTime, now, duration)
	if !now.Before(until) && !o.watchDeliveredAfter(until) {
		return Verdict{}
	}
	return judge(until, renewTime, duration, now)
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
func (o *Observer) Forget(node string) { o.seen.Forget(node) }

// Retain forgets every node for which keep is false, so that the memory
// follows the peers currently lost.
// A watching Observer keeps every node: it holds one sighting per Lease
// anyway, and the history before a loss is what it watches for.
func (o *Observer) Retain(keep func(node string) bool) {
	if o.informer == nil {
		o.seen.Retain(keep)
	}
}
