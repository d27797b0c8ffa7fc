package main

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseOptions(t *testing.T) {
	env := map[string]string{"DRBDSIM_NODE": "env-node", "DRBDSIM_SOCKET": "/env.sock"}
	getenv := func(k string) string { return env[k] }
	tests := []struct {
		name       string
		args       []string
		getenv     func(string) string
		wantNode   string
		wantSocket string
		wantArgs   []string
		wantErr    string
	}{
		{
			name: "flags first", args: []string{"--sim-node", "a", "--sim-socket=/s.sock", "events2", "--now", "all"},
			getenv: getenv, wantNode: "a", wantSocket: "/s.sock", wantArgs: []string{"events2", "--now", "all"},
		},
		{
			name: "flags anywhere", args: []string{"status", "--sim-node=b", "r0", "--json", "--sim-socket", "/x.sock"},
			getenv: getenv, wantNode: "b", wantSocket: "/x.sock", wantArgs: []string{"status", "r0", "--json"},
		},
		{
			name: "environment", args: []string{"secondary", "r0"},
			getenv: getenv, wantNode: "env-node", wantSocket: "/env.sock", wantArgs: []string{"secondary", "r0"},
		},
		{
			name: "after -- everything is drbdsetup's", args: []string{"status", "--", "--sim-node"},
			getenv: getenv, wantNode: "env-node", wantSocket: "/env.sock", wantArgs: []string{"status", "--", "--sim-node"},
		},
		{
			name: "no node", args: []string{"status"}, getenv: func(string) string { return "" },
			wantErr: "no simulated node",
		},
		{
			name: "no socket", args: []string{"--sim-node", "a", "status"}, getenv: func(string) string { return "" },
			wantErr: "no simulator socket",
		},
		{
			name: "missing value", args: []string{"status", "--sim-node"}, getenv: getenv,
			wantErr: "needs a value",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, err := parseOptions(tt.args, tt.getenv)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if opts.Node != tt.wantNode || opts.Socket != tt.wantSocket || !slices.Equal(opts.Args, tt.wantArgs) {
				t.Errorf("got %+v, want node %q socket %q args %q", opts, tt.wantNode, tt.wantSocket, tt.wantArgs)
			}
		})
	}
}

func TestRunWithoutServer(t *testing.T) {
	var stdout, stderr bytes.Buffer
	socket := filepath.Join(t.TempDir(), "absent.sock")
	code := run([]string{"--sim-node", "a", "--sim-socket", socket, "status"}, func(string) string { return "" }, &stdout, &stderr)
	if code != exitNoDRBD {
		t.Errorf("exit code %d, want %d", code, exitNoDRBD)
	}
	if !strings.Contains(stderr.String(), "failed to reach the simulator") {
		t.Errorf("stderr %q does not say the simulator is unreachable", stderr.String())
	}
}
