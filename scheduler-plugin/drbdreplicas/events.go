package drbdreplicas

import (
	"context"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/linstor-ha/linstor-ha/pkg/metadata"
)

// reportResource names the replica reports in the scheduler's event
// handling, which follows such custom resources with a dynamic informer.
const reportResource fwk.EventResource = metadata.ReportResource + "." + metadata.ReportVersion + "." + metadata.ReportGroup

// EventsToRegister returns the events after which a pod this plugin
// rejected may fit: a replica report that appears, goes, or changes what it
// says about the replicas.
func (p *Plugin) EventsToRegister(context.Context) ([]fwk.ClusterEventWithHint, error) {
	return []fwk.ClusterEventWithHint{
		{Event: fwk.ClusterEvent{Resource: reportResource, ActionType: fwk.Add | fwk.Delete}},
		{Event: fwk.ClusterEvent{Resource: reportResource, ActionType: fwk.Update}, QueueingHintFn: reportChanged},
	}, nil
}

// reportChanged lets heartbeat-only updates pass: they arrive every few
// seconds from every node and change no verdict.
func reportChanged(logger klog.Logger, _ *corev1.Pod, oldObj, newObj any) (fwk.QueueingHint, error) {
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
