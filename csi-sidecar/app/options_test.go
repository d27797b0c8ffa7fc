package app_test

import (
	"flag"
	"io"
	"testing"
	"time"

	"github.com/linstor-ha/linstor-ha/csi-sidecar/app"
)

func TestUntaintAfterAndItsDeprecatedName(t *testing.T) {
	for _, tc := range []struct {
		name       string
		args       []string
		want       time.Duration
		deprecated bool
		wantErr    bool
	}{
		{name: "default", want: 2 * time.Second},
		{name: "new name", args: []string{"--untaint-after=7s"}, want: 7 * time.Second},
		{name: "old name still works", args: []string{"--grace-period=4s"}, want: 4 * time.Second, deprecated: true},
		{name: "old name is checked", args: []string{"--grace-period=soon"}, wantErr: true},
		{name: "negative", args: []string{"--untaint-after=-1s"}, want: -time.Second, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var o app.Options
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			o.AddFlags(fs)
			err := fs.Parse(append([]string{"--node-name=a"}, tc.args...))
			if err == nil {
				err = o.Complete()
			}
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want an error: %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if o.UntaintAfter != tc.want {
				t.Errorf("UntaintAfter = %v, want %v", o.UntaintAfter, tc.want)
			}
			if got := len(o.Deprecations) > 0; got != tc.deprecated {
				t.Errorf("Deprecations = %q, want some: %v", o.Deprecations, tc.deprecated)
			}
		})
	}
}
