package reportclient

import (
	"k8s.io/client-go/tools/cache"

	"github.com/linstor-ha/linstor-ha/pkg/apis/linstorha/v1alpha1"
)

// EventHandler turns an informer's report events into set (added or
// updated) and remove (deleted, tombstones included) calls, for the
// indexes that the scheduler plugin and the webhook keep.
func EventHandler(set func(*v1alpha1.ReplicaReport), remove func(name string)) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if rr, ok := obj.(*v1alpha1.ReplicaReport); ok {
				set(rr)
			}
		},
		UpdateFunc: func(_, obj any) {
			if rr, ok := obj.(*v1alpha1.ReplicaReport); ok {
				set(rr)
			}
		},
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if rr, ok := obj.(*v1alpha1.ReplicaReport); ok {
				remove(rr.Name)
			}
		},
	}
}
