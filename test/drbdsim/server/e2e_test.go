package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/linstor-ha/linstor-ha/pkg/drbd/drbdjson"
	"github.com/linstor-ha/linstor-ha/pkg/drbd/events2"
	"github.com/linstor-ha/linstor-ha/test/drbdsim"
	"github.com/linstor-ha/linstor-ha/test/drbdsim/server"
)

// buildDrbdsetup builds the stand-in binary for this test.
func buildDrbdsetup(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go tool to build the stand-in: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "drbdsetup")
	cmd := exec.Command(goTool, "build", "-o", bin, "github.com/linstor-ha/linstor-ha/test/cmd/drbdsetup")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("failed to build the drbdsetup stand-in: %v\n%s", err, out)
	}
	return bin
}

// startServer serves c on a fresh socket until the test ends.
func startServer(t *testing.T, c *drbdsim.Cluster) string {
	t.Helper()
	// Socket paths are limited to about 100 bytes, which a test's own
	// temporary directory can exceed.
	dir, err := os.MkdirTemp("", "drbdsim")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	socket := filepath.Join(dir, "sim.sock")
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- server.ListenAndServe(ctx, socket, server.New(c)) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	client := server.NewClient(socket)
	defer client.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := client.State(ctx); err == nil {
			return socket
		}
		if time.Now().After(deadline) {
			t.Fatal("the server did not come up")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func newCluster(t *testing.T) *drbdsim.Cluster {
	t.Helper()
	c, err := drbdsim.New(drbdsim.Options{Delays: &drbdsim.Delays{}})
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

// drbdsetup runs the stand-in as a process under test would.
func drbdsetup(t *testing.T, bin, socket, node string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "DRBDSIM_NODE="+node, "DRBDSIM_SOCKET="+socket)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("failed to run the stand-in: %v", err)
	}
	return result{cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()}
}

func TestStandInEndToEnd(t *testing.T) {
	bin := buildDrbdsetup(t)
	c := newCluster(t)
	socket := startServer(t, c)

	t.Run("events2 --now", func(t *testing.T) {
		got := drbdsetup(t, bin, socket, "a", "events2", "--now", "--statistics", "--timestamps", "all")
		if got.code != 0 || !strings.HasSuffix(got.stdout, " exists -\n") {
			t.Fatalf("exit %d, stdout %q, stderr %q", got.code, got.stdout, got.stderr)
		}
		for _, line := range strings.Split(strings.TrimSpace(got.stdout), "\n") {
			var ev events2.Event
			if err := events2.Parse(line, &ev); err != nil {
				t.Errorf("line %q: %v", line, err)
			}
		}
	})

	t.Run("status --json", func(t *testing.T) {
		got := drbdsetup(t, bin, socket, "b", "status", "--json", "r")
		var status []drbdjson.Resource
		if err := json.Unmarshal([]byte(got.stdout), &status); got.code != 0 || err != nil {
			t.Fatalf("exit %d, decode error %v, stdout %q, stderr %q", got.code, err, got.stdout, got.stderr)
		}
		if len(status) != 1 || status[0].NodeID != 1 || status[0].Devices[0].DiskState != "UpToDate" {
			t.Errorf("status = %+v", status)
		}
	})

	t.Run("flags in the arguments", func(t *testing.T) {
		got := drbdsetup(t, bin, socket, "nobody", "show", "--sim-node", "t", "r", "--json", "--sim-socket="+socket)
		var show []drbdjson.ShowResource
		if err := json.Unmarshal([]byte(got.stdout), &show); got.code != 0 || err != nil {
			t.Fatalf("exit %d, decode error %v, stdout %q, stderr %q", got.code, err, got.stdout, got.stderr)
		}
		if len(show) != 1 || show[0].ThisHost.NodeID != 2 || !show[0].ThisHost.Volumes[0].IntentionalDiskless() {
			t.Errorf("show = %+v", show)
		}
	})

	t.Run("secondary on an open resource", func(t *testing.T) {
		if err := c.OpenDevice("a", "r"); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = c.CloseDevice("a", "r") }()
		got := drbdsetup(t, bin, socket, "a", "secondary", "r")
		if got.code != 11 || !strings.Contains(got.stderr, "Device is held open by someone") {
			t.Errorf("exit %d, stderr %q; want 11, held open", got.code, got.stderr)
		}
	})

	t.Run("unknown node", func(t *testing.T) {
		got := drbdsetup(t, bin, socket, "nobody", "status")
		if got.code == 0 || !strings.Contains(got.stderr, "nobody") {
			t.Errorf("exit %d, stderr %q; want a failure about node nobody", got.code, got.stderr)
		}
	})

	t.Run("usage error", func(t *testing.T) {
		got := drbdsetup(t, bin, socket, "a", "events2", "--diff")
		if got.code != 20 || !strings.Contains(got.stderr, "unrecognized option '--diff'") {
			t.Errorf("exit %d, stderr %q; want 20, unrecognized option", got.code, got.stderr)
		}
	})

	t.Run("events2 stream ends when the node crashes", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "--sim-node", "b", "--sim-socket", socket, "events2", "all")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waited := false
		defer func() {
			if !waited {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
			}
		}()
		lines := bufio.NewScanner(stdout)
		for lines.Scan() && lines.Text() != "exists -" {
		}
		if err := c.OpenDevice("b", "r"); err != nil {
			t.Fatal(err)
		}
		sawPrimary := false
		for !sawPrimary && lines.Scan() {
			sawPrimary = strings.HasPrefix(lines.Text(), "change resource name:r role:Primary")
		}
		if !sawPrimary {
			t.Fatalf("the stream did not show the promotion")
		}
		if err := c.Crash("b"); err != nil {
			t.Fatal(err)
		}
		for lines.Scan() {
		}
		err = cmd.Wait()
		waited = true
		if code := cmd.ProcessState.ExitCode(); code == 0 || err == nil {
			t.Errorf("events2 exited with %d after the crash, want non-zero", code)
		}
		if !strings.Contains(stderr.String(), "crashed") {
			t.Errorf("stderr %q does not say the node crashed", stderr.String())
		}
	})
}

