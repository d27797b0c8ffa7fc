package cluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// Tool names, as test/tools/build.sh writes them.
const (
	toolEtcd       = "etcd"
	toolAPIServer  = "kube-apiserver"
	toolController = "kube-controller-manager"
	toolScheduler  = "kube-scheduler"
	toolKwok       = "kwok"
	toolAttacher   = "csi-attacher"
	toolKubectl    = "kubectl"
)

// EnsureTools returns the directory of the upstream programs, building them
// first when the cache does not hold a complete build (about 12 minutes on
// two cores). progress receives the build's output; nil discards it.
func EnsureTools(ctx context.Context, progress *os.File) (string, error) {
	if dir := os.Getenv("LINSTOR_HA_TOOLS"); dir != "" {
		return dir, nil
	}
	script := filepath.Join(sourceDir(), "..", "tools", "build.sh")
	cmd := exec.CommandContext(ctx, "bash", script)
	cmd.Stderr = progress
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("failed to build the upstream tools with %s: %w", script, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// sourceDir is this package's directory in the source tree.
func sourceDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

func toolPath(dir, name string) (string, error) {
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("tool %s missing in %s (rebuild with test/tools/build.sh): %w", name, dir, err)
	}
	return p, nil
}
