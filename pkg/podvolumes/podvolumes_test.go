package podvolumes

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/linstor-ha/linstor-ha/pkg/metadata"
)

const foreignDriver = "other.csi.example.com"

// cluster is a fake of all three lookups, over maps. A missing object is
// NotFound, as from a lister or the API server.
type cluster struct {
	claims  map[string]*corev1.PersistentVolumeClaim // by namespace/name
	volumes map[string]*corev1.PersistentVolume
	classes []*storagev1.StorageClass
	listErr error
}

func (c *cluster) GetClaim(_ context.Context, namespace, name string) (*corev1.PersistentVolumeClaim, error) {
	if pvc, ok := c.claims[namespace+"/"+name]; ok {
		return pvc, nil
	}
	return nil, apierrors.NewNotFound(corev1.Resource("persistentvolumeclaims"), name)
}

func (c *cluster) GetVolume(_ context.Context, name string) (*corev1.PersistentVolume, error) {
	if pv, ok := c.volumes[name]; ok {
		return pv, nil
	}
	return nil, apierrors.NewNotFound(corev1.Resource("persistentvolumes"), name)
}

func (c *cluster) GetClass(_ context.Context, name string) (*storagev1.StorageClass, error) {
	for _, sc := range c.classes {
		if sc.Name == name {
			return sc, nil
		}
	}
	return nil, apierrors.NewNotFound(storagev1.Resource("storageclasses"), name)
}

func (c *cluster) ListClasses(context.Context) ([]*storagev1.StorageClass, error) {
	return c.classes, c.listErr
}

var created = metav1.NewTime(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))

func class(name, provisioner string, isDefault bool, age time.Duration) *storagev1.StorageClass {
	sc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(created.Add(-age))}, Provisioner: provisioner}
	if isDefault {
		sc.Annotations = map[string]string{AnnotationDefaultClass: "true"}
	}
	return sc
}

func pvc(name string, className *string, volume string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: className, VolumeName: volume}}
}

func csiPV(name, driver, handle string) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PersistentVolumeSpec{
		PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: driver, VolumeHandle: handle}}}}
}

func newCluster(classes []*storagev1.StorageClass, objs ...any) *cluster {
	c := &cluster{claims: map[string]*corev1.PersistentVolumeClaim{}, volumes: map[string]*corev1.PersistentVolume{}, classes: classes}
	for _, o := range objs {
		switch o := o.(type) {
		case *corev1.PersistentVolumeClaim:
			c.claims[o.Namespace+"/"+o.Name] = o
		case *corev1.PersistentVolume:
			c.volumes[o.Name] = o
		}
	}
	return c
}

