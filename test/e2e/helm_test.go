package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/linstor-ha/linstor-ha/test/cluster"
)

// The chart tests render charts/linstor-ha with the helm binary of
// test/tools/helm, lint it, compare it with the kustomize manifests and
// install it on a test cluster.

// helmKubeVersion is the Kubernetes version helm renders and lints for
// without a cluster, the one linstor-ha supports.
const helmKubeVersion = "1.37.2"

// helmRelease is the documented release name: with it, the chart's names
// are those of manifests/.
const helmRelease = "linstor-ha"

func chartDir() string { return filepath.Join(cluster.ManifestsDir(), "..", "charts", "linstor-ha") }

var helmOnce struct {
	sync.Once
	path string
	err  error
}

// helmBinary is $LINSTOR_HA_HELM/helm (the Makefile sets it from
// test/tools/build.sh test/tools/helm), or that build, made here when the
// variable is unset (minutes cold, cached after).
func helmBinary(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the helm binary; run without -short")
	}
	helmOnce.Do(func() {
		dir := os.Getenv("LINSTOR_HA_HELM")
		if dir == "" {
			tools := filepath.Join(cluster.ManifestsDir(), "..", "test", "tools")
			cmd := exec.Command("bash", filepath.Join(tools, "build.sh"), filepath.Join(tools, "helm"))
			cmd.Stderr = os.Stderr
			out, err := cmd.Output()
			if err != nil {
				helmOnce.err = fmt.Errorf("failed to build helm with test/tools/build.sh test/tools/helm: %w", err)
				return
			}
			dir = strings.TrimSpace(string(out))
		}
		helmOnce.path = filepath.Join(dir, "helm")
		if _, err := os.Stat(helmOnce.path); err != nil {
			helmOnce.err = fmt.Errorf("no helm binary: %w", err)
		}
	})
	if helmOnce.err != nil {
		t.Fatal(helmOnce.err)
	}
	return helmOnce.path
}

