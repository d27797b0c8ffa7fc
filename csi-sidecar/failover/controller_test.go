package failover

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/ptr"

	"github.com/linstor-ha/linstor-ha/csi-sidecar/clusterview"
	"github.com/linstor-ha/linstor-ha/csi-sidecar/metrics"
	"github.com/linstor-ha/linstor-ha/csi-sidecar/report/fakereport"
	"github.com/linstor-ha/linstor-ha/pkg/drbd/drbdjson"
	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
	"github.com/linstor-ha/linstor-ha/pkg/metadata"
)

// fixedResources is a DRBD state that stays as the test sets it.
type fixedResources []*state.Resource

func (f *fixedResources) Synced() bool { return true }
func (f *fixedResources) List() []*state.Resource {
	out := make([]*state.Resource, len(*f))
	for i, r := range *f {
		out[i] = r.Clone()
	}
	return out
}

const (
	here = "node-b"
	lost = "node-a"
)

// survivorOf is this node's view of resource name after it lost node-a:
// UpToDate, quorum through the diskless tiebreaker, may promote.
func survivorOf(name string) *state.Resource {
	return &state.Resource{
		Name: name, Role: state.RoleSecondary, MayPromote: state.FlagYes, Suspended: state.SuspendedNo,
		Devices: []state.Device{{Disk: state.DiskUpToDate, Quorum: true}},
		Connections: []state.Connection{
			{PeerNodeID: 0, Name: lost, State: state.ConnConnecting, PeerRole: state.RoleUnknown,
				PeerDevices: []state.PeerDevice{{PeerDisk: state.DiskUnknown}}},
			{PeerNodeID: 2, Name: "node-t", State: state.ConnConnected, PeerRole: state.RoleSecondary,
				PeerDevices: []state.PeerDevice{{PeerDisk: state.DiskDiskless, PeerClient: true}}},
		},
	}
}

// quorumLostHere is this node's view of a resource it is Primary of and
// lost quorum for: I/O suspended, every peer gone.
func quorumLostHere(name string) *state.Resource {
	return &state.Resource{
		Name: name, Role: state.RolePrimary, MayPromote: state.FlagNo, Suspended: "quorum",
		Devices: []state.Device{{Disk: state.DiskUpToDate, Quorum: false, Open: true}},
		Connections: []state.Connection{
			{PeerNodeID: 0, Name: lost, State: state.ConnConnecting, PeerRole: state.RoleUnknown,
				PeerDevices: []state.PeerDevice{{PeerDisk: state.DiskUnknown}}},
			{PeerNodeID: 2, Name: "node-t", State: state.ConnConnecting, PeerRole: state.RoleUnknown,
				PeerDevices: []state.PeerDevice{{PeerDisk: state.DiskUnknown}}},
		},
	}
}

func testNode(name string, ready bool, volumesInUse ...string) *corev1.Node {
	status := corev1.ConditionTrue
	if !ready {
		status = corev1.ConditionUnknown
	}
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: status}}}}
	for _, h := range volumesInUse {
		n.Status.VolumesInUse = append(n.Status.VolumesInUse, corev1.UniqueVolumeName(UniqueVolumeName(h)))
	}
	return n
}

// volumeObjects are the PV of resource name, its claim's pod on node and the
// pod's VolumeAttachment there.
func volumeObjects(name, node string, podMeta func(*metav1.ObjectMeta)) []runtime.Object {
	pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-" + name}, Spec: corev1.PersistentVolumeSpec{
		PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: metadata.DriverName, VolumeHandle: name}},
		ClaimRef:               &corev1.ObjectReference{Namespace: "db", Name: "data-" + name}}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "db", Name: "pod-" + name, UID: types.UID("uid-" + name),
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "db", UID: "sts", Controller: ptr.To(true)}}},
		Spec: corev1.PodSpec{NodeName: node, Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data-" + name}}}}}}
	if podMeta != nil {
		podMeta(&pod.ObjectMeta)
	}
	va := &storagev1.VolumeAttachment{ObjectMeta: metav1.ObjectMeta{Name: "csi-" + name, Finalizers: []string{AttacherFinalizer}},
		Spec: storagev1.VolumeAttachmentSpec{Attacher: metadata.DriverName, NodeName: node,
			Source: storagev1.VolumeAttachmentSource{PersistentVolumeName: ptr.To(pv.Name)}},
		Status: storagev1.VolumeAttachmentStatus{Attached: true}}
	return []runtime.Object{pv, pod, va}
}

