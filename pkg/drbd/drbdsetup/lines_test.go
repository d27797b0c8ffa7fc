package drbdsetup

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestPrefix(t *testing.T) {
	tests := []struct {
		name, in string
		max      int
		want     string
	}{
		{name: "short", in: "exists -", max: 256, want: "exists -"},
		{name: "exactly max", in: strings.Repeat("a", 256), max: 256, want: strings.Repeat("a", 256)},
		{name: "long", in: strings.Repeat("a", 1<<20), max: 256, want: strings.Repeat("a", 256) + "..."},
		{name: "cut before a multi-byte character", in: "abc" + "é" + "xyz", max: 4, want: "abc..."},
		{name: "empty", in: "", max: 256, want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := prefix(tc.in, tc.max); got != tc.want {
				t.Errorf("prefix(%d bytes, %d) = %q (%d bytes), want %q", len(tc.in), tc.max, got, len(got), tc.want)
			}
		})
	}
}

type line struct {
	text   string
	length int
}

func TestLineReader(t *testing.T) {
	long := strings.Repeat("L", 1000)
	tests := []struct {
		name string
		in   string
		want []line
	}{
		{name: "empty stream", in: "", want: nil},
		{name: "lines", in: "a\nbb\n", want: []line{{"a", 1}, {"bb", 2}}},
		{name: "empty lines", in: "\n\n", want: []line{{"", 0}, {"", 0}}},
		{name: "crlf and a last line without newline", in: "a\r\nb", want: []line{{"a", 1}, {"b", 1}}},
		{name: "line over several buffers", in: strings.Repeat("m", 35) + "\nz\n", want: []line{{strings.Repeat("m", 35), 35}, {"z", 1}}},
		{name: "at the limit", in: strings.Repeat("k", 39) + "\n", want: []line{{strings.Repeat("k", 39), 39}}},
		{name: "over the limit", in: strings.Repeat("k", 40) + "\nz\n", want: []line{{strings.Repeat("k", 40) + "\n", 41}, {"z", 1}}},
		{name: "long line in the middle", in: "a\n" + long + "\nb\n", want: []line{{"a", 1}, {long[:maxLogLine+1], 1001}, {"b", 1}}},
		{name: "long last line without newline", in: "a\n" + long, want: []line{{"a", 1}, {long[:maxLogLine+1], 1000}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, reader := range []struct {
				name string
				r    io.Reader
			}{
				{"whole", strings.NewReader(tc.in)},
				{"byte by byte", iotest.OneByteReader(strings.NewReader(tc.in))},
			} {
				lr := &lineReader{r: bufio.NewReaderSize(reader.r, 16), max: 40}
				var got []line
				for {
					text, length, err := lr.next()
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Fatalf("%s: next: %v", reader.name, err)
					}
					got = append(got, line{string(text), length})
				}
				if len(got) != len(tc.want) {
					t.Fatalf("%s: got %+v, want %+v", reader.name, got, tc.want)
				}
				for i := range got {
					if got[i] != tc.want[i] {
						t.Errorf("%s: line %d = %+v, want %+v", reader.name, i, got[i], tc.want[i])
					}
				}
			}
		})
	}
}

func TestLineReaderReadError(t *testing.T) {
	boom := errors.New("boom")
	lr := newLineReader(io.MultiReader(strings.NewReader("a\nb"), iotest.ErrReader(boom)), 40)
	if text, _, err := lr.next(); err != nil || string(text) != "a" {
		t.Fatalf("next = %q, %v, want a", text, err)
	}
	if _, _, err := lr.next(); !errors.Is(err, boom) {
		t.Fatalf("next = %v, want %v", err, boom)
	}
}