func TestControlAPI(t *testing.T) {
	c, err := drbdsim.New(drbdsim.Options{Delays: &drbdsim.Delays{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	socket := startServer(t, c)
	client := server.NewClient(socket)
	defer client.Close()
	ctx := context.Background()

	for _, n := range []string{"a", "b", "c"} {
		if err := client.AddNode(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	spec := drbdsim.ResourceSpec{Name: "r", Replicas: []drbdsim.ReplicaSpec{{Node: "a"}, {Node: "b"}, {Node: "c"}}}
	if err := client.AddResource(ctx, spec); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		do   func() error
	}{
		{"open", func() error { return client.ReplicaAction(ctx, "open", "a", "r") }},
		{"partition", func() error { return client.Partition(ctx, []string{"a"}, []string{"b", "c"}) }},
		{"open elsewhere", func() error { return client.ReplicaAction(ctx, "open", "b", "r") }},
		{"heal", func() error { return client.Heal(ctx, nil, nil) }},
		{"close the old Primary", func() error { return client.ReplicaAction(ctx, "close", "a", "r") }},
		{"crash", func() error { return client.Crash(ctx, "c") }},
		{"restart", func() error { return client.Restart(ctx, "c") }},
		{"down", func() error { return client.ReplicaAction(ctx, "down", "c", "r") }},
		{"up", func() error { return client.ReplicaAction(ctx, "up", "c", "r") }},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
	}
	st, err := client.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Resources) != 1 || len(st.Resources[0].Writers) != 1 || st.Resources[0].Writers[0] != "b" {
		t.Errorf("state: %+v, want b the only writer", st)
	}
	for _, r := range st.Resources[0].Replicas {
		if r.View == nil || r.Stale || r.View.Devices[0].Disk != "UpToDate" {
			t.Errorf("replica %+v is not back to UpToDate", r)
		}
	}

	errorCases := []struct {
		name string
		do   func() error
		want int
	}{
		{"crash an unknown node", func() error { return client.Crash(ctx, "zz") }, http.StatusNotFound},
		{"restart a running node", func() error { return client.Restart(ctx, "a") }, http.StatusConflict},
		{"open where another node is Primary", func() error { return client.ReplicaAction(ctx, "open", "a", "r") }, http.StatusConflict},
		{"unknown replica action", func() error { return client.ReplicaAction(ctx, "explode", "a", "r") }, http.StatusNotFound},
		{"invalid resource", func() error { return client.AddResource(ctx, drbdsim.ResourceSpec{Name: "bad name"}) }, http.StatusBadRequest},
		{"remove an unknown resource", func() error { return client.RemoveResource(ctx, "zz") }, http.StatusNotFound},
	}
	for _, tc := range errorCases {
		var apiErr *server.APIError
		if err := tc.do(); !errors.As(err, &apiErr) || apiErr.StatusCode != tc.want {
			t.Errorf("%s: %v, want an answer %d", tc.name, err, tc.want)
		}
	}
}

// TestControlAPICloseBlocked closes, over the API, the device of a Primary
// whose I/O is frozen: the answer is a 409 that matches
// drbdsim.ErrCloseBlocked, and the close completes once quorum is back.
func TestControlAPICloseBlocked(t *testing.T) {
	c := newCluster(t)
	socket := startServer(t, c)
	client := server.NewClient(socket)
	defer client.Close()
	ctx := context.Background()
	if err := client.ReplicaAction(ctx, "open", "a", "r"); err != nil {
		t.Fatal(err)
	}
	if err := client.Partition(ctx, []string{"a"}, []string{"b", "t"}); err != nil {
		t.Fatal(err)
	}
	for _, action := range []string{"close", "open"} {
		var apiErr *server.APIError
		err := client.ReplicaAction(ctx, action, "a", "r")
		if !errors.Is(err, drbdsim.ErrCloseBlocked) || !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusConflict ||
			apiErr.Code != server.CodeCloseBlocked {
			t.Errorf("%s on the frozen a: %v, want a 409 matching ErrCloseBlocked", action, err)
		}
	}
	st, err := client.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r := st.Resources[0].Replicas[0]; r.Node != "a" || !r.ClosePending || !r.View.InUse() {
		t.Errorf("state of a: %+v, want a pending close and the device open", r)
	}
	if err := client.Heal(ctx, nil, nil); err != nil {
		t.Fatal(err)
	}
	if pending, err := c.ClosePending("a", "r"); err != nil || pending {
		t.Errorf("close pending after the heal: %v, %v; want the close completed", pending, err)
	}
	if err := client.ReplicaAction(ctx, "close", "b", "r"); err != nil || errors.Is(err, drbdsim.ErrCloseBlocked) {
		t.Errorf("close of a closed device: %v", err)
	}
}

// TestClientExec runs commands through the client in the test process.
func TestClientExec(t *testing.T) {
	c := newCluster(t)
	socket := startServer(t, c)
	client := server.NewClient(socket)
	defer client.Close()
	ctx := context.Background()

	var stdout, stderr bytes.Buffer
	code, err := client.Exec(ctx, "a", []string{"status", "r"}, &stdout, &stderr)
	if err != nil || code != 0 || !strings.HasPrefix(stdout.String(), "r role:Secondary\n") || stderr.Len() != 0 {
		t.Errorf("status: %d, %v, stdout %q, stderr %q", code, err, stdout.String(), stderr.String())
	}
	stdout.Reset()
	code, err = client.Exec(ctx, "a", []string{"primary", "nope"}, &stdout, &stderr)
	if err != nil || code != 10 || stderr.String() != "nope: Failure: (158) Unknown resource\n" {
		t.Errorf("primary of an unknown resource: %d, %v, stderr %q", code, err, stderr.String())
	}

	// A request the server cannot decode is refused before anything runs.
	req, err := http.NewRequest(http.MethodPost, "http://drbdsim/v1/exec", strings.NewReader(`{"node": 1}`))
	if err != nil {
		t.Fatal(err)
	}
	rec := &responseRecorder{header: http.Header{}}
	server.New(c).ServeHTTP(rec, req)
	if rec.code != http.StatusBadRequest {
		t.Errorf("undecodable exec request: status %d, want 400", rec.code)
	}
}

// responseRecorder is the least an http.ResponseWriter needs to be.
type responseRecorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *responseRecorder) Header() http.Header         { return r.header }
func (r *responseRecorder) Write(p []byte) (int, error) { return r.body.Write(p) }
func (r *responseRecorder) WriteHeader(code int)        { r.code = code }
