package drbdsetup_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/linstor-ha/linstor-ha/pkg/drbd/drbdsetup"
	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
)

// fakeDrbdsetup writes a drbdsetup that prints run<N>.txt on its N-th start
// and then exits, or, when run<N>.txt is missing, prints last.txt and keeps
// the stream open as the real one does. It records its arguments and pid.
func fakeDrbdsetup(t *testing.T, runs map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range runs {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	script := `#!/bin/sh
dir=$(dirname "$0")
n=$(cat "$dir/count" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$dir/count"
echo "$@" > "$dir/args"
if [ -f "$dir/run$n.txt" ]; then cat "$dir/run$n.txt"; exit 3; fi
echo $$ > "$dir/pid"
cat "$dir/last.txt"
exec sleep 3600
`
	path := filepath.Join(dir, "drbdsetup")
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

type recorder struct {
	mu      sync.Mutex
	changes [][]string
	bad     []string
}

func (r *recorder) onChange(names []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changes = append(r.changes, slices.Clone(names))
}

func (r *recorder) onParseError(line string, _ error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bad = append(r.bad, line)
}

func (r *recorder) snapshot() ([][]string, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.changes), slices.Clone(r.bad)
}

// start runs a runner until the test ends and waits for it to return.
func start(t *testing.T, bin string, store *state.Store, rec *recorder) *drbdsetup.Runner {
	t.Helper()
	r := drbdsetup.New(drbdsetup.Options{
		Drbdsetup:    bin,
		MinBackoff:   10 * time.Millisecond,
		MaxBackoff:   40 * time.Millisecond,
		OnChange:     rec.onChange,
		OnParseError: rec.onParseError,
	}, store)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("runner did not stop")
		}
	})
	return r
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRunnerResyncsAfterRestartWithoutLosingOrRepeatingState(t *testing.T) {
	bin := fakeDrbdsetup(t, map[string]string{
		// First run: a dump, one change, a malformed line, then drbdsetup dies.
		"run1.txt": strings.Join([]string{
			"exists resource name:a role:Secondary may_promote:no",
			"exists device name:a volume:0 disk:UpToDate quorum:yes",
			"exists resource name:b role:Secondary",
			"exists -",
			"change resource name:a role:Primary",
			"change resource name:a role:Bogus gibberish",
			"",
		}, "\n"),
		// Second run dies in the middle of its dump: nothing of it counts.
		"run2.txt": "exists resource name:zombie role:Secondary\n",
		// Third run streams on: a unchanged, b gone, c new.
		"last.txt": strings.Join([]string{
			"exists resource name:a role:Primary may_promote:no",
			"exists device name:a volume:0 disk:UpToDate quorum:yes",
			"exists resource name:c role:Secondary",
			"exists -",
			"change device name:c volume:0 disk:Outdated quorum:no",
			"",
		}, "\n"),
	})
	store := state.NewStore()
	rec := &recorder{}
	r := start(t, bin, store, rec)

	waitFor(t, "the third stream's change", func() bool {
		c, ok := store.Get("c")
		return ok && len(c.Devices) == 1
	})
	if names := store.List(); len(names) != 2 || names[0].Name != "a" || names[1].Name != "c" {
		t.Errorf("store holds %v, want a and c", names)
	}
	if a, _ := store.Get("a"); a.Role != state.RolePrimary {
		t.Errorf("a = %+v, want Primary", a)
	}
	if !store.Synced() {
		t.Error("store not synced while the stream runs")
	}
	changes, bad := rec.snapshot()
	want := [][]string{{"a", "b"}, {"a"}, {"b", "c"}, {"c"}}
	if len(changes) != len(want) {
		t.Fatalf("changes %v, want %v", changes, want)
	}
	for i := range want {
		if !slices.Equal(changes[i], want[i]) {
			t.Errorf("change %d = %v, want %v", i, changes[i], want[i])
		}
	}
	if len(bad) != 1 || !strings.Contains(bad[0], "gibberish") {
		t.Errorf("parse errors %q, want the gibberish line", bad)
	}
	st := r.Stats()
	if st.Restarts != 2 || st.ParseErrors != 1 {
		t.Errorf("stats %+v, want 2 restarts and 1 parse error", st)
	}
	args, _ := os.ReadFile(filepath.Join(filepath.Dir(bin), "args"))
	if got := strings.TrimSpace(string(args)); got != strings.Join(drbdsetup.DefaultArgs, " ") {
		t.Errorf("drbdsetup ran with %q", got)
	}
}