// newFakeClient returns a clientset holding objects that honours the
// spec.nodeName field selector on pods, as the API server does, and
// evicts a pod by deleting it.
func newFakeClient(objects []runtime.Object) *fake.Clientset {
	client := fake.NewClientset(objects...)
	pods := corev1.SchemeGroupVersion.WithResource("pods")
	onNode := func(sel fields.Selector, obj runtime.Object) bool {
		p, ok := obj.(*corev1.Pod)
		return !ok || sel == nil || sel.Matches(fields.Set{"spec.nodeName": p.Spec.NodeName})
	}
	client.PrependReactor("list", "pods", func(a clienttesting.Action) (bool, runtime.Object, error) {
		obj, err := client.Tracker().List(pods, corev1.SchemeGroupVersion.WithKind("Pod"), a.GetNamespace())
		if err != nil {
			return true, nil, err
		}
		list := obj.(*corev1.PodList)
		sel := a.(clienttesting.ListAction).GetListRestrictions().Fields
		list.Items = slices.DeleteFunc(list.Items, func(p corev1.Pod) bool { return !onNode(sel, &p) })
		return true, list, nil
	})
	client.PrependWatchReactor("pods", func(a clienttesting.Action) (bool, watch.Interface, error) {
		w, err := client.Tracker().Watch(pods, a.GetNamespace())
		if err != nil {
			return true, nil, err
		}
		sel := a.(clienttesting.WatchAction).GetWatchRestrictions().Fields
		return true, watch.Filter(w, func(e watch.Event) (watch.Event, bool) { return e, onNode(sel, e.Object) }), nil
	})
	client.PrependReactor("create", "pods", func(a clienttesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "eviction" {
			return false, nil, nil
		}
		ev := a.(clienttesting.CreateAction).GetObject().(interface{ GetName() string })
		return true, nil, client.Tracker().Delete(pods, a.GetNamespace(), ev.GetName())
	})
	return client
}

// mutations renders the API calls that change something, in order.
func mutations(actions []clienttesting.Action) []string {
	var out []string
	for _, a := range actions {
		verb := a.GetVerb()
		if verb == "get" || verb == "list" || verb == "watch" {
			continue
		}
		res := a.GetResource().Resource
		if sub := a.GetSubresource(); sub != "" {
			res += "/" + sub
		}
		var name string
		switch verb {
		case "delete":
			name = a.(clienttesting.DeleteAction).GetName()
		case "patch":
			name = a.(clienttesting.PatchAction).GetName()
		case "create", "update":
			// Create and update actions carry the object.
			name = a.(clienttesting.CreateAction).GetObject().(metav1.Object).GetName()
		}
		if ns := a.GetNamespace(); ns != "" {
			name = ns + "/" + name
		}
		out = append(out, verb+" "+res+" "+name)
	}
	return out
}

// inPhaseOrder sorts each run of calls of the same verb and resource: the
// calls of one phase run in parallel, in no set order.
func inPhaseOrder(calls []string) []string {
	out := slices.Clone(calls)
	kind := func(c string) string { f := strings.Fields(c); return f[0] + " " + f[1] }
	for i := 0; i < len(out); {
		j := i + 1
		for j < len(out) && kind(out[j]) == kind(out[i]) {
			j++
		}
		slices.Sort(out[i:j])
		i = j
	}
	return out
}

// evaluation is one run of the controller, after the previous one.
type evaluation struct {
	// after is how long after the start this evaluation runs.
	after time.Duration
	// want are the API calls that change something, in order.
	want []string
	// before changes the cluster first, and waits until the view shows it.
	before func(t *testing.T, client *fake.Clientset, view *clusterview.View)
}

