package drbdsetup_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/linstor-ha/linstor-ha/pkg/drbd/drbdsetup"
)

// fakeCommand writes a drbdsetup that records its arguments, one a line, in
// the file args next to it and then runs body.
func fakeCommand(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	script := "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$(dirname \"$0\")/args\"\n" + body + "\n"
	path := filepath.Join(dir, "drbdsetup")
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func recordedArgs(t *testing.T, bin string) ([]string, bool) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(filepath.Dir(bin), "args"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(raw)), true
}

func TestShow(t *testing.T) {
	fixture, err := filepath.Abs("testdata/show.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		body    string
		timeout time.Duration
		// wantErr are substrings of the error; none means success.
		wantErr []string
		// deadline tells whether the error must be context.DeadlineExceeded.
		deadline bool
	}{
		{name: "fixture", body: "cat " + fixture},
		{name: "no resources", body: "echo '[]'"},
		{
			name:    "non-zero exit",
			body:    "echo 'No such resource' >&2; exit 10",
			wantErr: []string{"show --json", "exit status 10", "No such resource"},
		},
		{
			name:    "invalid JSON",
			body:    "echo '[{\"resource\": '",
			wantErr: []string{"failed to parse", "show --json", `[{\"resource\": `},
		},
		{
			name:    "invalid JSON with a long output is quoted by a prefix",
			body:    "printf 'x%.0s' $(seq 1 5000)",
			wantErr: []string{"failed to parse", "xxx..."},
		},
		{
			name:     "timeout",
			body:     "exec sleep 5",
			timeout:  100 * time.Millisecond,
			wantErr:  []string{"show --json did not finish within 100ms"},
			deadline: true,
		},
		{
			name:     "timeout with a child that keeps the output open",
			body:     "sleep 5; echo '[]'",
			timeout:  100 * time.Millisecond,
			wantErr:  []string{"did not finish within 100ms"},
			deadline: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bin := fakeCommand(t, tc.body)
			show, err := drbdsetup.Show(context.Background(), bin, tc.timeout)
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Show: %v", err)
				}
				if args, _ := recordedArgs(t, bin); strings.Join(args, " ") != "show --json" {
					t.Errorf("drbdsetup ran with %q, want show --json", args)
				}
				return
			}
			if err == nil {
				t.Fatalf("Show returned %+v, want an error", show)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if len(err.Error()) > 1024 {
				t.Errorf("error is %d bytes long, want it bounded", len(err.Error()))
			}
			if got := errors.Is(err, context.DeadlineExceeded); got != tc.deadline {
				t.Errorf("errors.Is(%v, DeadlineExceeded) = %v, want %v", err, got, tc.deadline)
			}
		})
	}
}

func TestShowDecodesFixture(t *testing.T) {
	fixture, err := filepath.Abs("testdata/show.json")
	if err != nil {
		t.Fatal(err)
	}
	show, err := drbdsetup.Show(context.Background(), fakeCommand(t, "cat "+fixture), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(show) != 2 || show[0].Resource != "pvc-1" || show[0].Options.Quorum != "majority" ||
		show[1].Resource != "pvc-2" || !show[1].ThisHost.Volumes[0].IntentionalDiskless() {
		t.Errorf("Show = %+v", show)
	}
}

func TestShowMissingBinary(t *testing.T) {
	_, err := drbdsetup.Show(context.Background(), filepath.Join(t.TempDir(), "no-such-drbdsetup"), 0)
	if err == nil || !strings.Contains(err.Error(), "no-such-drbdsetup") {
		t.Errorf("Show = %v, want an error naming the binary", err)
	}
}

func TestForceSecondary(t *testing.T) {
	tests := []struct {
		name     string
		resource string
		body     string
		wantErr  []string
		deadline bool
		// ran tells whether drbdsetup must have run.
		ran bool
	}{
		{name: "success", resource: "pvc-1", body: "exit 0", ran: true},
		{
			name:     "non-zero exit carries the output",
			resource: "pvc-1",
			body:     "echo 'pvc-1: State change failed: (-12) Device is held open by someone'; echo 'more on stderr' >&2; exit 11",
			wantErr:  []string{"secondary --force pvc-1", "exit status 11", "Device is held open by someone", "more on stderr"},
			ran:      true,
		},
		{
			name:     "long output is bounded",
			resource: "pvc-1",
			body:     "printf 'y%.0s' $(seq 1 20000); echo ' the end' >&2; exit 1",
			wantErr:  []string{"exit status 1", "the end"},
			ran:      true,
		},
		{
			name:     "timeout",
			resource: "pvc-1",
			body:     "exec sleep 5",
			wantErr:  []string{"secondary --force pvc-1 did not finish within 100ms"},
			deadline: true,
			ran:      true,
		},
		{name: "empty resource", resource: "", body: "exit 0", wantErr: []string{"invalid DRBD resource name"}},
		{name: "option as resource", resource: "--help", body: "exit 0", wantErr: []string{"invalid DRBD resource name", "--help"}},
		{name: "dash", resource: "-", body: "exit 0", wantErr: []string{"invalid DRBD resource name"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bin := fakeCommand(t, tc.body)
			err := drbdsetup.ForceSecondary(context.Background(), bin, tc.resource, 100*time.Millisecond)
			args, ran := recordedArgs(t, bin)
			if ran != tc.ran {
				t.Fatalf("drbdsetup ran: %v, want %v", ran, tc.ran)
			}
			if ran {
				if want := []string{"secondary", "--force", tc.resource}; strings.Join(args, " ") != strings.Join(want, " ") {
					t.Errorf("drbdsetup ran with %q, want %q", args, want)
				}
			}
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("ForceSecondary: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("ForceSecondary returned nil, want an error")
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if len(err.Error()) > 8192 {
				t.Errorf("error is %d bytes long, want it bounded", len(err.Error()))
			}
			if got := errors.Is(err, context.DeadlineExceeded); got != tc.deadline {
				t.Errorf("errors.Is(%v, DeadlineExceeded) = %v, want %v", err, got, tc.deadline)
			}
		})
	}
}
