package drbdsetup

import (
	"sync"
	"unicode/utf8"
)

// maxLogLine bounds how much of one line goes into a log message or an error.
const maxLogLine = 256

// tailBuffer keeps the last bytes written to it: enough of drbdsetup's
// stderr to say why it failed, without growing for a long-lived process.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// prefix returns s, or, when s is longer than max bytes, its first max bytes
// or fewer, cut at a UTF-8 character boundary, followed by "...".
func prefix(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
