package app

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func parse(t *testing.T, args ...string) (*Options, error) {
	t.Helper()
	fs := flag.NewFlagSet("webhook", flag.ContinueOnError)
	var o Options
	o.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return &o, o.Complete()
}

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOptions(t *testing.T) {
	o, err := parse(t)
	if err != nil || o.Mutation != DefaultMutation() {
		t.Fatalf("defaults: %+v, %v", o.Mutation, err)
	}

	// The file switches mutations off; a flag on the command line wins.
	cfg := writeConfig(t, "setScheduler: false\ntolerationSeconds: 45\nspreadZones: false\n")
	o, err = parse(t, "--config="+cfg, "--spread-zones=true")
	if err != nil {
		t.Fatal(err)
	}
	if o.Mutation.SetScheduler || o.Mutation.TolerationSeconds != 45 || !o.Mutation.SpreadZones || !o.Mutation.PreferDataZones {
		t.Fatalf("file plus flag: %+v", o.Mutation)
	}

	for _, tc := range []struct {
		name, config string
		args         []string
		want         string
	}{
		{name: "unknown field in the file", config: "setSchedular: true\n", want: `unknown field "setSchedular"`},
		{name: "not YAML", config: "setScheduler: [\n", want: "failed to parse --config"},
		{name: "tolerations out of range", args: []string{"--toleration-seconds=9999"}, want: "tolerationSeconds 9999"},
		{name: "no scheduler name", args: []string{"--scheduler-name="}, want: "schedulerName must be set"},
		{name: "bad port", args: []string{"--port=0"}, want: "--port 0"},
		{name: "missing file", args: []string{"--config=/does/not/exist"}, want: "failed to read --config"},
	} {
		args := tc.args
		if tc.config != "" {
			args = append(args, "--config="+writeConfig(t, tc.config))
		}
		if _, err := parse(t, args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}
