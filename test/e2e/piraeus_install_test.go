package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/linstor-ha/linstor-ha/csi-sidecar/liveness"
	"github.com/linstor-ha/linstor-ha/pkg/metadata"
	"github.com/linstor-ha/linstor-ha/pkg/reportclient"
	"github.com/linstor-ha/linstor-ha/pkg/restconfig"
	"github.com/linstor-ha/linstor-ha/test/cluster"
)

// The Piraeus tests install linstor-ha as a user with a Piraeus operator v2
// cluster would, on the objects that operator really renders
// (cluster.PiraeusDir()), in namespaces other than the defaults of both.
const (
	// piraeusNamespace is the namespace the user gave Piraeus.
	piraeusNamespace = "storage"
	// haNamespace is the namespace the user gives linstor-ha.
	haNamespace = "storage-ha"
	// userLinstorCluster is the name of the user's LinstorCluster.
	userLinstorCluster = "piraeus"
	// sidecarImage is what the user retags the sidecar's image to.
	sidecarImage = "registry.example/ha/csi-sidecar:e2e"
)

var linstorClusters = schema.GroupVersionResource{Group: "piraeus.io", Version: "v1", Resource: "linstorclusters"}

// userLinstorClusterYAML is the user's LinstorCluster before linstor-ha:
// a patch of their own, which must survive the integration.
const userLinstorClusterYAML = `apiVersion: piraeus.io/v1
kind: LinstorCluster
metadata:
  name: ` + userLinstorCluster + `
spec:
  patches:
  - target:
      kind: DaemonSet
      name: linstor-csi-node
    patch: |-
      apiVersion: apps/v1
      kind: DaemonSet
      metadata:
        name: linstor-csi-node
        annotations:
          example.com/user-patch: kept
`

// piraeusInstall is linstor-ha installed into a Piraeus cluster.
type piraeusInstall struct {
	c *cluster.Cluster
	// dir is the user's kustomization: ha/ (linstor-ha's namespace),
	// storage/ (Piraeus' namespace), their LinstorCluster and the
	// components.
	dir string
	// rendered is what dir renders to; operator what the operator renders
	// from the stored LinstorCluster.
	rendered, operator []unstructured.Unstructured
	dyn                dynamic.Interface
}

// piraeusOptions are the options of a cluster whose sidecars run in the
// CSI node pods of the DaemonSet the test renders as the operator does.
func piraeusOptions(t *testing.T) cluster.Options {
	o := sidecarOptions(t)
	o.SidecarNamespace = piraeusNamespace
	o.SidecarDaemonSet = "linstor-csi-node"
	return o
}

// installPiraeus installs Piraeus' CRDs and the user's LinstorCluster as
// they were before linstor-ha, then linstor-ha the documented way
// (manifests/README.md): one kustomization of the user's own, applied
// server-side. It then does what the operator does with the stored
// LinstorCluster and starts the sidecars in the resulting CSI node pods.
func installPiraeus(t *testing.T, c *cluster.Cluster) *piraeusInstall {
	t.Helper()
	ctx := context.Background()
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	pi := &piraeusInstall{c: c, dir: t.TempDir(), dyn: dynamic.NewForConfigOrDie(cfg)}
	kubectl(t, c, "apply", "--server-side", "-f", filepath.Join(cluster.PiraeusDir(), "crd"))
	kubectl(t, c, "wait", "--for=condition=Established", "--timeout=60s", "crd/linstorclusters.piraeus.io", "crd/linstorsatelliteconfigurations.piraeus.io")
	namespace(t, c, piraeusNamespace)

	writeFile(t, filepath.Join(pi.dir, "linstorcluster.yaml"), userLinstorClusterYAML)
	kubectl(t, c, "apply", "--server-side", "-f", filepath.Join(pi.dir, "linstorcluster.yaml"))

	m := cluster.ManifestsDir()
	for dir, k := range map[string]map[string]any{
		"ha":      {"namespace": haNamespace, "resources": []string{filepath.Join(m, "base")}},
		"storage": {"namespace": piraeusNamespace, "resources": []string{filepath.Join(m, "sidecar")}},
	} {
		if err := cluster.WriteKustomization(filepath.Join(pi.dir, dir), k); err != nil {
			t.Fatal(err)
		}
	}
	pi.writeUserKustomization(t, true)
	pi.apply(t)
	pi.reconcileOperator(t)
	if err := c.StartSidecars(ctx); err != nil {
		t.Fatal(err)
	}
	rc := reports(t, c)
	for _, n := range c.Nodes() {
		waitFor(t, time.Minute, n.Spec.Name+"'s synced report and liveness Lease", func(ctx context.Context) (bool, error) {
			rr, err := rc.Get(ctx, n.Spec.Name)
			if err != nil || !rr.Status.Synced {
				return false, nil
			}
			_, err = c.Client.CoordinationV1().Leases(piraeusNamespace).Get(ctx, liveness.LeaseName(n.Spec.Name), metav1.GetOptions{})
			return err == nil, nil
		})
	}
	return pi
}

