package drbdsetup_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	testingclock "k8s.io/utils/clock/testing"

	"github.com/linstor-ha/linstor-ha/pkg/drbd/drbdjson"
	"github.com/linstor-ha/linstor-ha/pkg/drbd/events2"
	"github.com/linstor-ha/linstor-ha/test/drbdsim"
	"github.com/linstor-ha/linstor-ha/test/drbdsim/drbdsetup"
)

func newCluster(t *testing.T) *drbdsim.Cluster {
	t.Helper()
	c, err := drbdsim.New(drbdsim.Options{
		Clock:  testingclock.NewFakeClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)),
		Delays: &drbdsim.Delays{},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	for _, n := range []string{"a", "b", "t"} {
		if err := c.AddNode(n); err != nil {
			t.Fatal(err)
		}
	}
	spec := drbdsim.ResourceSpec{Name: "r", Replicas: []drbdsim.ReplicaSpec{{Node: "a"}, {Node: "b"}, {Node: "t", Kind: drbdsim.Tiebreaker}}}
	if err := c.AddResource(spec); err != nil {
		t.Fatal(err)
	}
	return c
}

type result struct {
	code           int
	stdout, stderr string
}

func run(c *drbdsim.Cluster, node string, args ...string) result {
	var stdout, stderr bytes.Buffer
	code := drbdsetup.Run(context.Background(), c, node, args, &stdout, &stderr)
	return result{code, stdout.String(), stderr.String()}
}

func TestCommands(t *testing.T) {
	c := newCluster(t)
	if err := c.OpenDevice("b", "r"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		node       string
		args       []string
		wantCode   int
		wantStdout string // a substring
		wantStderr string // a substring
	}{
		{name: "events2 --now", node: "a", args: []string{"events2", "--now", "all"}, wantStdout: "exists -\n"},
		{name: "events2 abbreviated option", node: "a", args: []string{"events2", "--no"}, wantStdout: "exists -\n"},
		{name: "events2 unknown option", node: "a", args: []string{"events2", "--now", "--bogus"}, wantCode: 20,
			wantStderr: "unrecognized option '--bogus'"},
		{name: "events2 two resources", node: "a", args: []string{"events2", "--now", "r", "s"}, wantCode: 20,
			wantStderr: "excess arguments"},
		{name: "no command", node: "a", args: nil, wantCode: 20, wantStderr: "missing command"},
		{name: "unknown command", node: "a", args: []string{"attach", "r"}, wantCode: 20, wantStderr: "unknown command 'attach'"},
		{name: "status text", node: "a", args: []string{"status"}, wantStdout: "r role:Secondary\n  disk:UpToDate\n  b role:Primary\n"},
		{name: "status of an unknown resource", node: "a", args: []string{"status", "nope", "--json"}, wantCode: 10,
			wantStderr: "nope: No such resource"},
		{name: "show --json", node: "a", args: []string{"show", "--json"}, wantStdout: `"resource": "r"`},
		{name: "show of an unknown resource", node: "a", args: []string{"show", "nope", "--json"}, wantStdout: "[]"},
		{name: "show text", node: "t", args: []string{"show", "r"}, wantStdout: "disk\t\t\tnone;"},
		{name: "primary while a peer is Primary", node: "a", args: []string{"primary", "r"}, wantCode: 11,
			wantStderr: "r: State change failed: (-1) Multiple primaries not allowed by config"},
		{name: "primary without resource", node: "a", args: []string{"primary"}, wantCode: 20, wantStderr: "missing arguments"},
		{name: "primary of an unknown resource", node: "a", args: []string{"primary", "nope"}, wantCode: 10,
			wantStderr: "nope: Failure: (158) Unknown resource"},
		{name: "secondary while open", node: "b", args: []string{"secondary", "r"}, wantCode: 11,
			wantStderr: "r: State change failed: (-12) Device is held open by someone"},
		{name: "secondary of a Secondary", node: "a", args: []string{"secondary", "r"}},
		{name: "unknown node", node: "z", args: []string{"status", "--json"}, wantCode: 20, wantStderr: "Could not connect"},
		{name: "short options", node: "a", args: []string{"status", "-vj", "r"}, wantStdout: `"name": "r"`},
		{name: "unknown short option", node: "a", args: []string{"status", "-x"}, wantCode: 20, wantStderr: "invalid option -- 'x'"},
		{name: "argument to a flag", node: "a", args: []string{"events2", "--now=yes"}, wantCode: 20,
			wantStderr: "option '--now' doesn't allow an argument"},
		{name: "optional argument", node: "a", args: []string{"events2", "--now", "--color=never", "--", "r"}, wantStdout: "exists -\n"},
		{name: "--overwrite-data-of-peer", node: "b", args: []string{"primary", "--overwrite-data-of-peer", "r"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := run(c, tt.node, tt.args...)
			if got.code != tt.wantCode || !strings.Contains(got.stdout, tt.wantStdout) || !strings.Contains(got.stderr, tt.wantStderr) {
				t.Errorf("drbdsetup %s on %s: exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, stderr with %q",
					strings.Join(tt.args, " "), tt.node, got.code, got.stdout, got.stderr, tt.wantCode, tt.wantStdout, tt.wantStderr)
			}
		})
	}
}

