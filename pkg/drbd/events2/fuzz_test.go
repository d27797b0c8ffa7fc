package events2_test

import (
	"testing"

	"github.com/linstor-ha/linstor-ha/pkg/drbd/events2"
)

// FuzzParse checks that no input makes Parse panic, and that every line it
// accepts is written back as a line that parses to the same event.
func FuzzParse(f *testing.F) {
	for _, lines := range fixtureLines(f) {
		for _, line := range lines {
			f.Add(line)
		}
	}
	f.Fuzz(func(t *testing.T, line string) {
		var ev events2.Event
		if err := events2.Parse(line, &ev); err != nil {
			return
		}
		again := ev.String()
		var ev2 events2.Event
		if err := events2.Parse(again, &ev2); err != nil {
			t.Fatalf("formatted line %q of %q does not parse: %v", again, line, err)
		}
		if ev2.String() != again {
			t.Fatalf("not stable: %q -> %q -> %q", line, again, ev2.String())
		}
	})
}