func TestRunnerStopsDrbdsetupWhenDone(t *testing.T) {
	bin := fakeDrbdsetup(t, map[string]string{"last.txt": "exists -\n"})
	store := state.NewStore()
	r := drbdsetup.New(drbdsetup.Options{Drbdsetup: bin}, store)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	pidFile := filepath.Join(filepath.Dir(bin), "pid")
	waitFor(t, "drbdsetup to start", func() bool { return store.Synced() })
	raw, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if err != context.Canceled {
			t.Errorf("Run returned %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	var pid int
	for _, c := range strings.TrimSpace(string(raw)) {
		pid = pid*10 + int(c-'0')
	}
	if err := syscall.Kill(pid, 0); err == nil {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		t.Errorf("drbdsetup (pid %d) still runs after Run returned", pid)
	}
	if store.Synced() {
		t.Error("store still claims to be synced after its stream ended")
	}
}

func TestRunnerRetriesMissingBinary(t *testing.T) {
	store := state.NewStore()
	r := start(t, filepath.Join(t.TempDir(), "no-such-drbdsetup"), store, &recorder{})
	waitFor(t, "two restarts", func() bool { return r.Stats().Restarts >= 2 })
	if store.Synced() {
		t.Error("store synced without any stream")
	}
}

func TestRunnerSkipsOverlongLineAndFollowsOn(t *testing.T) {
	// A 2 MiB line that would parse if it were read whole.
	huge := "exists resource name:huge role:Secondary padding:" + strings.Repeat("x", 2<<20)
	tests := []struct {
		name  string
		lines []string
	}{
		{
			name: "in the dump",
			lines: []string{
				"exists resource name:a role:Secondary",
				huge,
				"exists resource name:b role:Secondary",
				"exists -",
				"change resource name:c role:Primary",
			},
		},
		{
			name: "after the dump",
			lines: []string{
				"exists resource name:a role:Secondary",
				"exists resource name:b role:Secondary",
				"exists -",
				huge,
				"change resource name:c role:Primary",
			},
		},
		{
			name: "twice in a row",
			lines: []string{
				"exists resource name:a role:Secondary",
				huge,
				huge,
				"exists resource name:b role:Secondary",
				"exists -",
				"change resource name:c role:Primary",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bin := fakeDrbdsetup(t, map[string]string{"last.txt": strings.Join(tc.lines, "\n") + "\n"})
			store := state.NewStore()
			rec := &recorder{}
			r := start(t, bin, store, rec)
			waitFor(t, "the change after the long line", func() bool {
				_, ok := store.Get("c")
				return ok
			})
			for _, name := range []string{"a", "b"} {
				if _, ok := store.Get(name); !ok {
					t.Errorf("store lacks %s", name)
				}
			}
			if _, ok := store.Get("huge"); ok {
				t.Error("store holds the resource of the skipped line")
			}
			if !store.Synced() {
				t.Error("store not synced while the stream runs")
			}
			longLines := strings.Count(strings.Join(tc.lines, "\n"), huge)
			st := r.Stats()
			if st.Restarts != 0 || st.ParseErrors != uint64(longLines) || st.Lines != uint64(len(tc.lines)) {
				t.Errorf("stats %+v, want no restart, %d parse errors and %d lines", st, longLines, len(tc.lines))
			}
			_, bad := rec.snapshot()
			if len(bad) != longLines {
				t.Fatalf("%d parse errors reported, want %d", len(bad), longLines)
			}
			for _, line := range bad {
				if len(line) > 512 || !strings.HasPrefix(line, "exists resource name:huge") {
					t.Errorf("reported line %q (%d bytes), want a short prefix of the long line", prefixOf(line), len(line))
				}
			}
		})
	}
}

func TestRunnerReportsOverlongLineAsErrLineTooLong(t *testing.T) {
	bin := fakeDrbdsetup(t, map[string]string{"last.txt": strings.Repeat("y", 3<<20) + "\nexists -\n"})
	store := state.NewStore()
	errs := make(chan error, 1)
	r := drbdsetup.New(drbdsetup.Options{
		Drbdsetup:    bin,
		OnParseError: func(_ string, err error) { errs <- err },
	}, store)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() { cancel(); <-done }()
	if err := <-errs; !errors.Is(err, drbdsetup.ErrLineTooLong) {
		t.Errorf("OnParseError got %v, want ErrLineTooLong", err)
	}
}

func prefixOf(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
