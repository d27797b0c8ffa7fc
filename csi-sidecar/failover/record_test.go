package failover

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"

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
	events := events.NewFakeRecorder(10)
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

// capturedEvent is one Eventf call.
type capturedEvent struct {
	regarding, related  *corev1.ObjectReference
	typ, reason, action string
	note                string
}

// capturingRecorder keeps what it is asked to record.
type capturingRecorder struct{ got []capturedEvent }

func (c *capturingRecorder) Eventf(regarding, related runtime.Object, typ, reason, action, note string, args ...any) {
	e := capturedEvent{typ: typ, reason: reason, action: action, note: fmt.Sprintf(note, args...)}
	e.regarding, _ = regarding.(*corev1.ObjectReference)
	e.related, _ = related.(*corev1.ObjectReference)
	c.got = append(c.got, e)
}

func TestRecorderEventsHaveActionAndRelatedObject(t *testing.T) {
	rec := &capturingRecorder{}
	r := &recorder{events: rec, metrics: metrics.New()}
	ctx := context.Background()
	pod := &Pod{Namespace: "db", Name: "pg-0", UID: "u"}
	r.outcome(ctx, Action{Kind: DeletePod, Node: "node-a", Resource: "r0", Pod: pod, Reason: "PodForceDeleted", Message: "100% sure"}, nil, nil)
	detach := Action{Kind: DeleteAttachment, Node: "node-a", Resource: "r0", Pod: pod, Attachment: "csi-1", Reason: "VolumeAttachmentRemoved", Message: "detached"}
	r.sumUp([]Action{detach}, map[int]bool{0: r.outcome(ctx, detach, nil, nil)})
	r.outcome(ctx, Action{Kind: TaintNode, Node: "node-a", Resource: "r0", Reason: "NodeTainted", Message: "tainted"}, nil, nil)
	r.refusals(ctx, []Refusal{{Resource: "r0", Node: "node-a", Pod: pod, Reason: RefusedOptOut, Message: strings.Repeat("x", 2000)}})
	if len(rec.got) != 4 {
		t.Fatalf("%d Events, want 4: %+v", len(rec.got), rec.got)
	}
	want := []struct {
		regarding, related, action string
	}{
		{"Pod db/pg-0", "Node node-a", string(DeletePod)},
		{"Pod db/pg-0", "VolumeAttachment csi-1", string(DeleteAttachment)},
		{"Node node-a", "", string(TaintNode)},
		{"Pod db/pg-0", "Node node-a", actionFailOver},
	}
	name := func(o *corev1.ObjectReference) string {
		if o == nil {
			return ""
		}
		if o.Namespace != "" {
			return o.Kind + " " + o.Namespace + "/" + o.Name
		}
		return o.Kind + " " + o.Name
	}
	for i, w := range want {
		e := rec.got[i]
		if name(e.regarding) != w.regarding || name(e.related) != w.related || e.action != w.action {
			t.Errorf("Event %d (%s) regards %q, relates to %q, action %q; want %q, %q, %q", i, e.reason, name(e.regarding), name(e.related), e.action, w.regarding, w.related, w.action)
		}
	}
	if rec.got[0].note != "100% sure" {
		t.Errorf("note %q: a message is not a format", rec.got[0].note)
	}
	if n := len(rec.got[3].note); n > noteLimit || !strings.HasSuffix(rec.got[3].note, "...") {
		t.Errorf("a long note is %d bytes, want it cut to %d with an ellipsis", n, noteLimit)
	}
}

func TestRecorderSumsUpTheAttachmentsOfANodeInOneEvent(t *testing.T) {
	rec := &capturingRecorder{}
	r := &recorder{events: rec, metrics: metrics.New()}
	ctx := context.Background()
	detach := func(node, pv string) Action {
		return Action{Kind: DeleteAttachment, Node: node, Resource: pv, PV: pv, Attachment: "csi-" + pv,
			Reason: "VolumeAttachmentRemoved", Message: "volume " + pv + " is detachable from " + node}
	}
	batch := []Action{detach("node-a", "pv-2"), detach("node-b", "pv-9"), detach("node-a", "pv-1"), detach("node-a", "pv-3")}
	outcomes := map[int]bool{}
	for i, a := range batch {
		var err error
		if a.PV == "pv-3" {
			err = errors.New("connection refused")
		}
		outcomes[i] = r.outcome(ctx, a, err, nil)
	}
	if len(rec.got) != 0 {
		t.Fatalf("Events before the phase ended: %+v", rec.got)
	}
	r.sumUp(batch, outcomes)
	if len(rec.got) != 2 {
		t.Fatalf("%d Events for the attachments of two nodes, want 2: %+v", len(rec.got), rec.got)
	}
	several, one := rec.got[0], rec.got[1]
	if several.regarding.Name != "node-a" || several.related != nil || several.action != string(DeleteAttachment) ||
		several.note != "2 volumes are detachable from node-a, their VolumeAttachments removed: pv-1, pv-2" {
		t.Errorf("node-a's Event regards %s, relates to %v, action %q, note %q; want node-a, nothing, DeleteAttachment and the two volumes done",
			several.regarding.Name, several.related, several.action, several.note)
	}
	if one.regarding.Name != "node-b" || one.related == nil || one.related.Name != "csi-pv-9" || one.note != "volume pv-9 is detachable from node-b" {
		t.Errorf("a single attachment's Event regards %s, relates to %v, note %q; want it as it is alone", one.regarding.Name, one.related, one.note)
	}
}
