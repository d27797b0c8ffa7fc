package chaos

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCopyFromKeepsOnlyWhatATrialWrote(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "kube-controller-manager.log")
	if err := os.WriteFile(src, []byte("earlier trials\nthis trial\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		offset int64
		want   string
	}{
		{"from the trial's start", int64(len("earlier trials\n")), "this trial\n"},
		{"a log rewritten since the trial started is kept whole", 1 << 20, "earlier trials\nthis trial\n"},
		{"a log new in the trial is kept whole", 0, "earlier trials\nthis trial\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := filepath.Join(dir, "kept.log")
			if err := copyFrom(src, tc.offset, dst); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(dst)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("kept %q, want %q", got, tc.want)
			}
		})
	}
	if err := copyFrom(filepath.Join(dir, "missing.log"), 0, filepath.Join(dir, "x")); err == nil {
		t.Error("copying a missing log succeeded")
	}
}
