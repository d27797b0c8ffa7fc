package cluster

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/linstor-ha/linstor-ha/pkg/restconfig"
)

func TestExpandEnvRefs(t *testing.T) {
	env := map[string]string{"NODE": "node-a1", "EMPTY": ""}
	for in, want := range map[string]string{
		"--node=$(NODE)":      "--node=node-a1",
		"$(NODE)/$(NODE)":     "node-a1/node-a1",
		"--x=$(UNSET)":        "--x=$(UNSET)",
		"--x=$$(NODE)":        "--x=$(NODE)",
		"--x=$(EMPTY)y":       "--x=y",
		"--x=$(NODE":          "--x=$(NODE",
		"plain":               "plain",
		"--price=$5 and $$$$": "--price=$5 and $$",
	} {
		if got := expandEnvRefs(in, env); got != want {
			t.Errorf("expandEnvRefs(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEnvValue(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}, Spec: corev1.PodSpec{NodeName: "node-b1"}}
	field := func(name, path string) corev1.EnvVar {
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}}
	}
	before := map[string]string{"NODE_NAME": "node-b1"}
	for _, tc := range []struct {
		env  corev1.EnvVar
		want string
	}{
		{field("NODE_NAME", "spec.nodeName"), "node-b1"},
		{field("POD_NAMESPACE", "metadata.namespace"), "ns"},
		{corev1.EnvVar{Name: "A", Value: "on $(NODE_NAME)"}, "on node-b1"},
	} {
		got, err := envValue(pod, tc.env, before)
		if err != nil || got != tc.want {
			t.Errorf("envValue(%s) = %q, %v; want %q", tc.env.Name, got, err, tc.want)
		}
	}
	for _, bad := range []corev1.EnvVar{
		field("X", "status.podIP"),
		{Name: "S", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{Key: "k"}}},
	} {
		if _, err := envValue(pod, bad, before); err == nil {
			t.Errorf("envValue(%s) resolved what the harness does not provide", bad.Name)
		}
	}
}

// The stand-in CSI node pod is Piraeus' as far as the sidecar sees it,
// with the integration's podTemplate merged in as the operator merges it:
// the CSI plugin stays, and only the sidecar gets a token.
func TestCSINodePodTemplate(t *testing.T) {
	c := &Cluster{sidecarSA: "linstor-csi-node"}
	tmpl, err := c.csiNodePodTemplate()
	if err != nil {
		t.Fatal(err)
	}
	spec := tmpl.Spec
	if spec.ServiceAccountName != "linstor-csi-node" || spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Errorf("account %q, automount %v; want linstor-csi-node without automount", spec.ServiceAccountName, spec.AutomountServiceAccountToken)
	}
	var names []string
	for _, ctr := range spec.Containers {
		names = append(names, ctr.Name)
		if mountsAt(ctr.VolumeMounts, restconfig.ServiceAccountDir) != (ctr.Name == sidecarContainer) {
			t.Errorf("container %s: token mount %v", ctr.Name, mountsAt(ctr.VolumeMounts, restconfig.ServiceAccountDir))
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"linstor-csi", sidecarContainer}) {
		t.Errorf("containers %v, want the CSI plugin and the sidecar", names)
	}
	if v := podVolume(&corev1.Pod{Spec: spec}, "plugin-dir"); v == nil || v.HostPath == nil {
		t.Error("the CSI socket's directory is gone")
	}
}

func TestWriteKustomizationRelativizes(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "user")
	if err := WriteKustomization(dir, map[string]any{
		"namespace":  "storage",
		"resources":  []string{filepath.Join(root, "manifests", "sidecar"), "linstorcluster.yaml"},
		"components": []string{filepath.Join(root, "manifests", "components", "piraeus")},
	}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		APIVersion string   `json:"apiVersion"`
		Kind       string   `json:"kind"`
		Namespace  string   `json:"namespace"`
		Resources  []string `json:"resources"`
		Components []string `json:"components"`
	}
	if err := yaml.UnmarshalStrict(raw, &k); err != nil {
		t.Fatal(err)
	}
	if k.Kind != "Kustomization" || k.Namespace != "storage" ||
		!slices.Equal(k.Resources, []string{"../manifests/sidecar", "linstorcluster.yaml"}) ||
		!slices.Equal(k.Components, []string{"../manifests/components/piraeus"}) {
		t.Errorf("kustomization.yaml:\n%s", raw)
	}
	if strings.Contains(string(raw), root) {
		t.Errorf("an absolute path is left:\n%s", raw)
	}
}
