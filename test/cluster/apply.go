package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// ManifestsDir is the repository's manifests directory.
func ManifestsDir() string { return filepath.Join(sourceDir(), "..", "..", "manifests") }

// Apply applies manifest files with the upstream kubectl, as an operator
// would.
func (c *Cluster) Apply(ctx context.Context, files ...string) error {
	kubectl, err := toolPath(c.tools, toolKubectl)
	if err != nil {
		return err
	}
	args := []string{"--kubeconfig", c.Kubeconfig, "apply", "--server-side", "--force-conflicts"}
	for _, f := range files {
		args = append(args, "-f", f)
	}
	out, err := exec.CommandContext(ctx, kubectl, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("failed to apply %v: %w: %s", files, err, out)
	}
	return nil
}

// Kustomize renders a kustomization directory with the upstream kubectl.
func (c *Cluster) Kustomize(ctx context.Context, dir string) ([]byte, error) {
	kubectl, err := toolPath(c.tools, toolKubectl)
	if err != nil {
		return nil, err
	}
	out, err := exec.CommandContext(ctx, kubectl, "kustomize", dir).Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return nil, fmt.Errorf("failed to render %s: %w: %s", dir, err, exit.Stderr)
		}
		return nil, fmt.Errorf("failed to render %s: %w", dir, err)
	}
	return out, nil
}

// component is what a linstor-ha Deployment gets from its manifests, for
// running its binary here as its pod would run.
type component struct {
	// config is the component's ConfigMap.
	config corev1.ConfigMap
	// dir holds the files the harness writes for it.
	dir string
	// kubeconfig authenticates as its service account.
	kubeconfig string
}

// deployComponent applies the namespace of the base and
// manifests/<part>/rbac.yaml and config.yaml, and
// returns the ConfigMap and a kubeconfig for the service account
// linstor-ha-<part> in the ConfigMap's namespace.
func (c *Cluster) deployComponent(ctx context.Context, part string) (*component, error) {
	dir := filepath.Join(ManifestsDir(), part)
	if err := c.Apply(ctx, filepath.Join(ManifestsDir(), "base", "namespace.yaml"), filepath.Join(dir, "rbac.yaml"), filepath.Join(dir, "config.yaml")); err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(filepath.Join(dir, "config.yaml"))
	if err != nil {
		return nil, err
	}
	comp := &component{dir: filepath.Join(c.Dir, "linstor-ha-"+part)}
	if err := yaml.UnmarshalStrict(raw, &comp.config); err != nil {
		return nil, fmt.Errorf("failed to read the %s's ConfigMap: %w", part, err)
	}
	if err := os.MkdirAll(comp.dir, 0o755); err != nil {
		return nil, err
	}
	comp.kubeconfig = filepath.Join(comp.dir, "kubeconfig")
	if err := c.tokenKubeconfig(ctx, comp.config.Namespace, "linstor-ha-"+part, c.cp.apiURL(), nil, comp.kubeconfig); err != nil {
		return nil, err
	}
	return comp, nil
}
