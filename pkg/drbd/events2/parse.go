package events2

import (
	"fmt"
	"strings"
	"time"
)

// TimeLayout is the timestamp format of `drbdsetup events2 --timestamps`:
// RFC 3339 with microseconds and the local offset.
const TimeLayout = "2006-01-02T15:04:05.000000Z07:00"

// ParseError says why a line is not a valid events2 line.
type ParseError struct {
	Line   string
	Reason string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("invalid events2 line %q: %s", truncate(e.Line, 200), e.Reason)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// Parse fills ev from one line (without its line break). A line may start
// with a timestamp. On error ev is left in an unspecified state and must
// not be used. The strings in ev alias line.
func Parse(line string, ev *Event) error {
	ev.Reset()
	rest := strings.TrimRight(line, " \t\r")
	tok, rest := nextToken(rest)
	if tok == "" {
		return &ParseError{Line: line, Reason: "empty line"}
	}
	if ev.Verb = parseVerb(tok); ev.Verb == VerbUnknown {
		// Not a verb, so it must be the timestamp of --timestamps.
		t, err := time.Parse(time.RFC3339Nano, tok)
		if err != nil {
			return &ParseError{Line: line, Reason: fmt.Sprintf("%q is neither a verb nor a timestamp", truncate(tok, 40))}
		}
		ev.Time = t
		tok, rest = nextToken(rest)
		if ev.Verb = parseVerb(tok); ev.Verb == VerbUnknown {
			return &ParseError{Line: line, Reason: fmt.Sprintf("unknown verb %q", truncate(tok, 40))}
		}
	}
	tok, rest = nextToken(rest)
	if tok == "" {
		return &ParseError{Line: line, Reason: "missing object"}
	}
	ev.Object = parseObject(tok)
	if ev.Object == ObjectOther {
		ev.ObjectName = tok
	}
	if ev.Object == ObjectNone {
		if ev.Verb != VerbExists {
			return &ParseError{Line: line, Reason: `object "-" only ends the initial dump ("exists -")`}
		}
		if rest != "" {
			return &ParseError{Line: line, Reason: `unexpected text after "exists -"`}
		}
		return nil
	}
	for rest != "" {
		tok, rest = nextToken(rest)
		if tok == "" {
			break
		}
		key, value, ok := strings.Cut(tok, ":")
		if !ok || key == "" {
			return &ParseError{Line: line, Reason: fmt.Sprintf("%q is not KEY:VALUE", truncate(tok, 40))}
		}
		ev.Fields = append(ev.Fields, Field{Key: key, Value: value})
	}
	return nil
}

// nextToken returns the text up to the next blank, and what follows it with
// leading blanks removed.
func nextToken(s string) (tok, rest string) {
	s = strings.TrimLeft(s, " \t")
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimLeft(s[i+1:], " \t")
}
