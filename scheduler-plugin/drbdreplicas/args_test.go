package drbdreplicas

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
)

func TestDecodeArgs(t *testing.T) {
	for _, tc := range []struct {
		name    string
		raw     string
		wantErr string
		check   func(*settings) bool
	}{
		{name: "none: defaults", raw: "", check: func(s *settings) bool {
			return s.staleAfter == 20*time.Second && !s.strict && s.dataWeight == 10 && s.zoneWeight == 4 && s.disklessWeight == 2
		}},
		{name: "versioned and set", raw: `{"apiVersion":"linstor-ha.io/v1alpha1","kind":"DRBDReplicasArgs","staleAfter":"45s","strict":true,"zoneWeight":0}`,
			check: func(s *settings) bool {
				return s.staleAfter == 45*time.Second && s.strict && s.zoneWeight == 0 && s.dataWeight == 10
			}},
		{name: "unknown field", raw: `{"staleAfer":"45s"}`, wantErr: `unknown field "staleAfer"`},
		{name: "wrong case", raw: `{"StaleAfter":"45s"}`, wantErr: `unknown field "StaleAfter"`},
		{name: "not JSON", raw: `staleAfter: [`, wantErr: "failed to decode"},
		{name: "wrong apiVersion", raw: `{"apiVersion":"example.com/v1"}`, wantErr: `apiVersion "example.com/v1"`},
		{name: "wrong kind", raw: `{"kind":"OtherArgs"}`, wantErr: `kind "OtherArgs"`},
		{name: "staleAfter too short", raw: `{"staleAfter":"10ms"}`, wantErr: "between 1s and 1h"},
		{name: "negative weight", raw: `{"zoneWeight":-1}`, wantErr: "zoneWeight -1"},
		{name: "weight too big", raw: `{"dataWeight":1000}`, wantErr: "dataWeight 1000"},
		{name: "data not best", raw: `{"dataWeight":5,"zoneWeight":4,"disklessWeight":2}`, wantErr: "must exceed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var obj runtime.Object
			if tc.raw != "" {
				obj = &runtime.Unknown{Raw: []byte(tc.raw), ContentType: runtime.ContentTypeJSON}
			}
			s, err := decodeArgs(obj)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !tc.check(s) {
				t.Fatalf("unexpected settings %+v", *s)
			}
		})
	}
}