func TestControllerActs(t *testing.T) {
	showQuorum := func(names ...string) OptionsReader {
		return func(context.Context) ([]drbdjson.ShowResource, error) {
			var out []drbdjson.ShowResource
			for _, n := range names {
				out = append(out, drbdjson.ShowResource{Resource: n, Options: drbdjson.ShowOptions{Quorum: "majority"}})
			}
			return out, nil
		}
	}
	failOnce := func(verb, resource string) func(*fake.Clientset) {
		return func(client *fake.Clientset) {
			failed := false
			client.PrependReactor(verb, resource, func(clienttesting.Action) (bool, runtime.Object, error) {
				if failed {
					return false, nil, nil
				}
				failed = true
				return true, nil, errors.New("the API server is overloaded")
			})
		}
	}
	lostForLong := map[Key]time.Time{{Resource: "r0", Node: lost}: {}, {Resource: "r1", Node: lost}: {}}
	for _, tc := range []struct {
		name      string
		objects   []runtime.Object
		resources fixedResources
		// lostFor are the lost peers that were already lost for
		// longer than the timeout when the test starts.
		lostFor  map[Key]time.Time
		reactors func(*fake.Clientset)
		dryRun   bool
		runs     []evaluation
		check    func(t *testing.T, actions []clienttesting.Action, events []string)
	}{{
		name:      "a crashed node: taint, then pods, then its volumes, then the attachment",
		objects:   append([]runtime.Object{testNode(here, true), testNode(lost, false, "r0")}, volumeObjects("r0", lost, nil)...),
		resources: fixedResources{survivorOf("r0")},
		lostFor:   lostForLong,
		runs: []evaluation{{want: []string{
			"patch nodes node-a", "delete pods db/pod-r0", "patch nodes/status node-a", "delete volumeattachments csi-r0",
		}}, {
			// Done actions are not repeated while the caches catch up.
			after: time.Second, want: nil,
		}},
		check: func(t *testing.T, actions []clienttesting.Action, events []string) {
			for _, a := range actions {
				if d, ok := a.(clienttesting.DeleteAction); ok && a.GetResource().Resource == "pods" {
					opts := d.GetDeleteOptions()
					if opts.Preconditions == nil || opts.Preconditions.UID == nil || *opts.Preconditions.UID != "uid-r0" {
						t.Errorf("pod deleted without its UID precondition: %+v", opts.Preconditions)
					}
					if opts.GracePeriodSeconds == nil || *opts.GracePeriodSeconds != 0 {
						t.Errorf("the pod of a node without kubelet was deleted with grace %v, want 0", opts.GracePeriodSeconds)
					}
				}
				if p, ok := a.(clienttesting.PatchAction); ok && a.GetSubresource() == "" && a.GetResource().Resource == "nodes" {
					var ops []struct {
						Op    string
						Value []corev1.Taint
					}
					if err := json.Unmarshal(p.GetPatch(), &ops); err != nil || len(ops) != 2 || ops[0].Op != "test" || ops[1].Op != "add" {
						t.Fatalf("node patch %s: %v", p.GetPatch(), err)
					}
					if !slices.ContainsFunc(ops[1].Value, isNoScheduleTaint(metadata.TaintLostQuorum)) || len(ops[0].Value) != 0 {
						t.Errorf("node patch %s does not add the taint to the taints as read", p.GetPatch())
					}
				}
				if a.GetVerb() == "get" && a.GetResource().Resource == "nodes" {
					t.Errorf("a node read from the API server, not from the cache: %v", a)
				}
			}
			if !slices.ContainsFunc(events, func(e string) bool { return strings.Contains(e, metadata.ReasonPodForceDeleted) }) {
				t.Errorf("no %s Event: %q", metadata.ReasonPodForceDeleted, events)
			}
		},
	}, {
		name: "two volumes of one node are released in one status update",
		objects: append(append([]runtime.Object{testNode(here, true), testNode(lost, false, "r0", "r1")},
			volumeObjects("r0", lost, nil)...), volumeObjects("r1", lost, nil)...),
		resources: fixedResources{survivorOf("r0"), survivorOf("r1")},
		lostFor:   lostForLong,
		runs: []evaluation{{want: []string{
			"patch nodes node-a", "delete pods db/pod-r0", "delete pods db/pod-r1", "patch nodes/status node-a",
			"delete volumeattachments csi-r0", "delete volumeattachments csi-r1",
		}}},
		check: func(t *testing.T, actions []clienttesting.Action, _ []string) {
			for _, a := range actions {
				if u, ok := a.(clienttesting.UpdateAction); ok && a.GetSubresource() == "status" {
					if left := u.GetObject().(*corev1.Node).Status.VolumesInUse; len(left) != 0 {
						t.Errorf("volumes left in use: %v", left)
					}
				}
			}
		},
	}, {
		name: "an attachment being deleted on a gone node loses the attacher's finalizer once the attacher's grace is over, and only it, in one patch",
		objects: func() []runtime.Object {
			objs := volumeObjects("r0", lost, nil)
			objs[2].(*storagev1.VolumeAttachment).DeletionTimestamp = ptr.To(metav1.Now())
			return append([]runtime.Object{testNode(here, true), testNode(lost, false)}, objs...)
		}(),
		resources: fixedResources{survivorOf("r0")},
		lostFor:   lostForLong,
		runs: []evaluation{
			{want: []string{"patch nodes node-a", "delete pods db/pod-r0"}},
			{after: DefaultAttacherGrace / 2, want: nil},
			{after: DefaultAttacherGrace, want: []string{"patch volumeattachments csi-r0"}},
		},
		check: func(t *testing.T, actions []clienttesting.Action, _ []string) {
			for _, a := range actions {
				if p, ok := a.(clienttesting.PatchAction); ok && a.GetResource().Resource == "volumeattachments" {
					if p.GetPatchType() != types.StrategicMergePatchType {
						t.Errorf("patch type %s, want a strategic-merge patch", p.GetPatchType())
					}
					want := fmt.Sprintf(`{"metadata":{"$deleteFromPrimitiveList/finalizers":[%q]}}`, AttacherFinalizer)
					if string(p.GetPatch()) != want {
						t.Errorf("patch %s, want %s: only the attacher's finalizer goes", p.GetPatch(), want)
					}
				}
			}
		},
	}, {
		name:      "a failed pod deletion holds back the detach, and is retried after its backoff",
		objects:   append([]runtime.Object{testNode(here, true), testNode(lost, false, "r0")}, volumeObjects("r0", lost, nil)...),
		resources: fixedResources{survivorOf("r0")},
		lostFor:   lostForLong,
		reactors:  failOnce("delete", "pods"),
		runs: []evaluation{
			{want: []string{"patch nodes node-a", "delete pods db/pod-r0"}},
			{after: retryInitial / 4, want: nil},
			{after: 2 * retryMax, want: []string{"delete pods db/pod-r0", "patch nodes/status node-a", "delete volumeattachments csi-r0"}},
		},
	}, {
		name: "an attachment that appears while the pod's deletion waits for its retry waits too",
		objects: func() []runtime.Object {
			objs := volumeObjects("r0", lost, nil)
			return append([]runtime.Object{testNode(here, true), testNode(lost, false)}, objs[:2]...)
		}(),
		resources: fixedResources{survivorOf("r0")},
		lostFor:   lostForLong,
		reactors:  failOnce("delete", "pods"),
		runs: []evaluation{
			{want: []string{"patch nodes node-a", "delete pods db/pod-r0"}},
			{after: retryInitial / 4, want: nil, before: func(t *testing.T, client *fake.Clientset, view *clusterview.View) {
				if err := client.Tracker().Add(volumeObjects("r0", lost, nil)[2]); err != nil {
					t.Fatal(err)
				}
				for len(view.Attachments("pv-r0")) == 0 {
					time.Sleep(time.Millisecond)
				}
			}},
			{after: 2 * retryMax, want: []string{"delete pods db/pod-r0", "delete volumeattachments csi-r0"}},
		},
	}, {
		name:      "a failed taint does not stop the pods",
		objects:   append([]runtime.Object{testNode(here, true), testNode(lost, false)}, volumeObjects("r0", lost, nil)...),
		resources: fixedResources{survivorOf("r0")},
		lostFor:   lostForLong,
		reactors:  failOnce("patch", "nodes"),
		runs: []evaluation{
			// The pod's deletion proves nothing less without the
			// taint; the attachment waits for the taint's retry.
			{want: []string{"patch nodes node-a", "delete pods db/pod-r0"}},
			{after: 2 * retryMax, want: []string{"patch nodes node-a", "delete volumeattachments csi-r0"}},
		},
	}, {
		name:      "dry run changes nothing and says what it would do",
		objects:   append([]runtime.Object{testNode(here, true), testNode(lost, false, "r0")}, volumeObjects("r0", lost, nil)...),
		resources: fixedResources{survivorOf("r0")},
		lostFor:   lostForLong,
		dryRun:    true,
		runs:      []evaluation{{want: nil}, {after: time.Second, want: nil}},
		check: func(t *testing.T, _ []clienttesting.Action, events []string) {
			var dry int
			for _, e := range events {
				if strings.Contains(e, metadata.ReasonFailOverDryRun) {
					dry++
				}
			}
			if dry != 4 {
				t.Errorf("%d dry-run Events, want one per action (4): %q", dry, events)
			}
		},
	}, {
		name:      "a peer lost for less than the timeout is left alone",
		objects:   append([]runtime.Object{testNode(here, true), testNode(lost, false, "r0")}, volumeObjects("r0", lost, nil)...),
		resources: fixedResources{survivorOf("r0")},
		runs:      []evaluation{{want: nil}, {after: 5*time.Second + time.Millisecond, want: []string{"patch nodes node-a", "delete pods db/pod-r0", "patch nodes/status node-a", "delete volumeattachments csi-r0"}}},
	}, {
		name: "this node lost quorum: taint itself, then evict its pod",
		objects: append([]runtime.Object{testNode(here, true), testNode(lost, true)},
			volumeObjects("r0", here, nil)...),
		resources: fixedResources{quorumLostHere("r0")},
		lostFor:   map[Key]time.Time{{Resource: "r0", Node: here}: {}},
		runs:      []evaluation{{want: []string{"patch nodes node-b", "create pods/eviction db/pod-r0"}}},
	}, {
		name: "a pod that opted out is refused once, with an Event",
		objects: append([]runtime.Object{testNode(here, true), testNode(lost, false)}, volumeObjects("r0", lost, func(m *metav1.ObjectMeta) {
			m.Annotations = map[string]string{metadata.AnnotationIgnoreFailOverCompat: ""}
		})...),
		resources: fixedResources{survivorOf("r0")},
		lostFor:   lostForLong,
		runs:      []evaluation{{want: []string{"patch nodes node-a"}}, {after: time.Second, want: nil}},
		check: func(t *testing.T, _ []clienttesting.Action, events []string) {
			var refused int
			for _, e := range events {
				if strings.Contains(e, metadata.ReasonFailOverRefused) && strings.Contains(e, RefusedOptOut) {
					refused++
				}
			}
			if refused != 1 {
				t.Errorf("%d refusal Events over two evaluations, want 1: %q", refused, events)
			}
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			client := newFakeClient(tc.objects)
			view, err := clusterview.New(client, here, func() {})
			if err != nil {
				t.Fatal(err)
			}
			view.Start(ctx)
			for !view.Synced() {
				time.Sleep(time.Millisecond)
			}
			events := events.NewFakeRecorder(100)
			c := NewController(ControllerOptions{
				Node: here, ReadOptions: showQuorum("r0", "r1"), Timeout: 5 * time.Second, Hysteresis: 2 * time.Second,
				ReportStaleAfter: time.Minute, DryRun: tc.dryRun, PeerNode: func(c string) string { return c },
			}, &tc.resources, view, fakereport.New(), &Executor{Client: client, Nodes: view.Node}, events, metrics.New())
			start := time.Now()
			for key := range tc.lostFor {
				c.memory.lostSince[key] = start.Add(-time.Minute)
			}
			if tc.reactors != nil {
				tc.reactors(client)
			}
			client.ClearActions()
			var all []clienttesting.Action
			for i, run := range tc.runs {
				if run.before != nil {
					run.before(t, client, view)
					client.ClearActions()
				}
				c.evaluate(ctx, start.Add(run.after))
				actions := client.Actions()
				client.ClearActions()
				all = append(all, actions...)
				if got := mutations(actions); !slices.Equal(inPhaseOrder(got), inPhaseOrder(run.want)) {
					t.Errorf("evaluation %d made\n  %q\nwant\n  %q", i, got, run.want)
				}
			}
			if tc.check != nil {
				var recorded []string
				for len(events.Events) > 0 {
					recorded = append(recorded, <-events.Events)
				}
				tc.check(t, all, recorded)
			}
		})
	}
}
