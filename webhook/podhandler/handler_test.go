package podhandler

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/linstor-ha/linstor-ha/pkg/apis/linstorha/v1alpha1"
	"github.com/linstor-ha/linstor-ha/pkg/metadata"
	"github.com/linstor-ha/linstor-ha/pkg/replicas"
	"github.com/linstor-ha/linstor-ha/webhook/mutation"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func clusterObjects() []client.Object {
	drbd := "drbd"
	return []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "app"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "quiet", Labels: map[string]string{metadata.LabelNamespaceMutation: metadata.LabelValueDisabled}}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "linstor-ha-system"}},
		&storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "drbd", Annotations: map[string]string{annDefaultClass: "true"}}, Provisioner: metadata.DriverName},
		&storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "local"}, Provisioner: "rancher.io/local-path"},
		&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "bound"}, Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "pv-r1", StorageClassName: &drbd}},
		&corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-r1"}, Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: corev1.PersistentVolumeSource{
			CSI: &corev1.CSIPersistentVolumeSource{Driver: metadata.DriverName, VolumeHandle: "r1"}}}},
		&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "unbound"}, Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: &drbd}},
		&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "default-class"}},
		&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "local"}, Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: ptr.To("local")}},
	}
}

func testIndex() *replicas.Index {
	ix := replicas.NewIndex()
	for node, zone := range map[string]string{"a1": "room-a", "b1": "room-b", "c1": "room-c"} {
		disk := "UpToDate"
		hb := now.Add(-time.Second)
		if node == "c1" {
			hb = now.Add(-time.Hour) // stale: room-c does not count
		}
		ix.Set(&v1alpha1.ReplicaReport{ObjectMeta: metav1.ObjectMeta{Name: node}, Status: v1alpha1.ReplicaReportStatus{
			NodeName: node, Zone: zone, Synced: true, HeartbeatTime: metav1.NewMicroTime(hb),
			Resources: []v1alpha1.ResourceReport{{Name: "r1", Disk: disk, Quorum: true}},
		}})
	}
	return ix
}

func newHandler(reader client.Reader) *Handler {
	cfg := mutation.Config{SetScheduler: true, SchedulerName: metadata.SchedulerName, SetTolerations: true, TolerationSeconds: 30, SpreadZones: true, PreferDataZones: true}
	return &Handler{
		Reader: reader, Replicas: testIndex(), StaleAfter: 20 * time.Second, OwnNamespace: "linstor-ha-system",
		Config: &cfg, Metrics: NewMetrics(prometheus.NewRegistry()), Now: func() time.Time { return now },
	}
}

func podWith(ns string, vols ...corev1.Volume) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db-0", Labels: map[string]string{"app": "db", "controller-revision-hash": "db-1"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "db", UID: "u", Controller: ptr.To(true)}}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "postgres"}}, Volumes: vols},
	}
}

func claim(name string) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: name}}}
}

func ephemeral(class string) corev1.Volume {
	return corev1.Volume{Name: "scratch", VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{
		VolumeClaimTemplate: &corev1.PersistentVolumeClaimTemplate{Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: ptr.To(class)}}}}}
}

func request(t testing.TB, pod *corev1.Pod, op admissionv1.Operation) admission.Request {
	t.Helper()
	raw, err := json.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	return admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID: "req-1", Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}, Namespace: pod.Namespace,
		Operation: op, Object: runtime.RawExtension{Raw: raw},
	}}
}

// patchPaths returns the JSON patch's paths.
func patchPaths(resp admission.Response) string {
	var paths []string
	for _, p := range resp.Patches {
		paths = append(paths, p.Operation+" "+p.Path)
	}
	return strings.Join(paths, ",")
}

