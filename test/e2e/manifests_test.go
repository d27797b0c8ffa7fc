package e2e

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/linstor-ha/linstor-ha/test/cluster"
)

// kustomizations are manifests/ and the kustomizations in it that render
// alone; the components render in composedKustomization.
var kustomizations = []string{".", "base", "sidecar", "overlays/cert-manager"}

// notServed are API groups whose kinds test clusters do not serve; their
// objects are checked for consistency instead of by a dry run.
var notServed = []string{"cert-manager.io", "piraeus.io"}

// TestManifestsAreValid renders manifests/, its kustomizations and every
// component combined as a user combines them with kubectl kustomize, and
// sends every object to the API server as a server-side dry run with strict
// field validation: an invalid field, kind or reference fails the test. It
// also checks that manifests/ holds every manifest file, that
// cert-manager's objects match the webhook's Service and Secret, and that
// the DaemonSet patch, plain and inside the Piraeus component, applies to
// a LINSTOR CSI node DaemonSet.
func TestManifestsAreValid(t *testing.T) {
	c := startCluster(t, cluster.Options{Sidecar: sidecarBinary(t)})
	ctx := context.Background()
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	disco, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disco))
	rendered := map[string][]unstructured.Unstructured{}
	dirs := map[string]string{"composed": composedKustomization(t)}
	for _, k := range kustomizations {
		dirs[k] = filepath.Join(cluster.ManifestsDir(), k)
	}
	for name, dir := range dirs {
		out, err := c.Kustomize(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		rendered[name] = decodeObjects(t, name, out)
		for _, obj := range rendered[name] {
			if slices.Contains(notServed, obj.GroupVersionKind().Group) {
				continue
			}
			dryRunCreate(ctx, t, c, dyn, mapper, name, obj)
		}
	}
	checkBaseHoldsEveryFile(t, rendered["."])
	checkCertManager(t, rendered["overlays/cert-manager"])
	checkCertManager(t, rendered["composed"])
	checkCSINodePatches(ctx, t, c, rendered["composed"])
}

// composedKustomization writes a kustomization that lists manifests/, a
// LinstorCluster and every component, as manifests/README.md shows.
func composedKustomization(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	lc := []byte("apiVersion: piraeus.io/v1\nkind: LinstorCluster\nmetadata:\n  name: linstorcluster\nspec: {}\n")
	if err := os.WriteFile(filepath.Join(dir, "linstorcluster.yaml"), lc, 0o644); err != nil {
		t.Fatal(err)
	}
	m := cluster.ManifestsDir()
	if err := cluster.WriteKustomization(dir, map[string]any{
		"resources":  []string{m, "linstorcluster.yaml"},
		"components": []string{filepath.Join(m, "components", "cert-manager"), filepath.Join(m, "components", "piraeus")},
	}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func decodeObjects(t *testing.T, source string, raw []byte) []unstructured.Unstructured {
	t.Helper()
	var objs []unstructured.Unstructured
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
	for {
		var obj unstructured.Unstructured
		if err := dec.Decode(&obj.Object); errors.Is(err, io.EOF) {
			return objs
		} else if err != nil {
			t.Fatalf("%s: %v", source, err)
		}
		if len(obj.Object) > 0 {
			objs = append(objs, obj)
		}
	}
}

func dryRunCreate(ctx context.Context, t *testing.T, c *cluster.Cluster, dyn dynamic.Interface, mapper meta.RESTMapper, source string, obj unstructured.Unstructured) {
	t.Helper()
	gvk := obj.GroupVersionKind()
	mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		t.Errorf("%s: %s: %v", source, gvk, err)
		return
	}
	var ri dynamic.ResourceInterface = dyn.Resource(mapping.Resource)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		ns := obj.GetNamespace()
		if ns == "" {
			t.Errorf("%s: %s %s has no namespace", source, gvk.Kind, obj.GetName())
			return
		}
		// A dry run does not create the Namespace of the manifests, so
		// the namespaces they name are made here.
		if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
		ri = dyn.Resource(mapping.Resource).Namespace(ns)
	}
	_, err = ri.Create(ctx, &obj, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: "Strict"})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Errorf("%s: %s %s: %v", source, gvk.Kind, obj.GetName(), err)
	}
}

// objectID names an object across files and renderings.
func objectID(o unstructured.Unstructured) string {
	return o.GetKind() + "/" + o.GetNamespace() + "/" + o.GetName()
}

