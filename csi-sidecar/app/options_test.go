package app_test

import (
	"flag"
	"io"
	"strings"
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

// TestTaintKeys checks the taint flags: the keys Piraeus tolerates by
// default, another valid key when asked, and a clear error for a key that
// the API server would refuse.
func TestTaintKeys(t *testing.T) {
	for _, tc := range []struct {
		name                string
		args                []string
		lostQuorum, ioError string
		wantErr             string
	}{
		{name: "defaults", lostQuorum: "drbd.linbit.com/lost-quorum", ioError: "drbd.linbit.com/force-io-error"},
		{name: "own key", args: []string{"--lost-quorum-taint=example.com/frozen"}, lostQuorum: "example.com/frozen", ioError: "drbd.linbit.com/force-io-error"},
		{name: "not a key", args: []string{"--force-io-error-taint=bad key!"}, wantErr: `--force-io-error-taint="bad key!" is not a taint key`},
		{name: "empty is the default", args: []string{"--lost-quorum-taint="}, lostQuorum: "drbd.linbit.com/lost-quorum", ioError: "drbd.linbit.com/force-io-error"},
		{name: "the same twice", args: []string{"--lost-quorum-taint=a/b", "--force-io-error-taint=a/b"}, wantErr: "must differ"},
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
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.LostQuorumTaint != tc.lostQuorum || o.ForceIOErrorTaint != tc.ioError {
				t.Errorf("taints %q, %q; want %q, %q", o.LostQuorumTaint, o.ForceIOErrorTaint, tc.lostQuorum, tc.ioError)
			}
		})
	}
}