func TestHandle(t *testing.T) {
	failing := interceptor.Funcs{Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
		if _, ok := obj.(*corev1.PersistentVolumeClaim); ok {
			return errors.New("connection refused")
		}
		return c.Get(ctx, key, obj, opts...)
	}}
	for _, tc := range []struct {
		name       string
		pod        *corev1.Pod
		op         admissionv1.Operation
		raw        []byte
		intercept  *interceptor.Funcs
		wantResult string
		wantPatch  []string // paths that must be patched
		wantNone   bool     // no patch at all
		wantWarn   string
		wantCode   int32
		noKind     bool
		apiOnly    []client.Object // objects only the API server has, not the cache
	}{
		{name: "claim not in the cache yet but in the API server", pod: podWith("app", claim("fresh")), wantResult: resultMutated, wantPatch: []string{"/spec/schedulerName"},
			apiOnly: []client.Object{&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "fresh"}, Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: ptr.To("drbd")}}}},
		{name: "namespace lookup fails: admitted unchanged with a warning", pod: podWith("ghost", claim("bound")), wantResult: resultLookupFailed, wantNone: true, wantWarn: "ghost"},
		{name: "pod opted out by label", pod: func() *corev1.Pod {
			p := podWith("app", claim("bound"))
			p.Labels[metadata.AnnotationSkipMutation] = "true"
			return p
		}(), wantResult: resultExcluded, wantNone: true},
		{name: "bound DRBD claim: all four mutations", pod: podWith("app", claim("bound")), wantResult: resultMutated,
			wantPatch: []string{"/spec/schedulerName", "/spec/tolerations", "/spec/topologySpreadConstraints", "/spec/affinity", "/metadata/annotations"}},
		{name: "unbound claim of our class", pod: podWith("app", claim("unbound")), wantResult: resultMutated, wantPatch: []string{"/spec/schedulerName"}},
		{name: "claim without class, our class is the default", pod: podWith("app", claim("default-class")), wantResult: resultMutated, wantPatch: []string{"/spec/schedulerName"}},
		{name: "generic ephemeral volume of our class", pod: podWith("app", ephemeral("drbd")), wantResult: resultMutated, wantPatch: []string{"/spec/schedulerName"}},
		{name: "another driver's claim", pod: podWith("app", claim("local")), wantResult: resultNotDRBD, wantNone: true},
		{name: "another driver's ephemeral volume", pod: podWith("app", ephemeral("local")), wantResult: resultNotDRBD, wantNone: true},
		{name: "no volumes", pod: podWith("app"), wantResult: resultNotDRBD, wantNone: true},
		{name: "kube-system", pod: podWith("kube-system", claim("bound")), wantResult: resultExcluded, wantNone: true},
		{name: "own namespace", pod: podWith("linstor-ha-system", claim("bound")), wantResult: resultExcluded, wantNone: true},
		{name: "namespace opted out", pod: podWith("quiet", claim("bound")), wantResult: resultExcluded, wantNone: true},
		{name: "pod opted out", pod: func() *corev1.Pod {
			p := podWith("app", claim("bound"))
			p.Annotations = map[string]string{metadata.AnnotationSkipMutation: ""}
			return p
		}(), wantResult: resultExcluded, wantNone: true},
		{name: "update is not mutated", pod: podWith("app", claim("bound")), op: admissionv1.Update, wantResult: resultExcluded, wantNone: true},
		{name: "claim not found yet: admitted unchanged with a warning", pod: podWith("app", claim("missing")), wantResult: resultLookupFailed, wantNone: true, wantWarn: "missing"},
		{name: "API error: admitted unchanged with a warning", pod: podWith("app", claim("bound")), intercept: &failing, wantResult: resultLookupFailed, wantNone: true, wantWarn: "connection refused"},
		{name: "object that does not decode", pod: podWith("app"), raw: []byte(`{"spec":{"volumes":"not a list"}}`), wantResult: resultBadRequest, wantCode: http.StatusBadRequest},
		{name: "request without kind", pod: podWith("app"), raw: []byte("{}"), wantResult: resultBadRequest, wantCode: http.StatusBadRequest, noKind: true},
		{name: "empty object", pod: podWith("app"), raw: []byte{}, wantResult: resultBadRequest, wantCode: http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := fake.NewClientBuilder().WithObjects(clusterObjects()...)
			if tc.intercept != nil {
				b = b.WithInterceptorFuncs(*tc.intercept)
			}
			h := newHandler(b.Build())
			h.APIReader = fake.NewClientBuilder().WithObjects(append(clusterObjects(), tc.apiOnly...)...).Build()
			op := tc.op
			if op == "" {
				op = admissionv1.Create
			}
			req := request(t, tc.pod, op)
			if tc.raw != nil {
				req.Object.Raw = tc.raw
			}
			if tc.noKind {
				req.Kind = metav1.GroupVersionKind{}
			}
			resp := h.Handle(context.Background(), req)
			if got := testutil.ToFloat64(h.Metrics.Admissions.WithLabelValues(tc.wantResult)); got != 1 {
				t.Errorf("metric for result %s = %v, want 1", tc.wantResult, got)
			}
			if tc.wantCode != 0 {
				if resp.Allowed || resp.Result == nil || resp.Result.Code != tc.wantCode {
					t.Fatalf("got %+v, want code %d", resp.AdmissionResponse, tc.wantCode)
				}
				if !strings.Contains(resp.Result.Message, "failed to decode the pod") && !strings.Contains(resp.Result.Message, "names no kind") {
					t.Errorf("message %q does not say what failed", resp.Result.Message)
				}
				return
			}
			if !resp.Allowed {
				t.Fatalf("pod refused: %+v", resp.Result)
			}
			paths := patchPaths(resp)
			if tc.wantNone && paths != "" {
				t.Fatalf("unexpected patch %s", paths)
			}
			for _, p := range tc.wantPatch {
				if !strings.Contains(paths, p) {
					t.Errorf("patch %s lacks %s", paths, p)
				}
			}
			if tc.wantWarn != "" && (len(resp.Warnings) != 1 || !strings.Contains(resp.Warnings[0], tc.wantWarn)) {
				t.Errorf("warnings %v, want one mentioning %q", resp.Warnings, tc.wantWarn)
			}
		})
	}
}

