package events2

import "time"

// Verb is what happened to an object.
type Verb uint8

// The verbs of events2. VerbExists lines make up the initial state dump,
// which ends with the line "exists -".
const (
	VerbUnknown Verb = iota
	VerbExists
	VerbCreate
	VerbChange
	VerbDestroy
	VerbCall
	VerbResponse
)

var verbNames = [...]string{"", "exists", "create", "change", "destroy", "call", "response"}

func (v Verb) String() string {
	if int(v) < len(verbNames) && v != VerbUnknown {
		return verbNames[v]
	}
	return "unknown"
}

func parseVerb(s string) Verb {
	switch s {
	case "exists":
		return VerbExists
	case "create":
		return VerbCreate
	case "change":
		return VerbChange
	case "destroy":
		return VerbDestroy
	case "call":
		return VerbCall
	case "response":
		return VerbResponse
	}
	return VerbUnknown
}

// Object is the kind of DRBD object a line is about.
type Object uint8

// The objects of events2. ObjectNone is the object of the "exists -" line;
// ObjectOther stands for any object this package does not know, whose name
// is kept in Event.ObjectName.
const (
	ObjectNone Object = iota
	ObjectResource
	ObjectDevice
	ObjectConnection
	ObjectPeerDevice
	ObjectPath
	ObjectHelper
	ObjectOther
)

var objectNames = [...]string{"-", "resource", "device", "connection", "peer-device", "path", "helper"}

func (o Object) String() string {
	if int(o) < len(objectNames) {
		return objectNames[o]
	}
	return "other"
}

func parseObject(s string) Object {
	switch s {
	case "-":
		return ObjectNone
	case "resource":
		return ObjectResource
	case "device":
		return ObjectDevice
	case "connection":
		return ObjectConnection
	case "peer-device":
		return ObjectPeerDevice
	case "path":
		return ObjectPath
	case "helper":
		return ObjectHelper
	}
	return ObjectOther
}

// Field is one KEY:VALUE pair of a line.
type Field struct {
	Key, Value string
}

// Event is one parsed events2 line.
type Event struct {
	// Time is the line's timestamp; zero when the stream has no timestamps.
	Time time.Time
	Verb Verb
	// Object is the kind of object; for ObjectOther, ObjectName holds the
	// object as written.
	Object     Object
	ObjectName string
	// Fields are the KEY:VALUE pairs in line order, identity keys included.
	Fields []Field
}

// EndOfInitialState reports whether this is the "exists -" line that ends
// the initial state dump.
func (e *Event) EndOfInitialState() bool {
	return e.Verb == VerbExists && e.Object == ObjectNone
}

// Get returns the value of key, and whether the line carries it.
func (e *Event) Get(key string) (string, bool) {
	for i := range e.Fields {
		if e.Fields[i].Key == key {
			return e.Fields[i].Value, true
		}
	}
	return "", false
}

// Reset clears the event for reuse, keeping the capacity of Fields.
func (e *Event) Reset() {
	*e = Event{Fields: e.Fields[:0]}
}
