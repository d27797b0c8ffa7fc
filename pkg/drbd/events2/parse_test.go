package events2_test

import (
	"strings"
	"testing"
	"time"

	"github.com/linstor-ha/linstor-ha/pkg/drbd/events2"
)

func TestParseEveryFixtureLineRoundTrips(t *testing.T) {
	for name, lines := range fixtureLines(t) {
		for i, line := range lines {
			var ev events2.Event
			if err := events2.Parse(line, &ev); err != nil {
				t.Errorf("%s:%d: %v", name, i+1, err)
				continue
			}
			if got := ev.String(); got != line {
				t.Errorf("%s:%d: formatted back as\n%s\nwant\n%s", name, i+1, got, line)
			}
		}
	}
}

func TestParse(t *testing.T) {
	ts := time.Date(2019, 5, 7, 13, 50, 23, 973595000, time.FixedZone("", -7*3600))
	tests := []struct {
		line       string
		verb       events2.Verb
		object     events2.Object
		objectName string
		time       time.Time
		fields     []events2.Field
	}{
		{line: "exists -", verb: events2.VerbExists, object: events2.ObjectNone},
		{line: "2019-05-07T13:50:23.973595-07:00 exists -", verb: events2.VerbExists, object: events2.ObjectNone, time: ts},
		{
			line: "change connection name:r0 peer-node-id:1 conn-name:b connection:Connected ap-in-flight:18446744073709551615",
			verb: events2.VerbChange, object: events2.ObjectConnection,
			fields: []events2.Field{{"name", "r0"}, {"peer-node-id", "1"}, {"conn-name", "b"}, {"connection", "Connected"}, {"ap-in-flight", "18446744073709551615"}},
		},
		{
			line: "create path name:r0 peer-node-id:1 local:ipv4:1.2.3.4:7789",
			verb: events2.VerbCreate, object: events2.ObjectPath,
			fields: []events2.Field{{"name", "r0"}, {"peer-node-id", "1"}, {"local", "ipv4:1.2.3.4:7789"}},
		},
		{
			line: "change frobnicator name:r0 wobble:3", verb: events2.VerbChange, object: events2.ObjectOther, objectName: "frobnicator",
			fields: []events2.Field{{"name", "r0"}, {"wobble", "3"}},
		},
		{
			line: "call helper name:r0 helper:before-resync-target", verb: events2.VerbCall, object: events2.ObjectHelper,
			fields: []events2.Field{{"name", "r0"}, {"helper", "before-resync-target"}},
		},
		{line: "destroy resource  name:r0 \r", verb: events2.VerbDestroy, object: events2.ObjectResource, fields: []events2.Field{{"name", "r0"}}},
		{line: "change resource name:", verb: events2.VerbChange, object: events2.ObjectResource, fields: []events2.Field{{"name", ""}}},
	}
	for _, tt := range tests {
		var ev events2.Event
		if err := events2.Parse(tt.line, &ev); err != nil {
			t.Errorf("Parse(%q): %v", tt.line, err)
			continue
		}
		if ev.Verb != tt.verb || ev.Object != tt.object || ev.ObjectName != tt.objectName || !ev.Time.Equal(tt.time) {
			t.Errorf("Parse(%q) = %v %v %q %v, want %v %v %q %v", tt.line, ev.Verb, ev.Object, ev.ObjectName, ev.Time, tt.verb, tt.object, tt.objectName, tt.time)
		}
		if len(ev.Fields) != len(tt.fields) {
			t.Errorf("Parse(%q) fields = %v, want %v", tt.line, ev.Fields, tt.fields)
			continue
		}
		for i := range tt.fields {
			if ev.Fields[i] != tt.fields[i] {
				t.Errorf("Parse(%q) field %d = %v, want %v", tt.line, i, ev.Fields[i], tt.fields[i])
			}
		}
	}
}

func TestParseRejectsMalformedLines(t *testing.T) {
	for _, line := range []string{
		"",
		"   ",
		"frob resource name:r0",
		"2019-05-07T13:50:23.973595-07:00",
		"2019-05-07T13:50:23.973595-07:00 frob resource name:r0",
		"TIME exists -",
		"change",
		"change resource name:r0 role",
		"change resource name:r0 :Primary",
		"change -",
		"exists - trailing",
	} {
		var ev events2.Event
		err := events2.Parse(line, &ev)
		if err == nil {
			t.Errorf("Parse(%q) succeeded, want an error", line)
			continue
		}
		if !strings.Contains(err.Error(), "invalid events2 line") {
			t.Errorf("Parse(%q) error %q does not say the line is invalid", line, err)
		}
	}
}

func TestEventGet(t *testing.T) {
	var ev events2.Event
	if err := events2.Parse("change device name:r0 volume:0 disk:UpToDate", &ev); err != nil {
		t.Fatal(err)
	}
	if v, ok := ev.Get("disk"); !ok || v != "UpToDate" {
		t.Errorf("Get(disk) = %q, %v", v, ok)
	}
	if _, ok := ev.Get("quorum"); ok {
		t.Error("Get(quorum) found a key the line does not have")
	}
}

func TestParseDoesNotAllocateWhenReused(t *testing.T) {
	line := "2019-05-07T13:50:23.973595-07:00 change peer-device name:pvc-0a2826c9 peer-node-id:2 conn-name:kubelet-b volume:0 replication:Established peer-disk:UpToDate peer-client:no resync-suspended:no received:0 sent:0 out-of-sync:0 pending:0 unacked:0"
	var ev events2.Event
	allocs := testing.AllocsPerRun(100, func() {
		if err := events2.Parse(line, &ev); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Parse allocates %v times per line, want 0", allocs)
	}
}
