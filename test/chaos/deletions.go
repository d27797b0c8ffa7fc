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

// quorumMargin is how long a node must have held quorum before a deletion
// of its pod counts against linstor-ha: a deletion racing a heal that
// happened a moment before is not one the sidecar could have known about.
const quorumMargin = time.Second

// deletions turns a linstor-ha deletion of a pod whose node had quorum for
// the pod's volume into a violation. A pod's going away and the sidecar's
// Event about it arrive in either order; whichever comes second decides.
type deletions struct {
	m         *monitor
	resources map[string]string // claim -> DRBD resource

	mu       sync.Mutex
	quorate  map[types.UID]string // pods that went away from a quorate node, and why that was wrong
	goneSeen map[types.UID]bool
	byUs     map[types.UID]string // pods linstor-ha says it deleted or evicted
}

func newDeletions(m *monitor, resources map[string]string) *deletions {
	return &deletions{m: m, resources: resources, quorate: map[types.UID]string{}, goneSeen: map[types.UID]bool{}, byUs: map[types.UID]string{}}
}

// start follows the namespace's pods and Events until ctx ends.
func (d *deletions) start(ctx context.Context, f informers.SharedInformerFactory) error {
	pods := f.Core().V1().Pods().Informer()
	if _, err := pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, obj any) {
			if p, ok := obj.(*corev1.Pod); ok && p.DeletionTimestamp != nil {
				d.gone(p)
			}
		},
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if p, ok := obj.(*corev1.Pod); ok {
				d.gone(p)
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
				d.deletedByUs(e.InvolvedObject.UID, e.Reason+": "+e.Message)
			}
		},
	}); err != nil {
		return err
	}
	f.Start(ctx.Done())
	f.WaitForCacheSync(ctx.Done())
	return nil
}

// gone notes whether the pod's node had quorum for its volume when the pod
// was seen going away.
func (d *deletions) gone(p *corev1.Pod) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.goneSeen[p.UID] {
		return
	}
	d.goneSeen[p.UID] = true
	for _, v := range p.Spec.Volumes {
		if v.PersistentVolumeClaim == nil {
			continue
		}
		res, ok := d.resources[v.PersistentVolumeClaim.ClaimName]
		if !ok || p.Spec.NodeName == "" {
			continue
		}
		if held := d.m.quorateFor(p.Spec.NodeName, res, time.Now()); held >= quorumMargin {
			d.quorate[p.UID] = p.Namespace + "/" + p.Name + " on " + p.Spec.NodeName + ", which had quorum for " + res + " for " + held.Round(time.Millisecond).String()
		}
	}
	d.checkLocked(p.UID)
}

func (d *deletions) deletedByUs(uid types.UID, what string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.byUs[uid] = what
	d.checkLocked(uid)
}

func (d *deletions) checkLocked(uid types.UID) {
	why, wrong := d.quorate[uid]
	what, ours := d.byUs[uid]
	if wrong && ours {
		d.m.violate("linstor-ha deleted %s (%s)", why, what)
		delete(d.quorate, uid)
	}
}
