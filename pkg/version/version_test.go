package version

import (
	"runtime"
	"testing"
)

func TestLine(t *testing.T) {
	for _, tc := range []struct{ version, want string }{
		{"0.1.0", "csi-sidecar v0.1.0 (commit abc123, go1.26.8, linux/amd64)"},
		{"0.1.0-gabc123-dirty", "csi-sidecar v0.1.0-gabc123-dirty (commit abc123, go1.26.8, linux/amd64)"},
		{"dev", "csi-sidecar dev (commit abc123, go1.26.8, linux/amd64)"},
	} {
		i := Info{Version: tc.version, Commit: "abc123", GoVersion: "go1.26.8", Platform: "linux/amd64"}
		if got := i.Line("csi-sidecar"); got != tc.want {
			t.Errorf("Line of %s = %q, want %q", tc.version, got, tc.want)
		}
	}
}

func TestGetStamped(t *testing.T) {
	defer func(v, c string) { Version, Commit = v, c }(Version, Commit)
	Version, Commit = "0.1.0", "0123456789abcdef"
	i := Get()
	if i.Version != "0.1.0" || i.Commit != "0123456789ab" || i.GoVersion != runtime.Version() || i.Platform != runtime.GOOS+"/"+runtime.GOARCH {
		t.Errorf("Get() = %+v, want version 0.1.0, commit 0123456789ab, this Go and platform", i)
	}
}
