package main

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestProtectionStatusCommandFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want *statusOptions
		err  error
		// stderr holds text the error output must contain.
		stderr string
	}{
		{
			name: "defaults",
			want: &statusOptions{output: "table", requestTimeout: 10 * time.Second, staleAfter: 20 * time.Second},
		},
		{
			name: "flags after the volume names, as kubectl takes them",
			args: []string{"pvc-1", "-o", "json", "db/data-0", "-n", "db", "--request-timeout=3s"},
			want: &statusOptions{output: "json", namespace: "db", requestTimeout: 3 * time.Second, staleAfter: 20 * time.Second, names: []string{"pvc-1", "db/data-0"}},
		},
		{name: "unknown output", args: []string{"-o", "yaml"}, err: errUsage, stderr: `--output "yaml": must be table or json`},
		{name: "no deadline", args: []string{"--request-timeout=0s"}, err: errUsage, stderr: "must be positive"},
		{name: "unknown flag", args: []string{"--bogus"}, err: errUsage, stderr: "flag provided but not defined: -bogus"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			got, err := parseStatus(tc.args, &stderr)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("options %+v, want %+v", got, tc.want)
			}
			if !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tc.stderr)
			}
		})
	}
}

func TestProtectionStatusCommandUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), nil, &stdout, &stderr); !errors.Is(err, errUsage) || !strings.Contains(stderr.String(), "status [VOLUME...]") {
		t.Errorf("no command: %v, %q; want usage", err, stderr.String())
	}
	stderr.Reset()
	if err := run(context.Background(), []string{"statsu"}, &stdout, &stderr); !errors.Is(err, errUsage) || !strings.Contains(stderr.String(), `unknown command "statsu"`) {
		t.Errorf("typo: %v, %q", err, stderr.String())
	}
	stderr.Reset()
	if err := run(context.Background(), []string{"status", "--help"}, &stdout, &stderr); err != nil || !strings.Contains(stderr.String(), "survives with fail-over") {
		t.Errorf("help: %v, %q", err, stderr.String())
	}
	// A kubeconfig that does not exist is a clear error, before any call.
	err := run(context.Background(), []string{"status", "--kubeconfig=/nonexistent/kubeconfig"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "failed to load the Kubernetes client configuration") {
		t.Errorf("missing kubeconfig: %v", err)
	}
}
