package failover

import (
	"context"
	"slices"
	"strings"
	"testing"

	"k8s.io/client-go/tools/record"

	"github.com/linstor-ha/linstor-ha/csi-sidecar/metrics"
)

func TestRecordOnce(t *testing.T) {
	var recorded []string
	record := func(s string) { recorded = append(recorded, s) }
	id := func(s string) string { return s }
	seen := recordOnce(nil, []string{"a", "b", "a"}, id, record)
	seen = recordOnce(seen, []string{"a", "c"}, id, record)
	seen = recordOnce(seen, []string{"c"}, id, record)
	recordOnce(seen, []string{"a", "c"}, id, record)
	// a twice in one decision: once; a and c lasting: not again; a gone
	// and back: again.
	if want := []string{"a", "b", "c", "a"}; !slices.Equal(recorded, want) {
		t.Errorf("recorded %v, want %v", recorded, want)
	}
}

func TestRecorderNamesThePodOrElseTheNode(t *testing.T) {
	events := record.NewFakeRecorder(10)
	r := &recorder{events: events, metrics: metrics.New()}
	pod := &Pod{Namespace: "db", Name: "pg-0", UID: "u"}
	r.refusals(context.Background(), []Refusal{
		{Resource: "r0", Node: "node-a", Pod: pod, Reason: RefusedOptOut, Message: "opted out"},
		{Resource: "r0", Node: "node-a", Pod: pod, Reason: RefusedOptOut, Message: "opted out"},
	})
	r.notices(context.Background(), []Notice{{Resource: "r1", Node: "node-a", Reason: "ReplicaDegraded", Message: "lost"}})
	r.notices(context.Background(), []Notice{{Resource: "r1", Node: "node-a", Reason: "ReplicaDegraded", Message: "lost"}})
	var got []string
	for len(events.Events) > 0 {
		got = append(got, <-events.Events)
	}
	if len(got) != 2 || !strings.Contains(got[0], "OptedOut: opted out") || !strings.Contains(got[1], "ReplicaDegraded lost") {
		t.Errorf("events %q, want one refusal and one notice", got)
	}
	if n := len(r.refused); n != 1 {
		t.Errorf("%d refusals remembered, want 1", n)
	}
}

func TestActionKeysNameThePod(t *testing.T) {
	kv := actionKeys(Action{Kind: DeletePod, Node: "n", Resource: "r", Pod: &Pod{Namespace: "db", Name: "pg-0"}, Attachment: "csi-1"})
	i := slices.Index(kv, any("pod"))
	if i < 0 || i+1 >= len(kv) || kv[i+1] == nil {
		t.Fatalf("no pod key in %v", kv)
	}
	if got := kv[i+1].(interface{ String() string }).String(); got != "db/pg-0" {
		t.Errorf("pod = %q, want db/pg-0", got)
	}
	if !slices.Contains(kv, any("volumeAttachment")) {
		t.Errorf("no volumeAttachment key in %v", kv)
	}
}
