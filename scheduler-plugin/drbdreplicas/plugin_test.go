package drbdreplicas

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/backend/cache"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/defaultbinder"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/queuesort"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"
	tf "k8s.io/kubernetes/pkg/scheduler/testing/framework"
	"k8s.io/utils/ptr"

	"github.com/linstor-ha/linstor-ha/pkg/apis/linstorha/v1alpha1"
	"github.com/linstor-ha/linstor-ha/pkg/metadata"
	"github.com/linstor-ha/linstor-ha/pkg/replicas"
)

var testNow = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// The layout every case starts from: two rooms of three nodes; each
// resource has UpToDate replicas on a1 and b1 and a tiebreaker on a3.
var testNodes = []struct{ name, zone string }{
	{"a1", "room-a"}, {"a2", "room-a"}, {"a3", "room-a"},
	{"b1", "room-b"}, {"b2", "room-b"}, {"b3", "room-b"},
}

type replicaSpec struct {
	node  string
	state string // UpToDate, Outdated, Tiebreaker, NoQuorum, Suspended, Inconsistent
}

func defaultLayout(res string) []replicaSpec {
	return []replicaSpec{{"a1", "UpToDate"}, {"b1", "UpToDate"}, {"a3", "Tiebreaker"}}
}

func resourceReport(res string, state string) v1alpha1.ResourceReport {
	rr := v1alpha1.ResourceReport{Name: res, Disk: "UpToDate", Quorum: true}
	switch state {
	case "Outdated", "Inconsistent":
		rr.Disk = state
	case "Tiebreaker":
		rr.Disk, rr.Diskless, rr.Client = "Diskless", true, true
	case "NoQuorum":
		rr.Quorum = false
	case "Suspended":
		rr.Suspended = []string{"quorum"}
	}
	return rr
}

// buildIndex writes one report per node (every node has one, possibly
// empty) with the given replicas; nodes in stale get an old heartbeat,
// nodes in missing get no report at all.
func buildIndex(layout map[string][]replicaSpec, stale, missing map[string]bool) *replicas.Index {
	ix := replicas.NewIndex()
	for _, n := range testNodes {
		if missing[n.name] {
			continue
		}
		hb := testNow.Add(-time.Second)
		if stale[n.name] {
			hb = testNow.Add(-time.Hour)
		}
		rep := &v1alpha1.ReplicaReport{
			ObjectMeta: metav1.ObjectMeta{Name: n.name},
			Status:     v1alpha1.ReplicaReportStatus{NodeName: n.name, Zone: n.zone, Synced: true, HeartbeatTime: metav1.NewMicroTime(hb)},
		}
		for res, specs := range layout {
			for _, s := range specs {
				if s.node == n.name {
					rep.Status.Resources = append(rep.Status.Resources, resourceReport(res, s.state))
				}
			}
		}
		ix.Set(rep)
	}
	return ix
}

// storageObjects returns a bound claim and PV per resource, plus the
// StorageClass and an unbound claim "pending" of our driver.
func storageObjects(resources ...string) []runtime.Object {
	objs := []runtime.Object{
		&storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "drbd"}, Provisioner: metadata.DriverName},
		&storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "other"}, Provisioner: "other.csi.example.com"},
		&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "pending"}, Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: ptr.To("drbd")}},
		&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "foreign"}, Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "pv-foreign"}},
		&corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-foreign"}, Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: corev1.PersistentVolumeSource{
			CSI: &corev1.CSIPersistentVolumeSource{Driver: "other.csi.example.com", VolumeHandle: "r1"}}}},
	}
	for _, res := range resources {
		objs = append(objs,
			&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "claim-" + res}, Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "pv-" + res}},
			&corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-" + res}, Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: corev1.PersistentVolumeSource{
				CSI: &corev1.CSIPersistentVolumeSource{Driver: metadata.DriverName, VolumeHandle: res}}}})
	}
	return objs
}

func podWithClaims(claims ...string) *corev1.Pod {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", UID: "uid-p"}}
	for _, c := range claims {
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: c, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: c}}})
	}
	return pod
}

// testFramework returns a real framework running only this plugin (plus
// the queue sort and bind plugins every profile needs) over the six nodes.
func testFramework(t testing.TB, ix *replicas.Index, args runtime.Object, objs []runtime.Object) (framework.Framework, []fwk.NodeInfo) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var nodes []*corev1.Node
	for _, n := range testNodes {
		nodes = append(nodes, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.name, Labels: map[string]string{metadata.LabelTopologyZone: n.zone}}})
	}
	client := fake.NewClientset(objs...)
	factory := informers.NewSharedInformerFactory(client, 0)
	snapshot := cache.NewSnapshot(nil, nodes)
	factoryFn := NewWithIndex(ix, func() time.Time { return testNow })
	f, err := tf.NewFramework(ctx, []tf.RegisterPluginFunc{
		tf.RegisterQueueSortPlugin(queuesort.Name, queuesort.New),
		tf.RegisterBindPlugin(defaultbinder.Name, defaultbinder.New),
		tf.RegisterPluginAsExtensions(Name, func(ctx context.Context, _ runtime.Object, h fwk.Handle) (fwk.Plugin, error) {
			return factoryFn(ctx, args, h)
		}, "PreFilter", "Filter", "PreScore", "Score"),
	}, "linstor-ha-scheduler",
		frameworkruntime.WithClientSet(client),
		frameworkruntime.WithInformerFactory(factory),
		frameworkruntime.WithSnapshotSharedLister(snapshot))
	if err != nil {
		cancel()
		t.Fatalf("failed to build the framework: %v", err)
	}
	factory.Start(ctx.Done())
	t.Cleanup(func() {
		cancel()
		factory.Shutdown()
	})
	factory.WaitForCacheSync(ctx.Done())
	infos, err := snapshot.NodeInfos().List()
	if err != nil {
		t.Fatal(err)
	}
	return f, infos
}

type outcome struct {
	preFilterSkip bool
	rejected      []string
	// scores are the plugin's normalized scores per node that passed;
	// nil when PreScore skipped.
	scores map[string]int64
}

func schedule(t testing.TB, f framework.Framework, infos []fwk.NodeInfo, pod *corev1.Pod) outcome {
	t.Helper()
	ctx := context.Background()
	state := framework.NewCycleState()
	var out outcome
	_, st, _ := f.RunPreFilterPlugins(ctx, state, pod)
	if !st.IsSuccess() {
		t.Fatalf("PreFilter: %v", st)
	}
	out.preFilterSkip = state.GetSkipFilterPlugins().Has(Name)
	var feasible []fwk.NodeInfo
	for _, ni := range infos {
		if st := f.RunFilterPlugins(ctx, state, pod, ni); !st.IsSuccess() {
			if st.Code() != fwk.UnschedulableAndUnresolvable {
				t.Fatalf("Filter on %s: unexpected status %v", ni.Node().Name, st)
			}
			out.rejected = append(out.rejected, ni.Node().Name)
			continue
		}
		feasible = append(feasible, ni)
	}
	if st := f.RunPreScorePlugins(ctx, state, pod, feasible); !st.IsSuccess() {
		t.Fatalf("PreScore: %v", st)
	}
	if state.GetSkipScorePlugins().Has(Name) {
		return out
	}
	scores, st := f.RunScorePlugins(ctx, state, pod, feasible)
	if !st.IsSuccess() {
		t.Fatalf("Score: %v", st)
	}
	out.scores = map[string]int64{}
	for _, ns := range scores {
		for _, ps := range ns.Scores {
			if ps.Name == Name {
				out.scores[ns.Name] = ps.Score
			}
		}
	}
	return out
}
