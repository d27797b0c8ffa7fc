package cluster

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
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