// TestDataZones: the preferred zones are those with fresh UpToDate data.
func TestDataZones(t *testing.T) {
	h := newHandler(fake.NewClientBuilder().WithObjects(clusterObjects()...).Build())
	resp := h.Handle(context.Background(), request(t, podWith("app", claim("bound")), admissionv1.Create))
	for _, p := range resp.Patches {
		if p.Path != "/spec/affinity" {
			continue
		}
		raw, _ := json.Marshal(p.Value)
		var aff corev1.Affinity
		if err := json.Unmarshal(raw, &aff); err != nil {
			t.Fatal(err)
		}
		values := aff.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].Preference.MatchExpressions[0].Values
		if strings.Join(values, ",") != "room-a,room-b" {
			t.Fatalf("zones %v, want room-a,room-b (room-c's report is stale)", values)
		}
		return
	}
	t.Fatalf("no affinity in patch %s", patchPaths(resp))
}

// TestNewestDefaultClass: with two default classes, claims without a class
// get the newest, as in Kubernetes.
func TestNewestDefaultClass(t *testing.T) {
	old := metav1.NewTime(now.Add(-time.Hour))
	for _, tc := range []struct {
		name        string
		newestIsOur bool
	}{{"ours is newest", true}, {"ours is older", false}} {
		ours := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "ours", Annotations: map[string]string{annDefaultClass: "true"}}, Provisioner: metadata.DriverName}
		other := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "other", Annotations: map[string]string{annDefaultClass: "true"}}, Provisioner: "other.example.com"}
		if tc.newestIsOur {
			ours.CreationTimestamp, other.CreationTimestamp = metav1.NewTime(now), old
		} else {
			ours.CreationTimestamp, other.CreationTimestamp = old, metav1.NewTime(now)
		}
		c := fake.NewClientBuilder().WithObjects(ours, other).Build()
		got, err := ourClass(context.Background(), c, nil)
		if err != nil || got != tc.newestIsOur {
			t.Errorf("%s: got %v, %v", tc.name, got, err)
		}
	}
}

// A lookup from the API server that hangs (a connection a partition left
// open) must give up on its own deadline, so that the pod is admitted
// unchanged before the API server's admission timeout.
func TestHandleHungAPILookupFailsOpen(t *testing.T) {
	h := newHandler(fake.NewClientBuilder().WithObjects(clusterObjects()...).Build())
	h.APIReader = fake.NewClientBuilder().WithInterceptorFuncs(interceptor.Funcs{
		Get: func(ctx context.Context, _ client.WithWatch, _ client.ObjectKey, _ client.Object, _ ...client.GetOption) error {
			<-ctx.Done()
			return ctx.Err()
		},
	}).Build()
	done := make(chan admission.Response, 1)
	go func() {
		done <- h.Handle(context.Background(), request(t, podWith("app", claim("missing")), admissionv1.Create))
	}()
	select {
	case resp := <-done:
		if !resp.Allowed || patchPaths(resp) != "" || len(resp.Warnings) != 1 {
			t.Errorf("response %+v (warnings %v), want the pod admitted unchanged with one warning", resp.AdmissionResponse, resp.Warnings)
		}
		if got := testutil.ToFloat64(h.Metrics.Admissions.WithLabelValues(resultLookupFailed)); got != 1 {
			t.Errorf("metric for result %s = %v, want 1", resultLookupFailed, got)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the admission still waits for a hung lookup after 30 s")
	}
}
