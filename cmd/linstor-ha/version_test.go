package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/linstor-ha/linstor-ha/pkg/version"
)

func TestVersion(t *testing.T) {
	defer func(v, c string) { version.Version, version.Commit = v, c }(version.Version, version.Commit)
	version.Version, version.Commit = "0.1.0", "abc123"
	for _, arg := range []string{"version", "--version"} {
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), []string{arg}, &stdout, &stderr); err != nil {
			t.Errorf("%s: %v", arg, err)
		}
		if got, want := stdout.String(), "linstor-ha v0.1.0 (commit abc123, "; !strings.HasPrefix(got, want) {
			t.Errorf("%s printed %q, want %q...", arg, got, want)
		}
	}
}
