package events2

// Append appends the line for ev, without a line break, to b. The timestamp
// is written when ev.Time is set.
func Append(b []byte, ev *Event) []byte {
	if !ev.Time.IsZero() {
		b = ev.Time.AppendFormat(b, TimeLayout)
		b = append(b, ' ')
	}
	b = append(b, ev.Verb.String()...)
	b = append(b, ' ')
	if ev.Object == ObjectOther {
		b = append(b, ev.ObjectName...)
	} else {
		b = append(b, ev.Object.String()...)
	}
	for _, f := range ev.Fields {
		b = append(b, ' ')
		b = append(b, f.Key...)
		b = append(b, ':')
		b = append(b, f.Value...)
	}
	return b
}

// String returns the line for ev.
func (e *Event) String() string {
	return string(Append(nil, e))
}
