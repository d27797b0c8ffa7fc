package liveness

import (
	"context"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	coordinationlisters "k8s.io/client-go/listers/coordination/v1"
	"k8s.io/client-go/tools/cache"
)

// NewWatchingObserver returns an Observer that watches every Lease of the
// namespace and notes each renewal as it arrives, whether or not DRBD lost
// the peer. A peer that crashed is then known silent from its last
// renewal on, not from the moment DRBD noticed; and Check reads the cache,
// not the API server. namespace is the one of leases, and client what they
// come from (it tells the reflector whether the initial list can be
// streamed, which a fake clientset cannot); self is this node: its own renewals, seen through the
// same watch, show that the watch still delivers, without which nobody's
// silence proves anything.
func NewWatchingObserver(leases coordinationv1client.LeaseInterface, client any, namespace, self string) *Observer {
	o := NewObserver(leases)
	o.self, o.namespace = self, namespace
	o.informer = cache.NewSharedIndexInformer(cache.ToListWatcherWithWatchListSemantics(&cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			return leases.List(ctx, opts)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			return leases.Watch(ctx, opts)
		},
	}, client), &coordinationv1.Lease{}, 0, cache.Indexers{})
	o.lister = coordinationlisters.NewLeaseLister(o.informer.GetIndexer())
	see := func(obj any) {
		if l, ok := obj.(*coordinationv1.Lease); ok {
			o.see(l, time.Now())
		}
	}
	_, _ = o.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    see,
		UpdateFunc: func(_, obj any) { see(obj) },
		DeleteFunc: func(obj any) {
			if l, ok := obj.(*coordinationv1.Lease); ok {
				if node, ok := strings.CutPrefix(l.Name, namePrefix); ok {
					o.Forget(node)
				}
			}
		},
	})
	return o
}

// Start runs the watch until ctx ends; an Observer that does not watch
// needs no start.
func (o *Observer) Start(ctx context.Context) {
	if o.informer != nil {
		go o.informer.RunWithContext(ctx)
	}
}

// see notes a Lease's renewal at now.
func (o *Observer) see(l *coordinationv1.Lease, now time.Time) {
	node, ok := strings.CutPrefix(l.Name, namePrefix)
	if !ok {
		return
	}
	if d, renew, ok := usable(l, node); ok {
		o.seen.See(node, renew, now, d)
	}
}

// usable returns a Lease's duration and renew time if it is one that a
// node's sidecar holds and renews.
func usable(l *coordinationv1.Lease, node string) (time.Duration, time.Time, bool) {
	s := l.Spec
	if s.HolderIdentity == nil || *s.HolderIdentity != node || s.RenewTime == nil ||
		s.LeaseDurationSeconds == nil || *s.LeaseDurationSeconds <= 0 {
		return 0, time.Time{}, false
	}
	return time.Duration(*s.LeaseDurationSeconds) * time.Second, s.RenewTime.Time, true
}

// watchDeliveredAfter reports whether the watch brought a renewal of this
// node's own Lease written at or after t, by this node's clock. A watch
// delivers in order, so every renewal of a peer written before that one has
// arrived too: a peer that shows none since t went silent, rather than the
// watch stalling between its renewal and ours.
func (o *Observer) watchDeliveredAfter(t time.Time) bool {
	if !o.informer.HasSynced() {
		return false
	}
	l, err := o.lister.Leases(o.namespace).Get(LeaseName(o.self))
	if err != nil {
		return false
	}
	_, renew, ok := usable(l, o.self)
	return ok && !renew.Before(t)
}
