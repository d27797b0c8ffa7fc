package main

import (
	"bytes"
	"strings"
	"testing"

	"k8s.io/component-base/metrics/legacyregistry"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"

	"github.com/linstor-ha/linstor-ha/pkg/buildinfo"
	"github.com/linstor-ha/linstor-ha/pkg/version"
)

type exited int

// TestVersionIsOurs: --version prints linstor-ha's version line and exits
// 0 before the scheduler starts; its help says which version it is.
func TestVersionIsOurs(t *testing.T) {
	defer func(v, c string) { version.Version, version.Commit = v, c }(version.Version, version.Commit)
	version.Version, version.Commit = "0.1.0", "abc123"
	cmd := app.NewSchedulerCommand()
	var out bytes.Buffer
	ownVersion(cmd, &out, func(code int) { panic(exited(code)) })
	if usage := cmd.Flags().Lookup("version").Usage; !strings.Contains(usage, "linstor-ha's version") || !strings.Contains(usage, "k8s.io/kubernetes") {
		t.Errorf("--version's help is %q, want it to name linstor-ha's version and the Kubernetes one", usage)
	}
	cmd.SetArgs([]string{"--version"})
	code := func() (code exited) {
		defer func() {
			r := recover()
			if c, ok := r.(exited); ok {
				code = c
				return
			}
			if r != nil {
				panic(r)
			}
			code = -1
		}()
		_ = cmd.Execute()
		return -1
	}()
	if code != 0 {
		t.Fatalf("--version exited with %d, want 0", code)
	}
	want := "scheduler v0.1.0 (commit abc123, "
	if got := out.String(); !strings.HasPrefix(got, want) || !strings.Contains(got, ", kube-scheduler ") {
		t.Errorf("--version printed %q, want %q... with the kube-scheduler version", got, want)
	}
}

// TestBuildInfoServed: the registry kube-scheduler serves on /metrics has
// linstor_ha_build_info, next to kubernetes_build_info.
func TestBuildInfoServed(t *testing.T) {
	registerBuildInfo()
	families, err := legacyregistry.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]float64{}
	for _, f := range families {
		if len(f.GetMetric()) == 1 {
			found[f.GetName()] = f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	if v, ok := found[buildinfo.Name]; !ok || v != 1 {
		t.Errorf("%s = %v (served: %v), want 1", buildinfo.Name, v, ok)
	}
	if _, ok := found["kubernetes_build_info"]; !ok {
		t.Error("kubernetes_build_info is not served any more")
	}
}