func TestResolve(t *testing.T) {
	drbd, local := class("drbd", metadata.DriverName, false, 0), class("local", foreignDriver, false, 0)
	for _, tc := range []struct {
		name     string
		classes  []*storagev1.StorageClass
		objs     []any
		listErr  error
		want     Claim
		notFound bool // the error is a NotFound
		wantErr  bool
	}{
		{name: "bound to our PV", objs: []any{pvc("c", ptr.To("drbd"), "pv"), csiPV("pv", metadata.DriverName, "r1")},
			want: Claim{Ours: true, Resource: "r1"}},
		{name: "bound to a foreign driver's PV", classes: []*storagev1.StorageClass{drbd},
			objs: []any{pvc("c", ptr.To("drbd"), "pv"), csiPV("pv", foreignDriver, "r1")}},
		{name: "bound to a PV that is not CSI", objs: []any{pvc("c", nil, "pv"), &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv"}}}},
		{name: "unbound, our class", classes: []*storagev1.StorageClass{drbd, local}, objs: []any{pvc("c", ptr.To("drbd"), "")},
			want: Claim{Ours: true}},
		{name: "unbound, foreign class", classes: []*storagev1.StorageClass{drbd, local}, objs: []any{pvc("c", ptr.To("local"), "")}},
		{name: "nil class, our class is the default",
			classes: []*storagev1.StorageClass{class("drbd", metadata.DriverName, true, 0), local}, objs: []any{pvc("c", nil, "")},
			want: Claim{Ours: true}},
		{name: "nil class, a foreign class is the default",
			classes: []*storagev1.StorageClass{drbd, class("local", foreignDriver, true, 0)}, objs: []any{pvc("c", nil, "")}},
		{name: "nil class, no default", classes: []*storagev1.StorageClass{drbd, local}, objs: []any{pvc("c", nil, "")}},
		{name: "nil class, two defaults, ours is newest",
			classes: []*storagev1.StorageClass{class("local", foreignDriver, true, time.Hour), class("drbd", metadata.DriverName, true, 0)},
			objs:    []any{pvc("c", nil, "")}, want: Claim{Ours: true}},
		{name: "nil class, two defaults, ours is older",
			classes: []*storagev1.StorageClass{class("drbd", metadata.DriverName, true, time.Hour), class("local", foreignDriver, true, 0)},
			objs:    []any{pvc("c", nil, "")}},
		{name: "nil class, two defaults of one age: first by name",
			classes: []*storagev1.StorageClass{class("zz", foreignDriver, true, 0), class("aa", metadata.DriverName, true, 0)},
			objs:    []any{pvc("c", nil, "")}, want: Claim{Ours: true}},
		{name: "nil class, beta default annotation",
			classes: []*storagev1.StorageClass{{ObjectMeta: metav1.ObjectMeta{Name: "drbd", Annotations: map[string]string{annotationBetaDefaultClass: "true"}}, Provisioner: metadata.DriverName}},
			objs:    []any{pvc("c", nil, "")}, want: Claim{Ours: true}},
		{name: `"" class unbound: never ours, even with our default`,
			classes: []*storagev1.StorageClass{class("drbd", metadata.DriverName, true, 0)}, objs: []any{pvc("c", ptr.To(""), "")}},
		{name: `"" class bound to our PV`, objs: []any{pvc("c", ptr.To(""), "pv"), csiPV("pv", metadata.DriverName, "r1")},
			want: Claim{Ours: true, Resource: "r1"}},
		{name: "nil class bound to our PV, foreign default", classes: []*storagev1.StorageClass{class("local", foreignDriver, true, 0)},
			objs: []any{pvc("c", nil, "pv"), csiPV("pv", metadata.DriverName, "r1")}, want: Claim{Ours: true, Resource: "r1"}},
		{name: "missing claim", notFound: true, wantErr: true},
		{name: "missing PV", objs: []any{pvc("c", ptr.To("drbd"), "pv")}, notFound: true, wantErr: true},
		{name: "missing class", objs: []any{pvc("c", ptr.To("gone"), "")}, notFound: true, wantErr: true},
		{name: "listing the classes fails", objs: []any{pvc("c", nil, "")}, listErr: errors.New("connection refused"), wantErr: true},
		{name: "claim in another namespace", objs: []any{&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "other", Name: "c"}}},
			notFound: true, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(tc.classes, tc.objs...)
			c.listErr = tc.listErr
			r := Resolver{Claims: c, Volumes: c, Classes: c}
			got, err := r.Resolve(context.Background(), "ns", "c")
			if (err != nil) != tc.wantErr || apierrors.IsNotFound(err) != tc.notFound {
				t.Fatalf("error %v, want error %v, NotFound %v", err, tc.wantErr, tc.notFound)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// nilLookups answer every lookup with neither object nor error.
type nilLookups struct{}

func (nilLookups) GetClaim(context.Context, string, string) (*corev1.PersistentVolumeClaim, error) {
	return nil, nil
}
func (nilLookups) GetVolume(context.Context, string) (*corev1.PersistentVolume, error) {
	return nil, nil
}
func (nilLookups) GetClass(context.Context, string) (*storagev1.StorageClass, error) {
	return nil, nil
}
func (nilLookups) ListClasses(context.Context) ([]*storagev1.StorageClass, error) {
	return []*storagev1.StorageClass{nil}, nil
}

func TestNilLookupsAreNotOurs(t *testing.T) {
	ctx := context.Background()
	r := Resolver{Claims: nilLookups{}, Volumes: nilLookups{}, Classes: nilLookups{}}
	if got, err := r.Resolve(ctx, "ns", "c"); err != nil || got.Ours {
		t.Errorf("Resolve = %+v, %v", got, err)
	}
	for _, name := range []*string{nil, ptr.To("drbd")} {
		if ours, err := r.OwnsClass(ctx, name); err != nil || ours {
			t.Errorf("OwnsClass(%v) = %v, %v", name, ours, err)
		}
	}
	c := newCluster(nil, pvc("c", nil, "pv"))
	r = Resolver{Claims: c, Volumes: nilLookups{}}
	if res, err := r.Resource(ctx, "ns", "c"); err != nil || res != "" {
		t.Errorf("Resource = %q, %v", res, err)
	}
}

// TestResourceReadsNoClasses: the scheduler resolves bound claims only and
// gives no class lookup.
func TestResourceReadsNoClasses(t *testing.T) {
	c := newCluster(nil, pvc("bound", nil, "pv"), csiPV("pv", metadata.DriverName, "r1"), pvc("unbound", nil, ""),
		pvc("foreign", nil, "pv-f"), csiPV("pv-f", foreignDriver, "r1"), pvc("lost", nil, "pv-gone"))
	r := Resolver{Claims: c, Volumes: c}
	for _, tc := range []struct {
		claim, want string
		notFound    bool
	}{
		{claim: "bound", want: "r1"},
		{claim: "unbound"},
		{claim: "foreign"},
		{claim: "lost", notFound: true},
		{claim: "missing", notFound: true},
	} {
		got, err := r.Resource(context.Background(), "ns", tc.claim)
		if got != tc.want || apierrors.IsNotFound(err) != tc.notFound || (err != nil) != tc.notFound {
			t.Errorf("%s: got %q, %v; want %q, NotFound %v", tc.claim, got, err, tc.want, tc.notFound)
		}
	}
}

func TestResource(t *testing.T) {
	for _, tc := range []struct {
		name   string
		pv     *corev1.PersistentVolume
		want   string
		wantOK bool
	}{
		{name: "ours", pv: csiPV("pv", metadata.DriverName, "r1"), want: "r1", wantOK: true},
		{name: "foreign driver", pv: csiPV("pv", foreignDriver, "r1")},
		{name: "ours without a handle", pv: csiPV("pv", metadata.DriverName, "")},
		{name: "not CSI", pv: &corev1.PersistentVolume{}},
		{name: "nil"},
	} {
		if got, ok := Resource(tc.pv); got != tc.want || ok != tc.wantOK {
			t.Errorf("%s: got %q, %v", tc.name, got, ok)
		}
	}
}

func TestClaimNames(t *testing.T) {
	claimVol := func(vol, claim string) corev1.Volume {
		return corev1.Volume{Name: vol, VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}}
	}
	// A trimmed pod keeps the ephemeral source but not its template.
	ephemeralVol := func(vol string) corev1.Volume {
		return corev1.Volume{Name: vol, VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{}}}
	}
	pod := func(vols ...corev1.Volume) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "db-0"}, Spec: corev1.PodSpec{Volumes: vols}}
	}
	for _, tc := range []struct {
		name    string
		pod     *corev1.Pod
		want    []string
		uses    []string // claims in "ns" that UsesClaim must find
		notUses []string
	}{
		{name: "direct claim", pod: pod(claimVol("data", "data-db-0")), want: []string{"data-db-0"}, uses: []string{"data-db-0"}, notUses: []string{"db-0-data"}},
		{name: "ephemeral volume", pod: pod(ephemeralVol("scratch")), want: []string{"db-0-scratch"}, uses: []string{"db-0-scratch"}, notUses: []string{"scratch"}},
		{name: "mixed, in volume order", pod: pod(ephemeralVol("scratch"),
			corev1.Volume{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}}, claimVol("data", "d")),
			want: []string{"db-0-scratch", "d"}, uses: []string{"db-0-scratch", "d"}, notUses: []string{"db-0-cfg", "cfg"}},
		{name: "no claims", pod: pod(corev1.Volume{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}), notUses: []string{"db-0-tmp"}},
		{name: "no volumes", pod: pod(), notUses: []string{""}},
		{name: "nil pod", notUses: []string{""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ClaimNames(tc.pod); !slices.Equal(got, tc.want) {
				t.Errorf("ClaimNames = %q, want %q", got, tc.want)
			}
			for _, c := range tc.uses {
				if !UsesClaim(tc.pod, "ns", c) {
					t.Errorf("UsesClaim(ns/%s) = false", c)
				}
				if UsesClaim(tc.pod, "other", c) {
					t.Errorf("UsesClaim(other/%s) = true", c)
				}
			}
			for _, c := range tc.notUses {
				if UsesClaim(tc.pod, "ns", c) {
					t.Errorf("UsesClaim(ns/%s) = true", c)
				}
			}
		})
	}
	if _, ok := ClaimName(pod(), nil); ok {
		t.Error("ClaimName of a nil volume")
	}
	if _, ok := ClaimName(nil, &corev1.Volume{Name: "v", VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{}}}); ok {
		t.Error("ClaimName of an ephemeral volume without its pod")
	}
}

func TestDefaultClass(t *testing.T) {
	old, young := class("old", metadata.DriverName, true, time.Hour), class("young", foreignDriver, true, 0)
	for _, tc := range []struct {
		name    string
		classes []*storagev1.StorageClass
		want    *storagev1.StorageClass
	}{
		{name: "none"},
		{name: "no default", classes: []*storagev1.StorageClass{class("a", metadata.DriverName, false, 0)}},
		{name: "one", classes: []*storagev1.StorageClass{class("a", metadata.DriverName, false, 0), old}, want: old},
		{name: "newest wins", classes: []*storagev1.StorageClass{young, old}, want: young},
		{name: "newest wins in any order", classes: []*storagev1.StorageClass{old, young}, want: young},
		{name: "annotation not true", classes: []*storagev1.StorageClass{{ObjectMeta: metav1.ObjectMeta{Name: "x",
			Annotations: map[string]string{AnnotationDefaultClass: "false"}}}}},
		{name: "nil entries", classes: []*storagev1.StorageClass{nil, old}, want: old},
	} {
		if got := DefaultClass(tc.classes); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}