func TestStatusJSONArgumentOrder(t *testing.T) {
	c := newCluster(t)
	before := run(c, "a", "status", "--json", "r")
	after := run(c, "a", "status", "r", "--json")
	if before.code != 0 || before.stdout != after.stdout {
		t.Fatalf("status --json r (%d) and status r --json (%d) differ:\n%s\n%s", before.code, after.code, before.stdout, after.stdout)
	}
	var status []drbdjson.Resource
	if err := json.Unmarshal([]byte(before.stdout), &status); err != nil {
		t.Fatalf("status --json is not valid: %v\n%s", err, before.stdout)
	}
	if len(status) != 1 || status[0].Name != "r" || len(status[0].Connections) != 2 {
		t.Errorf("status = %+v, want r with two connections", status)
	}
	if !strings.Contains(before.stdout, `"percent-in-sync": 100.00`) {
		t.Errorf("percent-in-sync is not printed as drbdsetup prints it:\n%s", before.stdout)
	}
}

func TestSecondaryForce(t *testing.T) {
	c := newCluster(t)
	if err := c.OpenDevice("a", "r"); err != nil {
		t.Fatal(err)
	}
	if got := run(c, "a", "secondary", "r", "--force"); got.code != 0 {
		t.Fatalf("secondary --force: exit %d, stderr %q", got.code, got.stderr)
	}
	v, _ := c.View("a", "r")
	if v.Role != "Secondary" || !v.ForceIOFailures || !v.InUse() {
		t.Errorf("after secondary --force: role %s, force-io-failures %v, open %v; want Secondary, yes, yes", v.Role, v.ForceIOFailures, v.InUse())
	}
	if got := run(c, "b", "primary", "r"); got.code != 0 {
		t.Errorf("primary on b after a let go: exit %d, stderr %q", got.code, got.stderr)
	}
}

// TestSecondaryForceFrozen forces a Primary whose I/O is frozen, with its
// close pending, to Secondary: the frozen I/O fails and the close
// completes. show reports on-suspended-primary-outdated.
func TestSecondaryForceFrozen(t *testing.T) {
	c := newCluster(t)
	if err := c.OpenDevice("a", "r"); err != nil {
		t.Fatal(err)
	}
	if err := c.Partition([]string{"a"}, []string{"b", "t"}); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseDevice("a", "r"); !errors.Is(err, drbdsim.ErrCloseBlocked) {
		t.Fatalf("close on the frozen a: %v, want ErrCloseBlocked", err)
	}
	if got := run(c, "a", "secondary", "r"); got.code != 11 || !strings.Contains(got.stderr, "Device is held open by someone") {
		t.Errorf("secondary on the frozen a: exit %d, stderr %q; want 11, held open", got.code, got.stderr)
	}
	if got := run(c, "a", "secondary", "r", "--force"); got.code != 0 {
		t.Fatalf("secondary --force: exit %d, stderr %q", got.code, got.stderr)
	}
	v, _ := c.View("a", "r")
	if v.Role != "Secondary" || v.ForceIOFailures || v.InUse() {
		t.Errorf("after secondary --force: role %s, force-io-failures %v, open %v; want Secondary, closed", v.Role, v.ForceIOFailures, v.InUse())
	}
	if pending, err := c.ClosePending("a", "r"); err != nil || pending {
		t.Errorf("close still pending: %v, %v", pending, err)
	}
	if got := run(c, "a", "show", "r"); got.code != 0 || !strings.Contains(got.stdout, "on-suspended-primary-outdated\tdisconnect;") {
		t.Errorf("show: exit %d, stdout %q; want on-suspended-primary-outdated disconnect", got.code, got.stdout)
	}
}

func TestEvents2StreamEndsWhenTheNodeCrashes(t *testing.T) {
	c := newCluster(t)
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- drbdsetup.Run(context.Background(), c, "a", []string{"events2", "--timestamps", "all"}, &stdout, &stderr)
	}()
	waitFor(t, func() bool { return strings.Contains(stdout.String(), "exists -\n") })
	if err := c.OpenDevice("a", "r"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return strings.Contains(stdout.String(), "role:Primary") })
	if err := c.Crash("a"); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != drbdsetup.ExitUsage {
			t.Errorf("exit code %d, want %d", code, drbdsetup.ExitUsage)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("events2 did not end when the node crashed")
	}
	if !strings.Contains(stderr.String(), "crashed") {
		t.Errorf("stderr %q does not say the node crashed", stderr.String())
	}
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var ev events2.Event
		if err := events2.Parse(line, &ev); err != nil || ev.Time.IsZero() {
			t.Errorf("line %q: %v, timestamp %v", line, err, ev.Time)
		}
	}

	// A context that ends stops the stream.
	ctx, cancel := context.WithCancel(context.Background())
	go func() { done <- drbdsetup.Run(ctx, c, "b", []string{"events2"}, &syncBuffer{}, &syncBuffer{}) }()
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("events2 did not end with its context")
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(time.Millisecond)
	}
}
