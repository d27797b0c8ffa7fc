package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// PiraeusDir holds the objects of a real Piraeus operator v2 install: the
// templates the operator renders (operator/) and its CRDs (crd/). It is
// $LINSTOR_HA_PIRAEUS_DIR, or test/testdata/piraeus of the repository.
func PiraeusDir() string {
	if d := os.Getenv("LINSTOR_HA_PIRAEUS_DIR"); d != "" {
		return d
	}
	return filepath.Join(sourceDir(), "..", "testdata", "piraeus")
}

// WriteKustomization writes k as dir/kustomization.yaml; absolute paths
// among its resources and components become relative to dir, as
// kustomize wants them.
func WriteKustomization(dir string, k map[string]any) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	out := map[string]any{"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization"}
	for key, v := range k {
		if paths, ok := v.([]string); ok && (key == "resources" || key == "components") {
			rel := make([]string, len(paths))
			for i, p := range paths {
				rel[i] = p
				if filepath.IsAbs(p) {
					r, err := filepath.Rel(dir, p)
					if err != nil {
						return err
					}
					rel[i] = r
				}
			}
			v = rel
		}
		out[key] = v
	}
	raw, err := yaml.Marshal(out)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "kustomization.yaml"), raw, 0o644)
}

// Kubectl runs the upstream kubectl as cluster admin and returns its
// output.
func (c *Cluster) Kubectl(ctx context.Context, args ...string) ([]byte, error) {
	kubectl, err := toolPath(c.tools, toolKubectl)
	if err != nil {
		return nil, err
	}
	out, err := exec.CommandContext(ctx, kubectl, append([]string{"--kubeconfig", c.Kubeconfig}, args...)...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("kubectl %v: %w: %s", args, err, out)
	}
	return out, nil
}

// RenderPiraeus renders the CSI node and HA controller objects of a
// LinstorCluster into namespace as the Piraeus operator v2 does: kustomize
// over the operator's templates (PiraeusDir()/operator) with the
// operator's labels, the component's podTemplate as a strategic-merge
// patch of its workload, then every entry of spec.patches. A component
// that the LinstorCluster disables is not rendered at all; the operator
// prunes what it rendered before.
func (c *Cluster) RenderPiraeus(ctx context.Context, lc *unstructured.Unstructured, namespace string) ([]byte, error) {
	dir, err := os.MkdirTemp(c.Dir, "piraeus-render-")
	if err != nil {
		return nil, err
	}
	type component struct {
		field string
		kind  string
		name  string
		files []string
	}
	var resources []string
	var patches []any
	for _, comp := range []component{
		{"csiNode", "DaemonSet", "linstor-csi-node", []string{"csi-node-daemonset.yaml", "csi-node-serviceaccount.yaml"}},
		{"highAvailabilityController", "DaemonSet", "ha-controller", []string{"ha-controller-daemonset.yaml", "ha-controller-rbac.yaml"}},
	} {
		if enabled, found, _ := unstructured.NestedBool(lc.Object, "spec", comp.field, "enabled"); found && !enabled {
			continue
		}
		for _, f := range comp.files {
			raw, err := os.ReadFile(filepath.Join(PiraeusDir(), "operator", f))
			if err != nil {
				return nil, err
			}
			if err := os.WriteFile(filepath.Join(dir, f), raw, 0o644); err != nil {
				return nil, err
			}
			resources = append(resources, f)
		}
		tmpl, found, err := unstructured.NestedMap(lc.Object, "spec", comp.field, "podTemplate")
		if err != nil {
			return nil, err
		}
		if found {
			patch, err := json.Marshal(map[string]any{
				"apiVersion": "apps/v1", "kind": comp.kind,
				"metadata": map[string]any{"name": comp.name},
				"spec":     map[string]any{"template": tmpl},
			})
			if err != nil {
				return nil, err
			}
			patches = append(patches, map[string]any{
				"target": map[string]any{"kind": comp.kind, "name": comp.name},
				"patch":  string(patch),
			})
		}
	}
	userPatches, _, err := unstructured.NestedSlice(lc.Object, "spec", "patches")
	if err != nil {
		return nil, err
	}
	patches = append(patches, userPatches...)
	k := map[string]any{
		"namespace": namespace,
		"labels": []any{map[string]any{
			"pairs":            map[string]any{"app.kubernetes.io/name": "piraeus-datastore", "app.kubernetes.io/instance": lc.GetName()},
			"includeSelectors": true,
			"includeTemplates": true,
		}},
		"resources": resources,
		"patches":   patches,
	}
	if err := WriteKustomization(dir, k); err != nil {
		return nil, err
	}
	return c.Kustomize(ctx, dir)
}

// Shell runs a bash script with the test bed's kubectl first on PATH and
// KUBECONFIG set to the cluster admin's, as someone following the docs
// would run their commands.
func (c *Cluster) Shell(ctx context.Context, script string, env ...string) ([]byte, error) {
	if _, err := toolPath(c.tools, toolKubectl); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
	cmd.Env = append(os.Environ(), append([]string{"PATH=" + c.tools + string(os.PathListSeparator) + os.Getenv("PATH"), "KUBECONFIG=" + c.Kubeconfig}, env...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("bash: %w: %s", err, out)
	}
	return out, nil
}