// runHelm runs the helm binary with a HOME of the test's own, so that no
// repository or plugin configuration of the machine matters.
func runHelm(t testing.TB, env []string, args ...string) (string, error) {
	t.Helper()
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, helmBinary(t), args...)
	cmd.Env = append(os.Environ(), append([]string{"HOME=" + home, "HELM_CACHE_HOME=" + home + "/cache",
		"HELM_CONFIG_HOME=" + home + "/config", "HELM_DATA_HOME=" + home + "/data"}, env...)...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("helm %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// helmValueSet is a named set of values, written as a values file.
type helmValueSet struct {
	name      string
	release   string
	namespace string
	values    map[string]any
}

// customValues sets every knob an operator tunes, away from its default.
var customValues = map[string]any{
	"namespace":        map[string]any{"name": "storage-ha"},
	"imagePullSecrets": []any{map[string]any{"name": "registry-login"}},
	"scheduler": map[string]any{
		"schedulerName": "ha-scheduler",
		"image":         map[string]any{"repository": "registry.example/ha/scheduler", "tag": "e2e", "pullPolicy": "Always"},
		"replicas":      3,
		"logLevel":      4,
		"resources":     map[string]any{"requests": map[string]any{"cpu": "200m", "memory": "256Mi"}, "limits": map[string]any{"memory": "1Gi"}},
		"nodeSelector":  map[string]any{"node-role.kubernetes.io/control-plane": ""},
		"tolerations":   []any{map[string]any{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}},
		"plugin":        map[string]any{"weight": 20, "staleAfter": "30s", "strict": true, "dataWeight": 12, "zoneWeight": 5, "disklessWeight": 1},
	},
	"webhook": map[string]any{
		"image":        map[string]any{"repository": "registry.example/ha/webhook", "tag": "e2e"},
		"replicas":     3,
		"nodeSelector": map[string]any{"kubernetes.io/os": "linux"},
		"tolerations":  []any{map[string]any{"key": "dedicated", "operator": "Equal", "value": "infra", "effect": "NoSchedule"}},
		"resources":    map[string]any{"requests": map[string]any{"cpu": "100m", "memory": "128Mi"}, "limits": map[string]any{"memory": "512Mi"}},
		"config":       map[string]any{"tolerationSeconds": 45, "spreadZones": false},
		"tls":          map[string]any{"secretName": "ha-tls", "caBundle": "Y2EtYnVuZGxl"},
	},
	"sidecar": map[string]any{
		"namespace":       "storage",
		"image":           map[string]any{"repository": "registry.example/ha/csi-sidecar", "tag": "e2e"},
		"failOverTimeout": "8s",
		"extraArgs":       []any{"--untaint-after=2m"},
		"resources":       map[string]any{"requests": map[string]any{"cpu": "20m", "memory": "64Mi"}, "limits": map[string]any{"memory": "256Mi"}},
	},
	"piraeus": map[string]any{"enabled": true, "linstorCluster": map[string]any{"name": "piraeus"}},
}

// helmValueSets are the sets every chart test renders.
var helmValueSets = []helmValueSet{
	{name: "defaults", release: helmRelease, namespace: "linstor-ha-system"},
	{name: "piraeus", release: helmRelease, namespace: "linstor-ha-system", values: map[string]any{"piraeus": map[string]any{"enabled": true}}},
	{name: "cert-manager", release: helmRelease, namespace: "linstor-ha-system", values: map[string]any{"certManager": map[string]any{"enabled": true}}},
	{name: "cert-manager issuer", release: helmRelease, namespace: "linstor-ha-system", values: map[string]any{"certManager": map[string]any{
		"enabled": true, "issuerRef": map[string]any{"name": "company-ca", "kind": "ClusterIssuer"}}}},
	{name: "custom", release: "ha", namespace: "storage-ha", values: customValues},
	{name: "own namespace", release: helmRelease, namespace: "default", values: map[string]any{"namespace": map[string]any{"name": "linstor-ha-system", "create": true}}},
	{name: "monitoring", release: helmRelease, namespace: "linstor-ha-system", values: map[string]any{"monitoring": map[string]any{"enabled": true}}},
	{name: "monitoring for kube-prometheus-stack", release: "ha", namespace: "storage-ha", values: map[string]any{"monitoring": map[string]any{
		"enabled": true, "labels": map[string]any{"release": "kps"}, "dashboard": map[string]any{"labels": map[string]any{"grafana_dashboard": "1", "team": "storage"}}}}},
	{name: "sidecar only", release: helmRelease, namespace: "linstor-ha-system", values: map[string]any{
		"crd": map[string]any{"enabled": false}, "scheduler": map[string]any{"enabled": false}, "webhook": map[string]any{"enabled": false}}},
	{name: "uninstalling", release: helmRelease, namespace: "linstor-ha-system", values: map[string]any{
		"piraeus": map[string]any{"enabled": true}, "sidecar": map[string]any{"enabled": false}, "webhook": map[string]any{"enabled": false}}},
}

func helmValueSetNamed(t testing.TB, name string) helmValueSet {
	t.Helper()
	for _, s := range helmValueSets {
		if s.name == name {
			return s
		}
	}
	t.Fatalf("no value set %q", name)
	return helmValueSet{}
}

// valuesFile writes the set's values for -f.
func (s helmValueSet) valuesFile(t testing.TB) string {
	t.Helper()
	raw, err := sigsyaml.Marshal(s.values)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(f, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// render is helm template of the chart with the set, as objects.
func (s helmValueSet) render(t *testing.T) []unstructured.Unstructured {
	t.Helper()
	out, err := runHelm(t, nil, "template", s.release, chartDir(), "--namespace", s.namespace, "--kube-version", helmKubeVersion, "-f", s.valuesFile(t))
	if err != nil {
		t.Fatal(err)
	}
	return decodeObjects(t, s.name, []byte(out))
}

func findObject(objs []unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for i := range objs {
		if objs[i].GetKind() == kind && objs[i].GetName() == name {
			return &objs[i]
		}
	}
	return nil
}

func mustObject(t *testing.T, objs []unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	o := findObject(objs, kind, name)
	if o == nil {
		var ids []string
		for _, o := range objs {
			ids = append(ids, objectID(o))
		}
		t.Fatalf("no %s %s among %v", kind, name, ids)
	}
	return o
}

func deployment(t *testing.T, objs []unstructured.Unstructured, name string) *appsv1.Deployment {
	t.Helper()
	var d appsv1.Deployment
	if err := runtimeFromUnstructured(mustObject(t, objs, "Deployment", name), &d); err != nil {
		t.Fatal(err)
	}
	return &d
}

// configFile parses a YAML file held in a ConfigMap.
func configFile(t *testing.T, objs []unstructured.Unstructured, name, key string) map[string]any {
	t.Helper()
	data, _, _ := unstructured.NestedString(mustObject(t, objs, "ConfigMap", name).Object, "data", key)
	var m map[string]any
	if err := sigsyaml.Unmarshal([]byte(data), &m); err != nil {
		t.Fatalf("ConfigMap %s, %s: %v", name, key, err)
	}
	return m
}

func releaseVersion(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(cluster.ManifestsDir(), "..", "VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(raw))
}

// TestHelmLint runs helm lint --strict on the chart with its default
// values and with each value set: no warning, the values schema holds.
func TestHelmLint(t *testing.T) {
	if out, err := runHelm(t, nil, "lint", "--strict", "--kube-version", helmKubeVersion, chartDir()); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, s := range helmValueSets {
		t.Run(s.name, func(t *testing.T) {
			if out, err := runHelm(t, nil, "lint", "--strict", "--kube-version", helmKubeVersion, "--namespace", s.namespace, "-f", s.valuesFile(t), chartDir()); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
		})
	}
}

// TestHelmRenderRejectsInvalidValues: values.schema.json refuses values
// of the wrong type or shape and keys the chart does not know.
func TestHelmRenderRejectsInvalidValues(t *testing.T) {
	for _, set := range []string{
		"scheduler.replicas=two",
		"sidecar.failOverTimeout=5",
		"webhook.replica=1",
		"scheduler.plugin.strict=maybe",
		"certManager.issuerRef.kind=ClusterIssuer",
		"webhook.tls.caBundle=not base64!",
	} {
		if _, err := runHelm(t, nil, "template", helmRelease, chartDir(), "--kube-version", helmKubeVersion, "--set", set); err == nil {
			t.Errorf("--set %s renders, want the schema to refuse it", set)
		}
	}
}

// TestHelmRenderDefaults: the default values give the three parts and the
// CRD in the release's namespace and the sidecar's rights in Piraeus',
// the images at the chart's appVersion (the VERSION file), no Namespace,
// no cert-manager objects, no LinstorCluster and a registration without a
// CA; every object carries Helm's labels.
func TestHelmRenderDefaults(t *testing.T) {
	objs := helmValueSetNamed(t, "defaults").render(t)
	version := releaseVersion(t)
	for _, o := range objs {
		switch o.GetKind() {
		case "Namespace", "Issuer", "Certificate", "LinstorCluster":
			t.Errorf("the defaults render %s", objectID(o))
		}
		labels := o.GetLabels()
		if labels["app.kubernetes.io/managed-by"] != "Helm" || labels["helm.sh/chart"] != "linstor-ha-"+version || labels["app.kubernetes.io/instance"] != helmRelease {
			t.Errorf("%s lacks Helm's labels: %v", objectID(o), labels)
		}
		if ns := o.GetNamespace(); ns != "" && ns != "linstor-ha-system" && ns != "piraeus-datastore" {
			t.Errorf("%s is in namespace %s", objectID(o), ns)
		}
	}
	for name, image := range map[string]string{"linstor-ha-scheduler": "scheduler", "linstor-ha-webhook": "webhook"} {
		d := deployment(t, objs, name)
		if got, want := d.Spec.Template.Spec.Containers[0].Image, "ghcr.io/linstor-ha/"+image+":"+version; got != want {
			t.Errorf("%s runs %s, want %s", name, got, want)
		}
		if *d.Spec.Replicas != 2 {
			t.Errorf("%s has %d replicas, want 2", name, *d.Spec.Replicas)
		}
	}
	mwc := mustObject(t, objs, "MutatingWebhookConfiguration", "linstor-ha")
	if ca, found, _ := unstructured.NestedFieldNoCopy(mwc.Object, "webhooks"); !found || strings.Contains(fmt.Sprint(ca), "caBundle") {
		t.Errorf("the registration has a caBundle without webhook.tls.caBundle")
	}
	crd := mustObject(t, objs, "CustomResourceDefinition", "replicareports.linstor-ha.io")
	if crd.GetAnnotations()["helm.sh/resource-policy"] != "keep" {
		t.Error("the CRD is not kept on uninstall")
	}
}

// TestHelmRenderPiraeus: the Piraeus switch renders the LinstorCluster
// of components/piraeus (HA controller off, the sidecar's pod template),
// kept on uninstall; with the sidecar switched off, as in the uninstall,
// it keeps the HA controller off and drops the sidecar.
func TestHelmRenderPiraeus(t *testing.T) {
	objs := helmValueSetNamed(t, "piraeus").render(t)
	lc := mustObject(t, objs, "LinstorCluster", "linstorcluster")
	if lc.GetAnnotations()["helm.sh/resource-policy"] != "keep" {
		t.Error("helm uninstall would delete the LinstorCluster")
	}
	if enabled, found, _ := unstructured.NestedBool(lc.Object, "spec", "highAvailabilityController", "enabled"); !found || enabled {
		t.Error("Piraeus' HA controller stays on")
	}
	raw, err := os.ReadFile(filepath.Join(cluster.ManifestsDir(), "sidecar", "csi-node-patch.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var plain map[string]any
	if err := sigsyaml.Unmarshal(raw, &plain); err != nil {
		t.Fatal(err)
	}
	want, _, _ := unstructured.NestedMap(plain, "spec", "template")
	got, _, _ := unstructured.NestedMap(lc.Object, "spec", "csiNode", "podTemplate")
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("the LinstorCluster's pod template differs from sidecar/csi-node-patch.yaml (-patch +chart):\n%s", d)
	}

	objs = helmValueSetNamed(t, "uninstalling").render(t)
	lc = mustObject(t, objs, "LinstorCluster", "linstorcluster")
	if enabled, found, _ := unstructured.NestedBool(lc.Object, "spec", "highAvailabilityController", "enabled"); !found || enabled {
		t.Error("without the sidecar, Piraeus' HA controller is switched on again before the taints are gone")
	}
	if _, found, _ := unstructured.NestedFieldNoCopy(lc.Object, "spec", "csiNode"); found {
		t.Error("without the sidecar, the LinstorCluster still adds it")
	}
	for _, o := range objs {
		if o.GetLabels()["app.kubernetes.io/component"] == "csi-sidecar" || o.GetKind() == "MutatingWebhookConfiguration" {
			t.Errorf("sidecar and webhook off render %s", objectID(o))
		}
	}
}

// TestHelmRenderCertManager: the cert-manager switch renders the Issuer
// and the Certificate for the webhook's Service, into the Secret its
// Deployment mounts, and CA injection; with an issuerRef, the Certificate
// uses it and no Issuer is rendered.
func TestHelmRenderCertManager(t *testing.T) {
	objs := helmValueSetNamed(t, "cert-manager").render(t)
	checkCertManager(t, objs)
	mustObject(t, objs, "Issuer", "linstor-ha-selfsigned")

	objs = helmValueSetNamed(t, "cert-manager issuer").render(t)
	checkCertManager(t, objs)
	if o := findObject(objs, "Issuer", "linstor-ha-selfsigned"); o != nil {
		t.Error("an issuerRef of the user's still renders the self-signed Issuer")
	}
	ref, _, _ := unstructured.NestedStringMap(mustObject(t, objs, "Certificate", "linstor-ha-webhook").Object, "spec", "issuerRef")
	if !reflect.DeepEqual(ref, map[string]string{"name": "company-ca", "kind": "ClusterIssuer"}) {
		t.Errorf("the Certificate's issuerRef is %v", ref)
	}
}

// TestHelmRenderMonitoring: the monitoring switch renders a PodMonitor per
// part with the node label, the alerts of the kustomize component as
// they are (Prometheus' templates untouched by Helm's), the dashboard for
// Grafana's sidecar, and the scraper account bound to the metrics reader
// that the chart renders; monitoring.labels reach the objects Prometheus
// selects.
func TestHelmRenderMonitoring(t *testing.T) {
	if objs := helmValueSetNamed(t, "defaults").render(t); findObject(objs, "PrometheusRule", "linstor-ha") != nil {
		t.Error("the defaults render a PrometheusRule; monitoring is off by default")
	}
	objs := helmValueSetNamed(t, "monitoring for kube-prometheus-stack").render(t)
	for _, part := range []string{"sidecar", "scheduler", "webhook"} {
		pm := mustObject(t, objs, "PodMonitor", "ha-linstor-ha-"+part)
		if pm.GetNamespace() != "storage-ha" || pm.GetLabels()["release"] != "kps" {
			t.Errorf("PodMonitor %s: namespace %q, labels %v", pm.GetName(), pm.GetNamespace(), pm.GetLabels())
		}
		eps, _, _ := unstructured.NestedSlice(pm.Object, "spec", "podMetricsEndpoints")
		if len(eps) != 1 {
			t.Fatalf("PodMonitor %s has %d endpoints", pm.GetName(), len(eps))
		}
		relabel := fmt.Sprint(eps[0].(map[string]any)["relabelings"])
		if !strings.Contains(relabel, "__meta_kubernetes_pod_node_name") || !strings.Contains(relabel, "linstor-ha-"+part) {
			t.Errorf("PodMonitor %s relabels %s, want job linstor-ha-%s and node", pm.GetName(), relabel, part)
		}
		if part != "sidecar" {
			secret, _, _ := unstructured.NestedString(eps[0].(map[string]any), "authorization", "credentials", "name")
			mustObject(t, objs, "Secret", secret)
		}
	}
	rule := mustObject(t, objs, "PrometheusRule", "ha-linstor-ha")
	raw, err := os.ReadFile(filepath.Join(cluster.ManifestsDir(), "components", "monitoring", "prometheusrule.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	if err := sigsyaml.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want["spec"], rule.Object["spec"]); d != "" {
		t.Errorf("the chart's alerts differ from the component's (-component +chart):\n%s", d)
	}
	if rule.GetLabels()["release"] != "kps" {
		t.Errorf("the PrometheusRule's labels %v lack monitoring.labels", rule.GetLabels())
	}
	cm := mustObject(t, objs, "ConfigMap", "ha-linstor-ha-dashboard")
	if l := cm.GetLabels(); l["grafana_dashboard"] != "1" || l["team"] != "storage" {
		t.Errorf("the dashboard's labels are %v", l)
	}
	dash, _, _ := unstructured.NestedString(cm.Object, "data", "linstor-ha.json")
	var parsed map[string]any
	if err := json.Unmarshal([]byte(dash), &parsed); err != nil || parsed["uid"] != "linstor-ha" {
		t.Errorf("the dashboard is not the component's JSON (uid %v): %v", parsed["uid"], err)
	}
	crb := mustObject(t, objs, "ClusterRoleBinding", "ha-linstor-ha-metrics-scraper")
	role, _, _ := unstructured.NestedString(crb.Object, "roleRef", "name")
	mustObject(t, objs, "ClusterRole", role)
}

// TestHelmRenderCustom: namespaces, images, replicas, resources, node
// selectors, tolerations, the sidecar's fail-over timeout, the webhook's
// toleration seconds and the scheduler's weights and strict land where
// the parts read them, and names follow the release.
func TestHelmRenderCustom(t *testing.T) {
	objs := helmValueSetNamed(t, "custom").render(t)
	for _, o := range objs {
		if ns := o.GetNamespace(); ns != "" && ns != "storage-ha" && ns != "storage" {
			t.Errorf("%s is in namespace %s", objectID(o), ns)
		}
		if !strings.HasPrefix(o.GetName(), "ha-linstor-ha") && !slices.Contains([]string{"CustomResourceDefinition", "LinstorCluster"}, o.GetKind()) {
			t.Errorf("%s is not named after the release", objectID(o))
		}
	}
	sched := deployment(t, objs, "ha-linstor-ha-scheduler")
	spec := sched.Spec.Template.Spec
	c := spec.Containers[0]
	if *sched.Spec.Replicas != 3 || c.Image != "registry.example/ha/scheduler:e2e" || c.ImagePullPolicy != corev1.PullAlways ||
		c.Resources.Limits.Memory().String() != "1Gi" || spec.NodeSelector["node-role.kubernetes.io/control-plane"] != "" || len(spec.NodeSelector) != 1 ||
		len(spec.Tolerations) != 1 || spec.Tolerations[0].Key != "node-role.kubernetes.io/control-plane" ||
		!slices.Contains(c.Args, "--v=4") || len(spec.ImagePullSecrets) != 1 || spec.ServiceAccountName != "ha-linstor-ha-scheduler" {
		t.Errorf("the scheduler's Deployment ignores values: %+v", spec)
	}
	cfg := configFile(t, objs, "ha-linstor-ha-scheduler", "scheduler-config.yaml")
	profile := cfg["profiles"].([]any)[0].(map[string]any)
	args := profile["pluginConfig"].([]any)[0].(map[string]any)["args"].(map[string]any)
	weight := profile["plugins"].(map[string]any)["multiPoint"].(map[string]any)["enabled"].([]any)[0].(map[string]any)["weight"]
	le := cfg["leaderElection"].(map[string]any)
	if profile["schedulerName"] != "ha-scheduler" || weight != float64(20) || args["strict"] != true || args["staleAfter"] != "30s" ||
		args["dataWeight"] != float64(12) || args["zoneWeight"] != float64(5) || args["disklessWeight"] != float64(1) ||
		le["resourceNamespace"] != "storage-ha" || le["resourceName"] != "ha-linstor-ha-scheduler" {
		t.Errorf("the scheduler's configuration ignores values: %v", cfg)
	}
	role := mustObject(t, objs, "Role", "ha-linstor-ha-scheduler:leader-election")
	if !strings.Contains(fmt.Sprint(role.Object["rules"]), "ha-linstor-ha-scheduler") {
		t.Errorf("the leader-election Role does not name the Lease of the configuration: %v", role.Object["rules"])
	}

	wh := deployment(t, objs, "ha-linstor-ha-webhook")
	spec = wh.Spec.Template.Spec
	c = spec.Containers[0]
	if *wh.Spec.Replicas != 3 || c.Image != "registry.example/ha/webhook:e2e" || c.Resources.Requests.Cpu().String() != "100m" ||
		spec.NodeSelector["kubernetes.io/os"] != "linux" || len(spec.Tolerations) != 1 || spec.Tolerations[0].Value != "infra" ||
		spec.Volumes[0].Secret == nil || spec.Volumes[0].Secret.SecretName != "ha-tls" {
		t.Errorf("the webhook's Deployment ignores values: %+v", spec)
	}
	whCfg := configFile(t, objs, "ha-linstor-ha-webhook", "webhook-config.yaml")
	if whCfg["tolerationSeconds"] != float64(45) || whCfg["spreadZones"] != false || whCfg["schedulerName"] != "ha-scheduler" {
		t.Errorf("the webhook's configuration ignores values: %v", whCfg)
	}
	mwc := mustObject(t, objs, "MutatingWebhookConfiguration", "ha-linstor-ha")
	hooks, _, _ := unstructured.NestedSlice(mwc.Object, "webhooks")
	cc := hooks[0].(map[string]any)["clientConfig"].(map[string]any)
	if cc["caBundle"] != "Y2EtYnVuZGxl" || cc["service"].(map[string]any)["namespace"] != "storage-ha" || cc["service"].(map[string]any)["name"] != "ha-linstor-ha-webhook" {
		t.Errorf("the registration ignores values: %v", cc)
	}

	lc := mustObject(t, objs, "LinstorCluster", "piraeus")
	containers, _, _ := unstructured.NestedSlice(lc.Object, "spec", "csiNode", "podTemplate", "spec", "containers")
	var sidecar corev1.Container
	if err := runtimeFromUnstructured(&unstructured.Unstructured{Object: containers[0].(map[string]any)}, &sidecar); err != nil {
		t.Fatal(err)
	}
	if sidecar.Image != "registry.example/ha/csi-sidecar:e2e" || !slices.Contains(sidecar.Args, "--fail-over-timeout=8s") ||
		!slices.Contains(sidecar.Args, "--untaint-after=2m") || sidecar.Resources.Limits.Memory().String() != "256Mi" {
		t.Errorf("the sidecar ignores values: %+v", sidecar)
	}
	for _, kind := range []string{"ClusterRoleBinding", "RoleBinding"} {
		name := "ha-linstor-ha-sidecar"
		if kind == "RoleBinding" {
			name += "-liveness"
		}
		b := mustObject(t, objs, kind, name)
		if s := fmt.Sprint(b.Object["subjects"]); !strings.Contains(s, "namespace:storage") || !strings.Contains(s, "linstor-csi-node") {
			t.Errorf("%s binds %s, want linstor-csi-node in storage", name, s)
		}
	}
	if ref, _, _ := unstructured.NestedString(mustObject(t, objs, "ValidatingAdmissionPolicyBinding", "ha-linstor-ha-sidecar-own-node").Object, "spec", "paramRef", "namespace"); ref != "storage" {
		t.Errorf("the report policy's param is in %q, want storage", ref)
	}
}

// TestHelmRenderParts: each part is a switch; the namespace switch
// renders the labelled Namespace.
func TestHelmRenderParts(t *testing.T) {
	objs := helmValueSetNamed(t, "sidecar only").render(t)
	for _, o := range objs {
		if o.GetLabels()["app.kubernetes.io/component"] != "csi-sidecar" {
			t.Errorf("only the sidecar on renders %s", objectID(o))
		}
	}
	if len(objs) != 6 {
		t.Errorf("the sidecar alone renders %d objects, want its 6", len(objs))
	}
	objs = helmValueSetNamed(t, "own namespace").render(t)
	ns := mustObject(t, objs, "Namespace", "linstor-ha-system")
	if ns.GetLabels()["linstor-ha.io/mutation"] != "disabled" {
		t.Error("the Namespace lacks linstor-ha.io/mutation: disabled")
	}
	if d := deployment(t, objs, "linstor-ha-webhook"); d.Namespace != "linstor-ha-system" {
		t.Errorf("the webhook is in %s, want namespace.name", d.Namespace)
	}
}

// Normalisation of the chart's objects for the comparison with kustomize.
// The chart adds what Helm's conventions want and kustomize has no use
// for; everything else must be equal, field by field:
//   - the labels helm.sh/chart, app.kubernetes.io/managed-by,
//     app.kubernetes.io/instance and app.kubernetes.io/version, wherever
//     labels are (metadata, pod templates, selectors): they name the
//     release, which kustomize does not have; instance in selectors keeps
//     two releases' pods apart;
//   - app.kubernetes.io/name and app.kubernetes.io/part-of where the
//     kustomize object has no such label (Helm wants them on every
//     object; a value the kustomize object has must be the same);
//   - the annotations helm.sh/resource-policy (Helm keeps the CRD and the
//     LinstorCluster on uninstall) and checksum/* (a changed
//     configuration rolls the pods);
//   - the YAML files in ConfigMaps are compared parsed: the comments
//     differ;
//   - CEL expressions (expression, messageExpression) are compared with
//     runs of white space as one space: kustomize re-emits the folded
//     scalars of report-policy.yaml with an extra line break, which CEL
//     ignores.
var (
	helmOnlyLabels      = []string{"helm.sh/chart", "app.kubernetes.io/managed-by", "app.kubernetes.io/instance", "app.kubernetes.io/version"}
	helmDefaultedLabels = []string{"app.kubernetes.io/name", "app.kubernetes.io/part-of"}
)

// normaliseChart removes from chart (a value of the chart's object) what
// the chart adds at the same place of kust (the kustomize object's).
func normaliseChart(chart, kust any) {
	switch c := chart.(type) {
	case map[string]any:
		k, _ := kust.(map[string]any)
		for _, l := range helmOnlyLabels {
			delete(c, l)
		}
		for _, l := range helmDefaultedLabels {
			if _, ok := k[l]; !ok {
				delete(c, l)
			}
		}
		for key := range c {
			if key == "helm.sh/resource-policy" || strings.HasPrefix(key, "checksum/") {
				delete(c, key)
			}
		}
		for key, v := range c {
			normaliseChart(v, k[key])
			if m, ok := v.(map[string]any); ok && len(m) == 0 && (key == "labels" || key == "annotations") {
				if _, ok := k[key]; !ok {
					delete(c, key)
				}
			}
		}
	case []any:
		k, _ := kust.([]any)
		for i, v := range c {
			var kv any
			if i < len(k) {
				kv = k[i]
			}
			normaliseChart(v, kv)
		}
	}
}

// parseConfigFiles replaces YAML files in a ConfigMap with their content.
func parseConfigFiles(t *testing.T, o *unstructured.Unstructured) {
	t.Helper()
	if o.GetKind() != "ConfigMap" {
		return
	}
	data, _, _ := unstructured.NestedStringMap(o.Object, "data")
	for key, v := range data {
		if !strings.HasSuffix(key, ".yaml") {
			continue
		}
		var parsed any
		if err := sigsyaml.Unmarshal([]byte(v), &parsed); err != nil {
			t.Fatalf("%s: %s: %v", objectID(*o), key, err)
		}
		o.Object["data"].(map[string]any)[key] = parsed
	}
}

// squeezeCEL collapses white space in the CEL expressions below v.
func squeezeCEL(v any) {
	switch x := v.(type) {
	case map[string]any:
		for key, e := range x {
			if s, ok := e.(string); ok && (key == "expression" || key == "messageExpression") {
				x[key] = strings.Join(strings.Fields(s), " ")
				continue
			}
			squeezeCEL(e)
		}
	case []any:
		for _, e := range x {
			squeezeCEL(e)
		}
	}
}

// compareWithKustomize fails for every object only one side renders and
// for every difference of the others after normalisation.
func compareWithKustomize(t *testing.T, kust, chart []unstructured.Unstructured, skip func(unstructured.Unstructured) bool) {
	t.Helper()
	byID := map[string]*unstructured.Unstructured{}
	for i := range kust {
		if skip != nil && skip(kust[i]) {
			continue
		}
		byID[objectID(kust[i])] = &kust[i]
	}
	seen := map[string]bool{}
	for i := range chart {
		c := chart[i].DeepCopy()
		id := objectID(*c)
		k, ok := byID[id]
		if !ok {
			t.Errorf("the chart renders %s, kustomize does not", id)
			continue
		}
		seen[id] = true
		k = k.DeepCopy()
		normaliseChart(c.Object, k.Object)
		parseConfigFiles(t, c)
		parseConfigFiles(t, k)
		squeezeCEL(c.Object)
		squeezeCEL(k.Object)
		if d := cmp.Diff(k.Object, c.Object); d != "" {
			t.Errorf("%s differs (-kustomize +chart):\n%s", id, d)
		}
	}
	for id := range byID {
		if !seen[id] {
			t.Errorf("kustomize renders %s, the chart does not", id)
		}
	}
}

// kustomize renders a kustomization with the test bed's kubectl, as
// test/cluster does, without a cluster.
func kustomize(t *testing.T, dir string) []unstructured.Unstructured {
	t.Helper()
	tools, err := cluster.EnsureTools(context.Background(), os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(filepath.Join(tools, "kubectl"), "kustomize", dir).Output()
	if err != nil {
		t.Fatalf("kubectl kustomize %s: %v", dir, err)
	}
	return decodeObjects(t, dir, out)
}

// TestHelmMatchesKustomize: with the default values and the release name
// linstor-ha the chart renders the objects of manifests/, with the
// cert-manager switch those of overlays/cert-manager, and with the
// Piraeus switch too those of manifests/ with both components and a
// LinstorCluster named linstorcluster: the same kinds, names and
// namespaces, RBAC rules, registration and containers, object by object
// (see normaliseChart for what may differ). manifests/ holds linstor-ha's
// Namespace, which Helm creates for the release (kubectl create namespace
// or --create-namespace): it is compared with the chart's
// namespace.create rendering.
func TestHelmMatchesKustomize(t *testing.T) {
	m := cluster.ManifestsDir()
	isNamespace := func(o unstructured.Unstructured) bool { return o.GetKind() == "Namespace" }
	t.Run("defaults", func(t *testing.T) {
		kust := kustomize(t, m)
		compareWithKustomize(t, kust, helmValueSetNamed(t, "defaults").render(t), isNamespace)
		var chartNS []unstructured.Unstructured
		for _, o := range helmValueSetNamed(t, "own namespace").render(t) {
			if isNamespace(o) {
				chartNS = append(chartNS, o)
			}
		}
		var kustNS []unstructured.Unstructured
		for _, o := range kust {
			if isNamespace(o) {
				kustNS = append(kustNS, o)
			}
		}
		compareWithKustomize(t, kustNS, chartNS, nil)
	})
	t.Run("cert-manager", func(t *testing.T) {
		compareWithKustomize(t, kustomize(t, filepath.Join(m, "overlays", "cert-manager")),
			helmValueSet{name: "cert-manager", release: helmRelease, namespace: "linstor-ha-system", values: map[string]any{
				"certManager": map[string]any{"enabled": true}}}.render(t), isNamespace)
	})
	t.Run("monitoring", func(t *testing.T) {
		dir := t.TempDir()
		if err := cluster.WriteKustomization(dir, map[string]any{
			"resources":  []string{m},
			"components": []string{filepath.Join(m, "components", "monitoring")},
		}); err != nil {
			t.Fatal(err)
		}
		compareWithKustomize(t, kustomize(t, dir), helmValueSetNamed(t, "monitoring").render(t), isNamespace)
	})
	t.Run("piraeus and cert-manager", func(t *testing.T) {
		compareWithKustomize(t, kustomize(t, composedKustomization(t)),
			helmValueSet{name: "piraeus and cert-manager", release: helmRelease, namespace: "linstor-ha-system", values: map[string]any{
				"certManager": map[string]any{"enabled": true}, "piraeus": map[string]any{"enabled": true}}}.render(t), isNamespace)
	})
}

// deleteReplicaReportCRD deletes the ReplicaReport CRD as MIGRATION.md's
// uninstall says: the reports, then the CRD, and, when the API server's
// cleanup of the instances failed and backs off (it lists them from a watch
// cache that a CRD update re-initialises, and a failure there can hold the
// CRD Terminating for minutes), an annotation that queues the cleanup again.
func deleteReplicaReportCRD(t *testing.T, c *cluster.Cluster, dyn dynamic.Interface) {
	t.Helper()
	const name = "replicareports.linstor-ha.io"
	kubectl(t, c, "delete", "replicareports", "--all")
	kubectl(t, c, "delete", "crd", name, "--wait=false")
	crds := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	retries := 0
	waitFor(t, time.Minute, "the ReplicaReport CRD to be gone", func(ctx context.Context) (bool, error) {
		crd, err := dyn.Resource(crds).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		if err != nil {
			return false, nil
		}
		conditions, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
		for _, c := range conditions {
			m, _ := c.(map[string]any)
			if m["type"] == "Terminating" && m["reason"] == "InstanceDeletionFailed" {
				retries++
				t.Logf("the CRD's cleanup failed (%v); queueing it again", m["message"])
				annotations := crd.GetAnnotations()
				if annotations == nil {
					annotations = map[string]string{}
				}
				annotations["linstor-ha.io/retry-cleanup"] = fmt.Sprint(retries)
				crd.SetAnnotations(annotations)
				if _, err := dyn.Resource(crds).Update(ctx, crd, metav1.UpdateOptions{}); err != nil {
					t.Logf("Failed to annotate the CRD: %v", err)
				}
				time.Sleep(time.Second)
			}
		}
		return false, nil
	})
}

// TestHelmInstallServerSide applies the chart's rendering for each value
// set server-side, with strict field validation, to a test cluster's
// kube-apiserver, on Piraeus' real CRDs; cert-manager's kinds, which test
// clusters do not serve, and the Prometheus operator's are checked as
// rendered (TestHelmRenderCertManager, TestHelmRenderMonitoring).
// It then installs, upgrades through the uninstall's steps and uninstalls
// a release with helm itself: helm takes over the user's LinstorCluster
// and keeps its other fields, and the uninstall leaves that object and,
// until its own step, the CRD.
func TestHelmInstallServerSide(t *testing.T) {
	helmBinary(t)
	c := startCluster(t, cluster.Options{})
	ctx := context.Background()
	kubectl(t, c, "apply", "--server-side", "-f", filepath.Join(cluster.PiraeusDir(), "crd"))
	kubectl(t, c, "wait", "--for=condition=Established", "--timeout=60s", "crd/linstorclusters.piraeus.io")
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	dyn := dynamic.NewForConfigOrDie(cfg)

	t.Run("helm install upgrade uninstall", func(t *testing.T) {
		namespace(t, c, "piraeus-datastore")
		namespace(t, c, "linstor-ha-system")
		// The user's LinstorCluster, with a patch of their own.
		lcFile := filepath.Join(t.TempDir(), "linstorcluster.yaml")
		writeFile(t, lcFile, strings.Replace(userLinstorClusterYAML, "name: "+userLinstorCluster, "name: linstorcluster", 1))
		kubectl(t, c, "apply", "--server-side", "-f", lcFile)
		env := []string{"KUBECONFIG=" + c.Kubeconfig}
		out, err := runHelm(t, env, "install", helmRelease, chartDir(), "--namespace", "linstor-ha-system", "--take-ownership", "--set", "piraeus.enabled=true")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, "Check that it works") {
			t.Errorf("helm install prints no notes on how to check the install:\n%s", out)
		}
		lc, err := dyn.Resource(linstorClusters).Get(ctx, "linstorcluster", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		patches, _, _ := unstructured.NestedSlice(lc.Object, "spec", "patches")
		containers, _, _ := unstructured.NestedSlice(lc.Object, "spec", "csiNode", "podTemplate", "spec", "containers")
		if len(patches) != 1 || len(containers) != 1 {
			t.Errorf("after helm install the LinstorCluster has %d patches and %d containers, want the user's patch and the sidecar", len(patches), len(containers))
		}
		// The uninstall's first steps: the registration, then the sidecar.
		if _, err := runHelm(t, env, "upgrade", helmRelease, chartDir(), "--namespace", "linstor-ha-system", "--reuse-values", "--set", "webhook.enabled=false"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, "linstor-ha", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("the registration after webhook.enabled=false: %v", err)
		}
		if _, err := runHelm(t, env, "upgrade", helmRelease, chartDir(), "--namespace", "linstor-ha-system", "--reuse-values", "--set", "sidecar.enabled=false"); err != nil {
			t.Fatal(err)
		}
		lc, err = dyn.Resource(linstorClusters).Get(ctx, "linstorcluster", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		patches, _, _ = unstructured.NestedSlice(lc.Object, "spec", "patches")
		_, hasCSINode, _ := unstructured.NestedFieldNoCopy(lc.Object, "spec", "csiNode", "podTemplate")
		enabled, _, _ := unstructured.NestedBool(lc.Object, "spec", "highAvailabilityController", "enabled")
		if len(patches) != 1 || hasCSINode || enabled {
			t.Errorf("after sidecar.enabled=false the LinstorCluster has %d patches, podTemplate %v, HA controller %v; want the user's patch, no sidecar, HA controller off", len(patches), hasCSINode, enabled)
		}
		if _, err := runHelm(t, env, "uninstall", helmRelease, "--namespace", "linstor-ha-system"); err != nil {
			t.Fatal(err)
		}
		if _, err := dyn.Resource(linstorClusters).Get(ctx, "linstorcluster", metav1.GetOptions{}); err != nil {
			t.Errorf("helm uninstall removed the user's LinstorCluster: %v", err)
		}
		if _, err := c.Client.AppsV1().Deployments("linstor-ha-system").Get(ctx, "linstor-ha-scheduler", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("the scheduler after helm uninstall: %v", err)
		}
		kubectl(t, c, "get", "crd", "replicareports.linstor-ha.io")
		deleteReplicaReportCRD(t, c, dyn)
		kubectl(t, c, "delete", "-f", lcFile)
	})

	for _, s := range helmValueSets {
		t.Run("apply "+s.name, func(t *testing.T) {
			var served []string
			for _, o := range s.render(t) {
				if g := o.GroupVersionKind().Group; g == "cert-manager.io" || g == "monitoring.coreos.com" {
					continue
				}
				raw, err := sigsyaml.Marshal(o.Object)
				if err != nil {
					t.Fatal(err)
				}
				served = append(served, string(raw))
			}
			// Helm creates the release's namespace; the sidecar's is
			// Piraeus'.
			for _, ns := range []string{s.namespace, "storage", "storage-ha"} {
				if _, err := c.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); apierrors.IsNotFound(err) {
					namespace(t, c, ns)
				}
			}
			file := filepath.Join(t.TempDir(), "rendered.yaml")
			writeFile(t, file, "---\n"+strings.Join(served, "---\n"))
			kubectl(t, c, "apply", "--server-side", "--field-manager=helm-chart-test", "--validate=strict", "-f", file)
		})
	}
	if _, err := c.Client.AppsV1().Deployments("storage-ha").Get(ctx, "ha-linstor-ha-webhook", metav1.GetOptions{}); err != nil {
		t.Errorf("the custom set's webhook is not stored: %v", err)
	}
}
