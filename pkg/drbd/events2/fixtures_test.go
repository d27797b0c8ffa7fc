package events2_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixtureDir holds real drbdsetup events2 output.
const fixtureDir = "../testdata/events2"

// placeholderTime is what the drbd-utils tests print in place of a
// timestamp; fixtureLines puts a real one there.
const placeholderTime = "TIME "

// fixtureLines returns the lines of every reference stream, by file name.
func fixtureLines(tb testing.TB) map[string][]string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(fixtureDir, "*.txt"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no fixtures in %s: %v", fixtureDir, err)
	}
	out := make(map[string][]string, len(files))
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			tb.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		var lines []string
		for sc.Scan() {
			line := sc.Text()
			if rest, ok := strings.CutPrefix(line, placeholderTime); ok {
				line = "2026-11-22T10:00:00.123456+01:00 " + rest
			}
			lines = append(lines, line)
		}
		fh.Close()
		if err := sc.Err(); err != nil {
			tb.Fatal(err)
		}
		out[filepath.Base(f)] = lines
	}
	return out
}
