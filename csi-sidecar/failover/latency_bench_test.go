package failover_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/ptr"

	"github.com/linstor-ha/linstor-ha/csi-sidecar/clusterview"
	"github.com/linstor-ha/linstor-ha/csi-sidecar/failover"
	"github.com/linstor-ha/linstor-ha/csi-sidecar/metrics"
	"github.com/linstor-ha/linstor-ha/csi-sidecar/report/fakereport"
	"github.com/linstor-ha/linstor-ha/pkg/drbd/drbdjson"
	"github.com/linstor-ha/linstor-ha/pkg/drbd/events2"
	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
	"github.com/linstor-ha/linstor-ha/pkg/metadata"
)

// BenchmarkDecisionLatency measures the sidecar's path from an events2 line
// that shows a peer lost (fail-over timeout zero) to its first API call:
// parse, model update, trigger, gathering the input from the caches and the
// API, decision, and the taint request. The API server is a fake clientset,
// so this is the sidecar's own latency.
func BenchmarkDecisionLatency(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	node := func(name string, ready corev1.ConditionStatus) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name},
			Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: ready}}}}
	}
	pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-r0"}, Spec: corev1.PersistentVolumeSpec{
		ClaimRef:               &corev1.ObjectReference{Namespace: "db", Name: "data-pg-0"},
		PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: metadata.DriverName, VolumeHandle: "r0"}},
	}}
	client := fake.NewClientset(node("node-a", corev1.ConditionUnknown), node("node-b", corev1.ConditionTrue), pv)
	acted := make(chan time.Time, 16)
	client.PrependReactor("patch", "nodes", func(clienttesting.Action) (bool, runtime.Object, error) {
		select {
		case acted <- time.Now():
		default:
		}
		// Refuse, so that every iteration finds the node untainted.
		return true, nil, fmt.Errorf("benchmark: no taint")
	})

	reports := fakereport.New()
	store := state.NewStore()
	readOptions := func(context.Context) ([]drbdjson.ShowResource, error) {
		return []drbdjson.ShowResource{{Resource: "r0", Options: drbdjson.ShowOptions{Quorum: "majority"}}}, nil
	}
	var ctrl *failover.Controller
	view, err := clusterview.New(client, "node-b", func() { ctrl.Trigger() })
	if err != nil {
		b.Fatal(err)
	}
	ctrl = failover.NewController(failover.ControllerOptions{
		Node: "node-b", ReadOptions: readOptions, ReportStaleAfter: time.Minute, PeerNode: func(c string) string { return c },
	}, store, view, reports, &failover.Executor{Client: client}, events.NewFakeRecorder(1000), metrics.New())
	view.Start(ctx)
	for !view.Synced() {
		time.Sleep(time.Millisecond)
	}
	go func() { _ = ctrl.Run(ctx) }()

	apply := func(lines ...string) {
		model := state.NewModel()
		var ev events2.Event
		for _, l := range lines {
			if err := events2.Parse(l, &ev); err != nil {
				b.Fatal(err)
			}
			if _, err := model.Apply(&ev); err != nil {
				b.Fatal(err)
			}
		}
		store.Replace(model)
	}
	connected := []string{
		"exists resource name:r0 role:Secondary suspended:no may_promote:no",
		"exists device name:r0 volume:0 disk:UpToDate open:no quorum:yes",
		"exists connection name:r0 peer-node-id:0 conn-name:node-a connection:Connected role:Primary",
		"exists peer-device name:r0 peer-node-id:0 conn-name:node-a volume:0 peer-disk:UpToDate",
	}
	lost := "change connection name:r0 peer-node-id:0 conn-name:node-a connection:Connecting role:Unknown"
	promotable := "change resource name:r0 may_promote:yes"

	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		apply(connected...)
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "db", Name: "pg-0", UID: types.UID(fmt.Sprint("uid-", i)),
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "pg", UID: "sts", Controller: ptr.To(true)}}},
			Spec: corev1.PodSpec{NodeName: "node-a", Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data-pg-0"}}}}}}
		_ = client.Tracker().Delete(corev1.SchemeGroupVersion.WithResource("pods"), "db", "pg-0")
		if err := client.Tracker().Add(pod); err != nil {
			b.Fatal(err)
		}
		va := &storagev1.VolumeAttachment{ObjectMeta: metav1.ObjectMeta{Name: "csi-r0"}, Spec: storagev1.VolumeAttachmentSpec{
			Attacher: metadata.DriverName, NodeName: "node-a", Source: storagev1.VolumeAttachmentSource{PersistentVolumeName: ptr.To("pv-r0")}}}
		_ = client.Tracker().Delete(storagev1.SchemeGroupVersion.WithResource("volumeattachments"), "", "csi-r0")
		_ = client.Tracker().Add(va)
		time.Sleep(20 * time.Millisecond) // let the caches and the controller settle
		for len(acted) > 0 {
			<-acted
		}
		b.StartTimer()

		began := time.Now()
		store.Update(func(m *state.Model) {
			var ev events2.Event
			for _, l := range []string{lost, promotable} {
				_ = events2.Parse(l, &ev)
				_, _ = m.Apply(&ev)
			}
		})
		ctrl.Trigger()
		select {
		case at := <-acted:
			b.ReportMetric(float64(at.Sub(began).Microseconds())/1000, "ms-to-first-call")
		case <-time.After(5 * time.Second):
			b.Fatal("no API call within 5 s")
		}
	}
}
