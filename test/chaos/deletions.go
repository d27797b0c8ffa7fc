package chaos

import (
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/linstor-ha/linstor-ha/pkg/metadata"
)

// quorumMargin widens the moment of a deletion: Event times have whole
// seconds, and a deletion racing a heal a moment before is not one the
// sidecar could have known about.
const quorumMargin = time.Second

// deletions turns a linstor-ha deletion of a pod whose node had quorum for
// the pod's volume into a violation. The sidecar's Event says when it
// acted; the pod's going away says where it ran. Both arrive in either
// order and, after an API server restart, seconds late: the node counts as
// quorate only if it has had quorum without a break since before the
// Event's time.
type deletions struct {
	m         *monitor
	resources map[string]string // claim -> DRBD resource

	mu   sync.Mutex
	gone map[types.UID]*corev1.Pod
	byUs map[types.UID]*corev1.Event
	done map[types.UID]bool
}

func newDeletions(m *monitor, resources map[string]string) *deletions {
	return &deletions{m: m, resources: resources, gone: map[types.UID]*corev1.Pod{}, byUs: map[types.UID]*corev1.Event{}, done: map[types.UID]bool{}}
}

// start follows the namespace's pods and Events until ctx ends.
func (d *deletions) start(ctx context.Context, f informers.SharedInformerFactory) error {
	pods := f.Core().V1().Pods().Informer()
	if _, err := pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, obj any) {
			if p, ok := obj.(*corev1.Pod); ok && p.DeletionTimestamp != nil {
				d.podGone(p)
			}
		},
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if p, ok := obj.(*corev1.Pod); ok {
				d.podGone(p)
			}
		},
	}); err != nil {
		return err
	}
	events := f.Core().V1().Events().Informer()
	if _, err := events.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			e, ok := obj.(*corev1.Event)
			if ok && e.InvolvedObject.Kind == "Pod" && (e.Reason == metadata.ReasonPodForceDeleted || e.Reason == metadata.ReasonPodEvicted) {
				d.deletedByUs(e)
			}
		},
	}); err != nil {
		return err
	}
	f.Start(ctx.Done())
	f.WaitForCacheSync(ctx.Done())
	return nil
}

func (d *deletions) podGone(p *corev1.Pod) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, seen := d.gone[p.UID]; !seen {
		d.gone[p.UID] = p
		d.checkLocked(p.UID)
	}
}

func (d *deletions) deletedByUs(e *corev1.Event) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.byUs[e.InvolvedObject.UID] = e
	d.checkLocked(e.InvolvedObject.UID)
}

func (d *deletions) checkLocked(uid types.UID) {
	p, e := d.gone[uid], d.byUs[uid]
	if p == nil || e == nil || d.done[uid] || p.Spec.NodeName == "" {
		return
	}
	d.done[uid] = true
	acted := e.FirstTimestamp.Time
	if !e.EventTime.IsZero() {
		acted = e.EventTime.Time
	}
	for _, v := range p.Spec.Volumes {
		if v.PersistentVolumeClaim == nil {
			continue
		}
		res, ok := d.resources[v.PersistentVolumeClaim.ClaimName]
		if !ok {
			continue
		}
		if since, quorate := d.m.quorateSinceFor(p.Spec.NodeName, res); quorate && since.Before(acted.Add(-quorumMargin)) {
			d.m.violate("linstor-ha deleted %s/%s on %s at %s, and %s has had quorum for %s since %s (%s: %s)",
				p.Namespace, p.Name, p.Spec.NodeName, acted.Format("15:04:05"), p.Spec.NodeName, res, since.Format("15:04:05.000"), e.Reason, e.Message)
		}
	}
}
