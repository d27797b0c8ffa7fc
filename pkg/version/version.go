// Package version holds the version every binary reports. `make build` and
// the Dockerfile stamp it with
//
//	-ldflags "-X github.com/linstor-ha/linstor-ha/pkg/version.Version=0.1.0
//	          -X github.com/linstor-ha/linstor-ha/pkg/version.Commit=abc123"
//
// Version is the VERSION file at the repository root, as it is at a
// release's tag; any other build appends -g<commit>, and -dirty for a tree
// with uncommitted changes (see the Makefile).
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Version is the release of this build, without a leading "v" ("0.1.0",
// the image tag); "dev" for an unstamped build.
var Version = "dev"

// Commit is the git commit the build was made from; empty when not
// stamped, in which case Get falls back to what the Go toolchain recorded.
var Commit = ""

// Info describes this build.
type Info struct {
	// Version is Version, or the module's version for a `go install
	// ...@vX.Y.Z` build that was not stamped.
	Version string
	// Commit is the git commit, "unknown" when nothing recorded it.
	Commit string
	// GoVersion is the Go release the binary was built with.
	GoVersion string
	// Platform is GOOS/GOARCH.
	Platform string
}

// Get returns this build's information.
func Get() Info {
	info := Info{Version: Version, Commit: Commit, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	bi, ok := debug.ReadBuildInfo()
	if ok && info.Version == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		info.Version = strings.TrimPrefix(bi.Main.Version, "v")
	}
	if ok && info.Commit == "" {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				info.Commit = s.Value
			}
		}
	}
	if len(info.Commit) > 12 {
		info.Commit = info.Commit[:12]
	}
	if info.Commit == "" {
		info.Commit = "unknown"
	}
	return info
}

// Line is what --version prints for program, e.g.
// "csi-sidecar v0.1.0 (commit abc123, go1.26.8, linux/amd64)".
func (i Info) Line(program string) string {
	v := i.Version
	if v != "" && v[0] >= '0' && v[0] <= '9' {
		v = "v" + v
	}
	return fmt.Sprintf("%s %s (commit %s, %s, %s)", program, v, i.Commit, i.GoVersion, i.Platform)
}
