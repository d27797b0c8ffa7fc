package drbdreplicas

import (
	"context"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/linstor-ha/linstor-ha/pkg/apis/linstorha/v1alpha1"
	"github.com/linstor-ha/linstor-ha/pkg/metadata"
)

// reportResource names the replica reports in the scheduler's event
// handling, which follows such custom resources with a dynamic informer.
const reportResource fwk.EventResource = metadata.ReportResource + "." + metadata.ReportVersion + "." + metadata.ReportGroup

// EventsToRegister returns the events after which a pod this plugin
// rejected may fit: a replica report that appears, goes, or changes what it
// says about the replicas, and a new node. Report events come only when the
// report API can be read: the scheduler waits for the informers of every
// event it handles before scheduling anything, and a missing CRD must not
// stop scheduling.
func (p *Plugin) EventsToRegister(context.Context) ([]fwk.ClusterEventWithHint, error) {
	events := []fwk.ClusterEventWithHint{{Event: fwk.ClusterEvent{Resource: fwk.Node, ActionType: fwk.Add}}}
	if p.reportEvents {
		events = append(events,
			fwk.ClusterEventWithHint{Event: fwk.ClusterEvent{Resource: reportResource, ActionType: fwk.Add | fwk.Delete}, QueueingHintFn: p.reportAddedOrDeleted},
			fwk.ClusterEventWithHint{Event: fwk.ClusterEvent{Resource: reportResource, ActionType: fwk.Update}, QueueingHintFn: p.reportChanged})
	}
	return events, nil
}

// learn applies a report event to the index before the pod is retried:
// the plugin's own watch may not have delivered it yet, and a retry that
// reads the old index would be rejected again.
func (p *Plugin) learn(oldObj, newObj any) {
	if newObj == nil {
		if u, ok := oldObj.(*unstructured.Unstructured); ok {
			p.index.Delete(u.GetName())
		}
		return
	}
	u, ok := newObj.(*unstructured.Unstructured)
	// The hint runs once per waiting pod: convert each version once.
	if !ok || (u.GetResourceVersion() != "" && u.GetResourceVersion() == p.index.Version(u.GetName())) {
		return
	}
	var rr v1alpha1.ReplicaReport
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &rr); err == nil {
		p.index.Set(&rr)
	}
}

func (p *Plugin) reportAddedOrDeleted(_ klog.Logger, _ *corev1.Pod, oldObj, newObj any) (fwk.QueueingHint, error) {
	p.learn(oldObj, newObj)
	return fwk.Queue, nil
}

// reportChanged lets heartbeat-only updates pass: they arrive every few
// seconds from every node and change no verdict.
func (p *Plugin) reportChanged(logger klog.Logger, _ *corev1.Pod, oldObj, newObj any) (fwk.QueueingHint, error) {
	p.learn(oldObj, newObj)
	oldR, okOld := oldObj.(*unstructured.Unstructured)
	newR, okNew := newObj.(*unstructured.Unstructured)
	if !okOld || !okNew {
		return fwk.Queue, nil
	}
	for _, field := range []string{"resources", "synced", "zone"} {
		o, _, _ := unstructured.NestedFieldNoCopy(oldR.Object, "status", field)
		n, _, _ := unstructured.NestedFieldNoCopy(newR.Object, "status", field)
		if !reflect.DeepEqual(o, n) {
			logger.V(5).Info("Replica report changed", "report", newR.GetName(), "field", field)
			return fwk.Queue, nil
		}
	}
	return fwk.QueueSkip, nil
}