// checkBaseHoldsEveryFile fails for a manifest file whose objects
// manifests/ leaves out: a file added without its kustomization entry.
// Components, overlays, patches, kustomize configurations and objects
// kustomize never emits (local-config) are not resources.
func checkBaseHoldsEveryFile(t *testing.T, base []unstructured.Unstructured) {
	t.Helper()
	inBase := map[string]bool{}
	for _, o := range base {
		inBase[objectID(o)] = true
	}
	root := cluster.ManifestsDir()
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		switch {
		case d.IsDir() && (name == "overlays" || name == "components"):
			return filepath.SkipDir
		case d.IsDir() || !strings.HasSuffix(name, ".yaml") || name == "kustomization.yaml" || name == "kustomizeconfig.yaml" || strings.HasSuffix(name, "-patch.yaml"):
			return nil
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, o := range decodeObjects(t, path, raw) {
			if o.GetAnnotations()["config.kubernetes.io/local-config"] == "true" {
				continue
			}
			if !inBase[objectID(o)] {
				t.Errorf("%s: %s is not in manifests/kustomization.yaml", path, objectID(o))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// checkCertManager checks that the Certificate serves the webhook's Service,
// lands in the Secret its Deployment mounts, and is what the registration's
// CA injection names.
func checkCertManager(t *testing.T, objs []unstructured.Unstructured) {
	t.Helper()
	var cert, svc, deploy, mwc *unstructured.Unstructured
	for i := range objs {
		o := &objs[i]
		switch {
		case o.GetKind() == "Certificate":
			cert = o
		case o.GetKind() == "Service" && o.GetName() == "linstor-ha-webhook":
			svc = o
		case o.GetKind() == "Deployment" && o.GetName() == "linstor-ha-webhook":
			deploy = o
		case o.GetKind() == "MutatingWebhookConfiguration":
			mwc = o
		}
	}
	if cert == nil || svc == nil || deploy == nil || mwc == nil {
		t.Fatalf("the rendering lacks the Certificate, the webhook's Service, Deployment or registration")
	}
	dnsNames, _, _ := unstructured.NestedStringSlice(cert.Object, "spec", "dnsNames")
	if want := svc.GetName() + "." + svc.GetNamespace() + ".svc"; !slices.Contains(dnsNames, want) {
		t.Errorf("the Certificate's dnsNames %v lack the Service's name %s", dnsNames, want)
	}
	secret, _, _ := unstructured.NestedString(cert.Object, "spec", "secretName")
	var d appsv1.Deployment
	if err := runtimeFromUnstructured(deploy, &d); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(d.Spec.Template.Spec.Volumes, func(v corev1.Volume) bool { return v.Secret != nil && v.Secret.SecretName == secret }) {
		t.Errorf("the webhook's Deployment does not mount the Certificate's Secret %s", secret)
	}
	if got, want := mwc.GetAnnotations()["cert-manager.io/inject-ca-from"], cert.GetNamespace()+"/"+cert.GetName(); got != want {
		t.Errorf("the registration injects the CA of %q, want %q", got, want)
	}
}

// checkCSINodePatches checks that the LinstorCluster's podTemplate (from
// components/piraeus) is the pod template of sidecar/csi-node-patch.yaml,
// that it switches Piraeus' HA controller off, and that the patch applies,
// as a server-side dry run, to a DaemonSet shaped like the one Piraeus
// creates.
func checkCSINodePatches(ctx context.Context, t *testing.T, c *cluster.Cluster, objs []unstructured.Unstructured) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(cluster.ManifestsDir(), "sidecar", "csi-node-patch.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var plain map[string]any
	if err := sigsyaml.Unmarshal(raw, &plain); err != nil {
		t.Fatal(err)
	}
	plainTemplate, _, _ := unstructured.NestedMap(plain, "spec", "template")
	var lcs []unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == "LinstorCluster" {
			lcs = append(lcs, o)
		}
	}
	if len(lcs) != 1 {
		t.Fatalf("%d LinstorClusters rendered, want the user's one", len(lcs))
	}
	embedded, _, _ := unstructured.NestedMap(lcs[0].Object, "spec", "csiNode", "podTemplate")
	if !reflect.DeepEqual(embedded, plainTemplate) {
		t.Fatalf("the LinstorCluster's csiNode.podTemplate differs from the pod template of sidecar/csi-node-patch.yaml")
	}
	if enabled, found, _ := unstructured.NestedBool(lcs[0].Object, "spec", "highAvailabilityController", "enabled"); !found || enabled {
		t.Errorf("the Piraeus component leaves Piraeus' HA controller on")
	}

	// Not in the sidecars' namespace: this DaemonSet would adopt their
	// CSI node pods.
	namespace(t, c, "csi-patch")
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: "csi-patch", Name: "linstor-csi-node"},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/component": "linstor-csi-node"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app.kubernetes.io/component": "linstor-csi-node"}},
				Spec: corev1.PodSpec{
					AutomountServiceAccountToken: ptr.To(false),
					Containers:                   []corev1.Container{{Name: "linstor-csi", Image: "linstor-csi", VolumeMounts: []corev1.VolumeMount{{Name: "plugin-dir", MountPath: "/csi"}}}},
					Volumes: []corev1.Volume{{Name: "plugin-dir", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{
						Path: "/var/lib/kubelet/plugins/linstor.csi.linbit.com",
					}}}},
				},
			},
		},
	}
	if _, err := c.Client.AppsV1().DaemonSets(ds.Namespace).Create(ctx, ds, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	patch, err := sigsyaml.YAMLToJSON(raw)
	if err != nil {
		t.Fatal(err)
	}
	patched, err := c.Client.AppsV1().DaemonSets(ds.Namespace).Patch(ctx, ds.Name, types.StrategicMergePatchType, patch,
		metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: "Strict"})
	if err != nil {
		t.Fatalf("the DaemonSet patch does not apply: %v", err)
	}
	var names, volumes []string
	for _, ctr := range patched.Spec.Template.Spec.Containers {
		names = append(names, ctr.Name)
	}
	for _, v := range patched.Spec.Template.Spec.Volumes {
		volumes = append(volumes, v.Name)
	}
	slices.Sort(names)
	slices.Sort(volumes)
	if !slices.Equal(names, []string{"linstor-csi", "linstor-ha-sidecar"}) || !slices.Equal(volumes, []string{"linstor-ha-sidecar-token", "plugin-dir"}) {
		t.Errorf("patched containers %v and volumes %v, want the CSI plugin and the sidecar, the plugin's directory and the sidecar's token", names, volumes)
	}
}

func runtimeFromUnstructured(u *unstructured.Unstructured, into any) error {
	return runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, into, true)
}
