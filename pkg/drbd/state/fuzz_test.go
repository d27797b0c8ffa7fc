package state_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/linstor-ha/linstor-ha/pkg/drbd/events2"
	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
)

// FuzzApply feeds whole streams to a model: whatever the lines, nothing
// panics, a line that fails changes nothing, and every answer the model
// gives stays consistent with its state.
func FuzzApply(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(fixtureDir, "*.txt"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(strings.ReplaceAll(string(b), "TIME ", "2026-11-22T10:00:00.000001Z "))
	}
	f.Fuzz(func(t *testing.T, stream string) {
		m := state.NewModel()
		var ev events2.Event
		for line := range strings.Lines(stream) {
			if events2.Parse(strings.TrimSuffix(line, "\n"), &ev) != nil {
				continue
			}
			before := snapshot(m)
			if _, err := m.Apply(&ev); err != nil && snapshot(m) != before {
				t.Fatalf("failed line %q changed the model", line)
			}
		}
		for _, name := range m.Names() {
			r, _ := m.Resource(name)
			if r.CanPromote() && !r.HasQuorum() && r.MayPromote != state.FlagYes {
				t.Fatalf("%s: computed may-promote without quorum", name)
			}
			_ = state.ComputePromotionScore(r)
			_ = r.DisconnectedPeers()
			_ = r.UpToDatePeers()
			if !r.Equal(r.Clone()) {
				t.Fatalf("%s: clone differs", name)
			}
		}
	})
}

func snapshot(m *state.Model) string {
	var b strings.Builder
	for _, name := range m.Names() {
		r, _ := m.Resource(name)
		b.WriteString(name)
		b.WriteString(r.Role + r.Suspended + r.MayPromote.String())
		for _, d := range r.Devices {
			b.WriteString(d.Disk)
		}
		for _, c := range r.Connections {
			b.WriteString(c.Name + c.State + c.PeerRole)
			for _, p := range c.PeerDevices {
				b.WriteString(p.PeerDisk + p.Replication)
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}
