// Package liveness gives every sidecar a cheap, frequent sign of life: a
// coordination Lease per node, renewed about every second. A peer's replica
// report is confirmed far less often, because it is large; the Lease lets a
// survivor prove within seconds that a lost peer's sidecar stopped, which is
// what a node that lost power looks like.
//
// A survivor judges a peer's Lease by its own clock only: it notes when it
// first saw the Lease's current renew time, and calls the peer silent once
// that renew time has stayed the same for longer than the Lease's duration.
// Clocks that disagree between nodes therefore cannot make a live peer look
// silent. Sightings apply the same rule to any mark a peer writes with its
// own clock, such as its replica report's heartbeat.
package liveness

import (
	"context"
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/utils/ptr"
)

// namePrefix keeps the sidecars' Leases apart from others in a shared
// namespace.
const namePrefix = "linstor-ha-"

// LeaseName is the name of a node's liveness Lease.
func LeaseName(node string) string {
	return namePrefix + node
}

// CheckNodeName reports whether a node's Lease name would be valid.
func CheckNodeName(node string) error {
	if len(LeaseName(node)) > 253 {
		return fmt.Errorf("node name %q is too long for a liveness lease name", node)
	}
	return nil
}

// Renewer keeps one node's Lease renewed.
type Renewer struct {
	Leases coordinationv1client.LeaseInterface
	Node   string
	// Interval is how often the Lease is renewed; Duration is how long it
	// says it lasts, rounded up to whole seconds.
	Interval, Duration time.Duration
	// OnError is told of every failed renewal; the next one is tried an
	// interval later.
	OnError func(error)

	last *coordinationv1.Lease
}

// Run renews the Lease every interval until ctx ends, then gives it up: a
// sidecar that stops on purpose (a rolling update, liveness turned off)
// must not look like a dead node to its peers.
func (r *Renewer) Run(ctx context.Context) {
	t := time.NewTicker(r.Interval)
	defer t.Stop()
	for {
		if err := r.renewWithin(ctx); err != nil && ctx.Err() == nil && r.OnError != nil {
			r.OnError(err)
		}
		select {
		case <-ctx.Done():
			r.release()
			return
		case <-t.C:
		}
	}
}

// renewWithin renews, giving up after the Lease's duration: a renewal that
// takes longer is too late anyway, and must not hold up the next one.
func (r *Renewer) renewWithin(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, r.Duration)
	defer cancel()
	return r.renew(ctx)
}

// release clears the holder of the Lease last written. Peers take a Lease
// without its holder as proving nothing.
func (r *Renewer) release() {
	if r.last == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.Duration)
	defer cancel()
	l := r.last.DeepCopy()
	l.Spec.HolderIdentity = nil
	if _, err := r.Leases.Update(ctx, l, metav1.UpdateOptions{}); err != nil && r.OnError != nil {
		r.OnError(fmt.Errorf("failed to release lease %s: %w", LeaseName(r.Node), err))
	}
}

// renew writes a new renew time: an update of the Lease last written, as
// long as nobody else changed it, which saves a read per renewal.
func (r *Renewer) renew(ctx context.Context) error {
	seconds := int32((r.Duration + time.Second - 1) / time.Second)
	now := metav1.NowMicro()
	if r.last != nil {
		l := r.last.DeepCopy()
		l.Spec.RenewTime, l.Spec.LeaseDurationSeconds = &now, ptr.To(seconds)
		updated, err := r.Leases.Update(ctx, l, metav1.UpdateOptions{})
		if err == nil {
			r.last = updated
			return nil
		}
		r.last = nil
		if !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
			return fmt.Errorf("failed to renew lease %s: %w", LeaseName(r.Node), err)
		}
	}
	l, err := r.Leases.Get(ctx, LeaseName(r.Node), metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		l = &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: LeaseName(r.Node), Labels: map[string]string{
				"app.kubernetes.io/name": "linstor-ha", "app.kubernetes.io/component": "csi-sidecar",
			}},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(r.Node), LeaseDurationSeconds: ptr.To(seconds), RenewTime: &now},
		}
		created, err := r.Leases.Create(ctx, l, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("failed to create lease %s: %w", LeaseName(r.Node), err)
		}
		r.last = created
		return nil
	case err != nil:
		return fmt.Errorf("failed to read lease %s: %w", LeaseName(r.Node), err)
	}
	l.Spec.HolderIdentity, l.Spec.RenewTime, l.Spec.LeaseDurationSeconds = ptr.To(r.Node), &now, ptr.To(seconds)
	updated, err := r.Leases.Update(ctx, l, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("failed to renew lease %s: %w", LeaseName(r.Node), err)
	}
	r.last = updated
	return nil
}
