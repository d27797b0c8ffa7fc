package app_test

import (
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/linstor-ha/linstor-ha/csi-sidecar/app"
)

// TestConflictingActorSelector checks the flag's default (the label of
// Piraeus' HA controller's pods), that empty turns the check off, and
// that a selector that does not parse stops the sidecar at start.
func TestConflictingActorSelector(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		want    string
		wantErr bool
	}{
		{name: "default", want: "app.kubernetes.io/component=ha-controller"},
		{name: "another actor", args: []string{"--conflicting-actor-selector=app.kubernetes.io/name=piraeus-ha-controller"}, want: "app.kubernetes.io/name=piraeus-ha-controller"},
		{name: "off", args: []string{"--conflicting-actor-selector="}, want: ""},
		{name: "does not parse", args: []string{"--conflicting-actor-selector=app in ("}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var o app.Options
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			o.AddFlags(fs)
			if err := fs.Parse(append([]string{"--node-name=a"}, tc.args...)); err != nil {
				t.Fatal(err)
			}
			err := o.Complete()
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), "--conflicting-actor-selector") {
					t.Fatalf("err = %v, want one naming --conflicting-actor-selector", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.ConflictingActorSelector != tc.want {
				t.Errorf("selector = %q, want %q", o.ConflictingActorSelector, tc.want)
			}
		})
	}
}
