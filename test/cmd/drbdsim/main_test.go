package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/linstor-ha/linstor-ha/test/drbdsim"
)

func TestParseServeOptions(t *testing.T) {
	var stderr bytes.Buffer
	opts, err := parseServeOptions([]string{"--socket", "/s.sock", "--nodes", "a,b", "--ping-int", "2s", "--resync", "0s"}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	want := drbdsim.DefaultDelays()
	want.PingInt, want.Resync = 2*time.Second, 0
	if opts.Socket != "/s.sock" || strings.Join(opts.Nodes, ",") != "a,b" || opts.Delays != want {
		t.Errorf("options = %+v", opts)
	}
	if _, err := parseServeOptions([]string{"--nodes", "a"}, &stderr); err == nil {
		t.Error("no error without --socket")
	}
	if _, err := parseServeOptions([]string{"--socket", "/s", "extra"}, &stderr); err == nil {
		t.Error("no error for an extra argument")
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "sim.json")
	cfg := `{"nodes": ["a", "b", "t"], "delays": {"ping-int": "1s", "timeout": "300ms"},
		"resources": [{"name": "r", "replicas": [{"node": "a"}, {"node": "b"}, {"node": "t", "kind": "Tiebreaker"}]}]}`
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	opts, err := parseServeOptions([]string{"--socket", "/s", "--config", file, "--timeout", "1s"}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	got, err := opts.loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Nodes) != 3 || len(got.Resources) != 1 || got.Resources[0].Replicas[2].Kind != drbdsim.Tiebreaker {
		t.Errorf("config = %+v", got)
	}
	if opts.Delays.PingInt != time.Second || opts.Delays.Timeout != time.Second {
		t.Errorf("delays = %+v, want ping-int from the file and timeout from the flag", opts.Delays)
	}

	if err := os.WriteFile(file, []byte(`{"delays": {"ping": "1s"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := opts.loadConfig(); err == nil || !strings.Contains(err.Error(), `unknown delay "ping"`) {
		t.Errorf("unknown delay: %v", err)
	}
}

func TestParseResourceSpec(t *testing.T) {
	var stderr bytes.Buffer
	spec, err := parseResourceSpec([]string{"--volumes", "2", "--quorum", "off", "r", "a", "b:Diskless"}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if spec.Name != "r" || spec.Volumes != 2 || spec.Quorum != drbdsim.QuorumOff || len(spec.Replicas) != 2 || spec.Replicas[1].Kind != drbdsim.Diskless {
		t.Errorf("spec = %+v", spec)
	}
	if _, err := parseResourceSpec([]string{"r"}, &stderr); err == nil {
		t.Error("no error for a resource without replicas")
	}
}

// TestServeAndCtl runs serve and drives it with ctl.
func TestServeAndCtl(t *testing.T) {
	dir, err := os.MkdirTemp("", "drbdsim")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	socket := filepath.Join(dir, "s.sock")
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan int, 1)
	var serveErr bytes.Buffer
	go func() {
		served <- run(ctx, []string{"serve", "--socket", socket, "--nodes", "a,b,t", "--ping-int", "0s", "--ping-timeout", "0s",
			"--timeout", "0s", "--reconnect", "0s", "--resync", "0s"}, &bytes.Buffer{}, &serveErr)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-served; code != 0 {
			t.Errorf("serve exited with %d: %s", code, serveErr.String())
		}
	})

	ctl := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), append([]string{"ctl", "--socket", socket}, args...), &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if code, _, _ := ctl("state"); code == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not come up: %s", serveErr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, args := range [][]string{
		{"add-resource", "r", "a", "b", "t:Tiebreaker"},
		{"open", "a", "r"},
		{"partition", "a", "b,t"},
		{"open", "b", "r"},
		{"heal"},
		{"close", "a", "r"},
		{"crash", "t"},
		{"restart", "t"},
	} {
		if code, _, stderr := ctl(args...); code != 0 {
			t.Fatalf("ctl %s: exit %d: %s", strings.Join(args, " "), code, stderr)
		}
	}
	code, stdout, stderr := ctl("state")
	if code != 0 {
		t.Fatalf("ctl state: exit %d: %s", code, stderr)
	}
	var st drbdsim.ClusterState
	if err := json.Unmarshal([]byte(stdout), &st); err != nil {
		t.Fatalf("ctl state printed %q: %v", stdout, err)
	}
	if w := st.Resources[0].Writers; len(w) != 1 || w[0] != "b" {
		t.Errorf("writers = %v, want [b]", w)
	}
	if code, _, stderr := ctl("crash", "nobody"); code == 0 || !strings.Contains(stderr, "nobody") {
		t.Errorf("crash of an unknown node: exit %d, stderr %q", code, stderr)
	}
	if code, _, stderr := ctl("explode"); code == 0 || !strings.Contains(stderr, `unknown ctl command "explode"`) {
		t.Errorf("unknown command: exit %d, stderr %q", code, stderr)
	}
}
