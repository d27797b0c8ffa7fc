package state_test

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/linstor-ha/linstor-ha/pkg/drbd/events2"
	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
)

// streamLines is a steady-state stream of a busy node: every kind of object,
// with timestamps, statistics and all fields, as the sidecar requests it.
func streamLines(resources int) []string {
	const ts = "2026-11-22T10:00:00.123456+01:00 "
	var lines []string
	for i := range resources {
		r := fmt.Sprintf("pvc-%08d-7108-11e9-8f74-0026b954ca4c", i)
		lines = append(lines,
			ts+"change resource name:"+r+" role:Secondary suspended:no force-io-failures:no write-ordering:flush may_promote:no promotion_score:10102",
			ts+"change device name:"+r+" volume:0 minor:1000 backing_dev:/dev/vg/"+r+" disk:UpToDate client:no open:no quorum:yes size:515948 read:2104 written:0 al-writes:0 bm-writes:0 upper-pending:0 lower-pending:0 al-suspended:no blocked:no",
			ts+"change connection name:"+r+" peer-node-id:1 conn-name:node-b connection:Connected role:Primary congested:no ap-in-flight:18446744073709551608 rs-in-flight:0",
			ts+"change peer-device name:"+r+" peer-node-id:1 conn-name:node-b volume:0 replication:Established peer-disk:UpToDate peer-client:no resync-suspended:no received:0 sent:0 out-of-sync:0 pending:0 unacked:0",
			ts+"change connection name:"+r+" peer-node-id:2 conn-name:node-c connection:Connected role:Secondary congested:no ap-in-flight:0 rs-in-flight:0",
			ts+"change peer-device name:"+r+" peer-node-id:2 conn-name:node-c volume:0 replication:Established peer-disk:Diskless peer-client:yes resync-suspended:no received:0 sent:0 out-of-sync:0 pending:0 unacked:0",
		)
	}
	return lines
}

// BenchmarkParseAndApply measures the sidecar's hot path: one events2 line
// parsed and applied to a model of 1,000 resources. It reports lines/s.
func BenchmarkParseAndApply(b *testing.B) {
	lines := streamLines(1000)
	m := state.NewModel()
	var ev events2.Event
	for _, l := range lines {
		if err := events2.Parse(l, &ev); err != nil {
			b.Fatal(err)
		}
		if _, err := m.Apply(&ev); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := events2.Parse(lines[i%len(lines)], &ev); err != nil {
			b.Fatal(err)
		}
		if _, err := m.Apply(&ev); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkModelHeap builds a model of 1,000 resources with 2 peers each from
// a stream and reports the heap it holds; the target is under 20 MiB.
func BenchmarkModelHeap(b *testing.B) {
	lines := streamLines(1000)
	var heap float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		m := state.NewModel()
		var ev events2.Event
		for _, l := range lines {
			// Each line is a fresh string, as when read from a pipe, so a
			// model that kept substrings would pin every line.
			if err := events2.Parse(string([]byte(l)), &ev); err != nil {
				b.Fatal(err)
			}
			if _, err := m.Apply(&ev); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap = float64(after.HeapAlloc-before.HeapAlloc) / (1 << 20)
		runtime.KeepAlive(m)
		if m.Len() != 1000 {
			b.Fatalf("model has %d resources", m.Len())
		}
	}
	b.ReportMetric(heap, "heap-MiB")
	if heap >= 20 {
		b.Errorf("model of 1,000 resources holds %.1f MiB, want under 20 MiB", heap)
	}
}