// writeUserKustomization writes the user's top kustomization, with the
// Piraeus component or without it.
func (pi *piraeusInstall) writeUserKustomization(t *testing.T, integration bool) {
	t.Helper()
	m := cluster.ManifestsDir()
	components := []string{filepath.Join(m, "components", "cert-manager")}
	if integration {
		components = append(components, filepath.Join(m, "components", "piraeus"))
	}
	if err := cluster.WriteKustomization(pi.dir, map[string]any{
		"resources":  []string{"ha", "storage", "linstorcluster.yaml"},
		"components": components,
		"images": []any{
			map[string]any{"name": "ghcr.io/linstor-ha/csi-sidecar", "newName": strings.Split(sidecarImage, ":")[0], "newTag": strings.Split(sidecarImage, ":")[1]},
			map[string]any{"name": "ghcr.io/linstor-ha/scheduler", "newName": "registry.example/ha/scheduler", "newTag": "e2e"},
			map[string]any{"name": "ghcr.io/linstor-ha/webhook", "newName": "registry.example/ha/webhook", "newTag": "e2e"},
		},
	}); err != nil {
		t.Fatal(err)
	}
}

// apply renders the user's kustomization and applies it server-side with
// kubectl's own field manager, the one that applied their LinstorCluster
// before: with no --force-conflicts. cert-manager's kinds are not served
// here; they are checked as rendered.
func (pi *piraeusInstall) apply(t *testing.T) {
	t.Helper()
	out, err := pi.c.Kustomize(context.Background(), pi.dir)
	if err != nil {
		t.Fatal(err)
	}
	pi.rendered = decodeObjects(t, "the user's kustomization", out)
	var served bytes.Buffer
	for _, o := range pi.rendered {
		if o.GetObjectKind().GroupVersionKind().Group == "cert-manager.io" {
			continue
		}
		raw, err := sigsyaml.Marshal(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		served.WriteString("---\n")
		served.Write(raw)
	}
	file := filepath.Join(pi.dir, "..", "served.yaml")
	writeFile(t, file, served.String())
	kubectl(t, pi.c, "apply", "--server-side", "-f", file)
}

// reconcileOperator does what the Piraeus operator does with the stored
// LinstorCluster: renders its components into Piraeus' namespace, applies
// them server-side with its own field manager, owning what it renders, and
// prunes a component that is switched off.
func (pi *piraeusInstall) reconcileOperator(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	lc, err := pi.dyn.Resource(linstorClusters).Get(ctx, userLinstorCluster, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := pi.c.RenderPiraeus(ctx, lc, piraeusNamespace)
	if err != nil {
		t.Fatal(err)
	}
	pi.operator = decodeObjects(t, "the operator's rendering", out)
	file := filepath.Join(pi.dir, "..", "operator.yaml")
	writeFile(t, file, string(out))
	kubectl(t, pi.c, "apply", "--server-side", "--force-conflicts", "--field-manager=piraeus-operator", "-f", file)
	if enabled, found, _ := unstructured.NestedBool(lc.Object, "spec", "highAvailabilityController", "enabled"); found && !enabled {
		kubectl(t, pi.c, "-n", piraeusNamespace, "delete", "--ignore-not-found", "daemonset/ha-controller", "serviceaccount/ha-controller")
		kubectl(t, pi.c, "delete", "--ignore-not-found", "clusterrole/ha-controller", "clusterrolebinding/ha-controller")
	}
}

// TestPiraeusInstall installs linstor-ha into a Piraeus cluster the
// documented way and checks, on what the API server stored and the
// operator rendered: the user's LinstorCluster, not a second one, carries
// the integration and keeps its own patch; Piraeus' HA controller is off;
// the CSI node pods run the retagged sidecar with its own token and
// nothing else does; the sidecar runs on those credentials and its
// report policy holds in Piraeus' namespace; nothing names the default
// namespaces.
func TestPiraeusInstall(t *testing.T) {
	c := startCluster(t, piraeusOptions(t))
	pi := installPiraeus(t, c)
	ctx := context.Background()

	t.Run("one LinstorCluster, the user's", func(t *testing.T) {
		list, err := pi.dyn.Resource(linstorClusters).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Items) != 1 || list.Items[0].GetName() != userLinstorCluster {
			t.Fatalf("%d LinstorClusters, want only the user's %s", len(list.Items), userLinstorCluster)
		}
		lc := list.Items[0]
		if enabled, found, _ := unstructured.NestedBool(lc.Object, "spec", "highAvailabilityController", "enabled"); !found || enabled {
			t.Error("Piraeus' HA controller is not switched off")
		}
		patches, _, _ := unstructured.NestedSlice(lc.Object, "spec", "patches")
		if len(patches) != 1 || !strings.Contains(fmt.Sprint(patches[0]), "example.com/user-patch") {
			t.Errorf("the user's own patch is gone: %v", patches)
		}
		ds, err := c.Client.AppsV1().DaemonSets(piraeusNamespace).Get(ctx, "linstor-csi-node", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if ds.Annotations["example.com/user-patch"] != "kept" {
			t.Error("the operator's rendering lost the user's patch")
		}
	})

	t.Run("HA controller off", func(t *testing.T) {
		for _, o := range pi.operator {
			if strings.Contains(o.GetName(), "ha-controller") {
				t.Errorf("the operator renders %s", objectID(o))
			}
		}
		if _, err := c.Client.AppsV1().DaemonSets(piraeusNamespace).Get(ctx, "ha-controller", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("the ha-controller DaemonSet: %v, want it absent", err)
		}
	})

	t.Run("CSI node pods", func(t *testing.T) {
		ds, err := c.Client.AppsV1().DaemonSets(piraeusNamespace).Get(ctx, "linstor-csi-node", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		checkCSINodePodSpec(t, ds.Spec.Template.Spec)
		pods, err := c.Client.CoreV1().Pods(piraeusNamespace).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=linstor-csi-node"})
		if err != nil {
			t.Fatal(err)
		}
		if len(pods.Items) != len(c.Nodes()) {
			t.Errorf("%d CSI node pods, want one per node", len(pods.Items))
		}
		for _, p := range pods.Items {
			checkCSINodePodSpec(t, p.Spec)
		}
	})

	t.Run("satellites tolerate the sidecar's taints", func(t *testing.T) {
		raw, err := os.ReadFile(filepath.Join(cluster.PiraeusDir(), "operator", "satellite-daemonset.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		var sat appsv1.DaemonSet
		if err := sigsyaml.Unmarshal(raw, &sat); err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{metadata.TaintLostQuorum, metadata.TaintForceIOError} {
			if !tolerates(sat.Spec.Template.Spec.Tolerations, key) {
				t.Errorf("the LINSTOR satellite does not tolerate %s", key)
			}
		}
	})

	t.Run("sidecar on its container's credentials", func(t *testing.T) {
		for _, n := range c.Nodes() {
			resp, err := http.Get("http://" + n.SidecarHTTP + "/readyz")
			if err != nil {
				t.Fatalf("%s's sidecar: %v", n.Spec.Name, err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("%s's sidecar is not ready: %s", n.Spec.Name, resp.Status)
			}
			cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", n.SidecarPID()))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(cmdline), "--kubeconfig") {
				t.Errorf("%s's sidecar runs with a kubeconfig", n.Spec.Name)
			}
			token, err := os.ReadFile(c.SidecarTokenFile(n.Spec.Name))
			if err != nil {
				t.Fatal(err)
			}
			claims := jwtClaims(t, string(token))
			pod, err := c.Client.CoreV1().Pods(piraeusNamespace).Get(ctx, claims.Kubernetes.Pod.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if ref := metav1.GetControllerOf(pod); pod.Spec.NodeName != n.Spec.Name || ref == nil || ref.Kind != "DaemonSet" || ref.Name != "linstor-csi-node" {
				t.Errorf("%s's sidecar token is bound to pod %s on %s, want its CSI node pod", n.Spec.Name, pod.Name, pod.Spec.NodeName)
			}
		}
	})

	t.Run("report policy in Piraeus' namespace", func(t *testing.T) {
		cfg, err := clientcmd.BuildConfigFromFlags("", c.SidecarKubeconfig("node-a1"))
		if err != nil {
			t.Fatal(err)
		}
		asA1, err := reportclient.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := asA1.PatchStatus(ctx, "node-a1", []byte(`{"status":{"synced":true}}`)); err != nil {
			t.Errorf("node-a1's sidecar cannot write its own report: %v", err)
		}
		err = asA1.PatchStatus(ctx, "node-b1", []byte(`{"status":{"synced":true,"resources":[{"name":"pvc-forged","quorum":false,"mayPromote":false}]}}`))
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "only the replica report and the liveness lease of its own node") {
			t.Errorf("node-a1's sidecar wrote node-b1's report: %v, want Forbidden by the policy", err)
		}
		leases := kubernetes.NewForConfigOrDie(cfg).CoordinationV1().Leases(piraeusNamespace)
		b1, err := leases.Get(ctx, liveness.LeaseName("node-b1"), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b1.Spec.RenewTime = &metav1.MicroTime{Time: time.Now().Add(time.Hour)}
		if _, err := leases.Update(ctx, b1, metav1.UpdateOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("node-a1's sidecar renewed node-b1's Lease: %v, want Forbidden", err)
		}
		forged := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: liveness.LeaseName("node-x")}}
		if _, err := leases.Create(ctx, forged, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("node-a1's sidecar created node-x's Lease: %v, want Forbidden", err)
		}
	})

	t.Run("namespaces and images", func(t *testing.T) {
		checkNamespaces(t, pi.rendered)
		images := map[string]bool{}
		for _, o := range pi.rendered {
			if o.GetKind() != "Deployment" {
				continue
			}
			ctrs, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
			for _, ctr := range ctrs {
				images[fmt.Sprint(ctr.(map[string]any)["image"])] = true
			}
		}
		for _, want := range []string{"registry.example/ha/scheduler:e2e", "registry.example/ha/webhook:e2e"} {
			if !images[want] {
				t.Errorf("no Deployment runs %s: %v", want, images)
			}
		}
		var cert, mwc *unstructured.Unstructured
		for i, o := range pi.rendered {
			switch o.GetKind() {
			case "Certificate":
				cert = &pi.rendered[i]
			case "MutatingWebhookConfiguration":
				mwc = &pi.rendered[i]
			}
		}
		if cert == nil || mwc == nil {
			t.Fatal("no Certificate or registration rendered")
		}
		dnsNames, _, _ := unstructured.NestedStringSlice(cert.Object, "spec", "dnsNames")
		if cert.GetNamespace() != haNamespace || !slices.Contains(dnsNames, "linstor-ha-webhook."+haNamespace+".svc") {
			t.Errorf("the Certificate is in %q for %v, want %s and the webhook Service there", cert.GetNamespace(), dnsNames, haNamespace)
		}
		if got := mwc.GetAnnotations()["cert-manager.io/inject-ca-from"]; got != haNamespace+"/linstor-ha-webhook" {
			t.Errorf("the registration injects the CA of %q", got)
		}
	})
}

// checkCSINodePodSpec checks a CSI node pod spec: only the sidecar
// container has a token, a projected one at the in-cluster path; it has
// its node and namespace in its environment, probes on a port it declares,
// the retagged image, and the pod tolerates the sidecar's taints.
func checkCSINodePodSpec(t *testing.T, spec corev1.PodSpec) {
	t.Helper()
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Error("the CSI node pod automounts a token into every container")
	}
	var sidecar *corev1.Container
	for i, ctr := range spec.Containers {
		if ctr.Name == "linstor-ha-sidecar" {
			sidecar = &spec.Containers[i]
			continue
		}
		for _, m := range append(ctr.VolumeMounts, initMounts(spec)...) {
			if filepath.Clean(m.MountPath) == restconfig.ServiceAccountDir || strings.Contains(m.Name, "token") {
				t.Errorf("container %s mounts %s at %s", ctr.Name, m.Name, m.MountPath)
			}
		}
	}
	if sidecar == nil {
		t.Fatal("the CSI node pod has no sidecar container")
	}
	if sidecar.Image != sidecarImage {
		t.Errorf("the sidecar's image is %s, want the retagged %s", sidecar.Image, sidecarImage)
	}
	var token *corev1.VolumeMount
	for i, m := range sidecar.VolumeMounts {
		if m.MountPath == restconfig.ServiceAccountDir {
			token = &sidecar.VolumeMounts[i]
		}
	}
	if token == nil || !token.ReadOnly {
		t.Fatalf("the sidecar has no read-only mount at %s", restconfig.ServiceAccountDir)
	}
	var vol *corev1.Volume
	for i := range spec.Volumes {
		if spec.Volumes[i].Name == token.Name {
			vol = &spec.Volumes[i]
		}
	}
	if vol == nil || vol.Projected == nil {
		t.Fatalf("the sidecar's token volume %s is not a projected volume", token.Name)
	}
	var hasToken, hasCA, hasNamespace bool
	for _, src := range vol.Projected.Sources {
		switch {
		case src.ServiceAccountToken != nil:
			hasToken = src.ServiceAccountToken.Path == "token" && src.ServiceAccountToken.Audience == ""
		case src.ConfigMap != nil:
			hasCA = src.ConfigMap.Name == "kube-root-ca.crt" && slices.Contains(src.ConfigMap.Items, corev1.KeyToPath{Key: "ca.crt", Path: "ca.crt"})
		case src.DownwardAPI != nil:
			for _, it := range src.DownwardAPI.Items {
				hasNamespace = hasNamespace || (it.Path == "namespace" && it.FieldRef != nil && it.FieldRef.FieldPath == "metadata.namespace")
			}
		}
	}
	if !hasToken || !hasCA || !hasNamespace {
		t.Errorf("the token volume has token %v, ca.crt %v, namespace %v; want all", hasToken, hasCA, hasNamespace)
	}
	env := map[string]string{}
	for _, e := range sidecar.Env {
		if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
			env[e.Name] = e.ValueFrom.FieldRef.FieldPath
		}
	}
	if env["NODE_NAME"] != "spec.nodeName" || env["POD_NAMESPACE"] != "metadata.namespace" {
		t.Errorf("the sidecar's environment %v lacks its node or namespace", env)
	}
	ports := map[string]bool{}
	for _, p := range sidecar.Ports {
		ports[p.Name] = true
	}
	for name, probe := range map[string]*corev1.Probe{"/readyz": sidecar.ReadinessProbe, "/healthz": sidecar.LivenessProbe} {
		if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != name || !ports[probe.HTTPGet.Port.String()] {
			t.Errorf("the sidecar's %s probe is missing or not on a port it declares", name)
		}
	}
	for _, key := range []string{metadata.TaintLostQuorum, metadata.TaintForceIOError} {
		if !tolerates(spec.Tolerations, key) {
			t.Errorf("the CSI node pod does not tolerate %s", key)
		}
	}
}

func initMounts(spec corev1.PodSpec) []corev1.VolumeMount {
	var out []corev1.VolumeMount
	for _, ctr := range spec.InitContainers {
		out = append(out, ctr.VolumeMounts...)
	}
	return out
}

// tolerates reports whether tolerations let a pod onto a node with the
// NoSchedule taint key.
func tolerates(tolerations []corev1.Toleration, key string) bool {
	taint := &corev1.Taint{Key: key, Effect: corev1.TaintEffectNoSchedule}
	return slices.ContainsFunc(tolerations, func(tol corev1.Toleration) bool { return tol.ToleratesTaint(klog.Background(), taint, false) })
}

// checkNamespaces fails for a rendered object in a namespace the user did
// not choose, and for the default namespaces named anywhere. The
// scheduler's configuration keeps linstor-ha-system as the fallback of a
// scheduler run outside a pod; its Deployment overrides it with its own.
func checkNamespaces(t *testing.T, objs []unstructured.Unstructured) {
	t.Helper()
	for _, o := range objs {
		if ns := o.GetNamespace(); ns != "" && ns != piraeusNamespace && ns != haNamespace {
			t.Errorf("%s is in namespace %s", objectID(o), ns)
		}
		raw, err := sigsyaml.Marshal(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		text := string(raw)
		if o.GetKind() == "ConfigMap" && o.GetName() == "linstor-ha-scheduler" {
			text = strings.Replace(text, "resourceNamespace: linstor-ha-system", "", 1)
		}
		if o.GetKind() == "Deployment" && o.GetName() == "linstor-ha-scheduler" && !strings.Contains(text, "--leader-elect-resource-namespace=$(POD_NAMESPACE)") {
			t.Error("the scheduler's Deployment does not elect its leader in its own namespace")
		}
		for _, def := range []string{"piraeus-datastore", "linstor-ha-system"} {
			if strings.Contains(text, def) {
				t.Errorf("%s names the default namespace %s", objectID(o), def)
			}
		}
	}
}

// kubectl runs the test bed's kubectl as cluster admin.
func kubectl(t *testing.T, c *cluster.Cluster, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := c.Kubectl(ctx, args...)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
