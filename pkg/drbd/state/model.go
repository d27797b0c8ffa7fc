package state

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/linstor-ha/linstor-ha/pkg/drbd/events2"
)

// Model is the state of every DRBD resource of one node, built from events2
// lines. It is not safe for concurrent use.
type Model struct {
	resources map[string]*Resource
}

// NewModel returns an empty model.
func NewModel() *Model {
	return &Model{resources: make(map[string]*Resource)}
}

// Len returns the number of resources.
func (m *Model) Len() int { return len(m.resources) }

// Resource returns the resource called name. The result belongs to the
// model: do not change or keep it across Apply.
func (m *Model) Resource(name string) (*Resource, bool) {
	r, ok := m.resources[name]
	return r, ok
}

// Names returns the names of all resources, sorted.
func (m *Model) Names() []string {
	names := make([]string, 0, len(m.resources))
	for n := range m.resources {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Apply changes the model by one event and returns the name of the resource
// it touched ("" for events that touch none, such as "exists -" or helper
// calls). A malformed event returns an error and changes nothing.
//
// Apply tolerates what real streams contain: lines out of order (a change or
// a sub-object before its create; missing objects are created on the fly),
// destroys of unknown objects, unknown objects and unknown keys.
func (m *Model) Apply(ev *events2.Event) (string, error) {
	switch ev.Object {
	case events2.ObjectNone, events2.ObjectHelper, events2.ObjectPath, events2.ObjectOther:
		// Paths and helper calls carry nothing fail-over uses; unknown
		// objects are tolerated by definition.
		return "", nil
	}
	if ev.Verb == events2.VerbCall || ev.Verb == events2.VerbResponse {
		return "", nil
	}
	id, err := identify(ev)
	if err != nil {
		return "", err
	}
	if ev.Verb == events2.VerbDestroy {
		return id.name, m.destroy(ev.Object, id)
	}
	// Validate every value before touching the model, so that a bad line
	// changes nothing.
	if err := validate(ev); err != nil {
		return "", err
	}
	r := m.resources[id.name]
	if r == nil {
		r = &Resource{Name: strings.Clone(id.name)}
		m.resources[r.Name] = r
	}
	switch ev.Object {
	case events2.ObjectResource:
		applyResource(r, ev)
	case events2.ObjectDevice:
		applyDevice(r.device(id.volume), ev)
	case events2.ObjectConnection:
		applyConnection(r.connection(id.peer, id.connName), ev)
	case events2.ObjectPeerDevice:
		applyPeerDevice(r.connection(id.peer, id.connName).peerDevice(id.volume), ev)
	}
	return r.Name, nil
}

// identity holds the keys that name the object of an event.
type identity struct {
	name     string
	volume   int32
	peer     int32
	connName string
}

func identify(ev *events2.Event) (identity, error) {
	var id identity
	var ok bool
	if id.name, ok = ev.Get("name"); !ok || id.name == "" {
		return id, fmt.Errorf("%s %s without a name", ev.Verb, ev.Object)
	}
	var err error
	if ev.Object == events2.ObjectDevice || ev.Object == events2.ObjectPeerDevice {
		if id.volume, err = int32Field(ev, "volume"); err != nil {
			return id, err
		}
	}
	if ev.Object == events2.ObjectConnection || ev.Object == events2.ObjectPeerDevice {
		if id.peer, err = int32Field(ev, "peer-node-id"); err != nil {
			return id, err
		}
		id.connName, _ = ev.Get("conn-name")
	}
	return id, nil
}

func int32Field(ev *events2.Event, key string) (int32, error) {
	v, ok := ev.Get(key)
	if !ok {
		return 0, fmt.Errorf("%s %s without %s", ev.Verb, ev.Object, key)
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s %s: invalid %s %q", ev.Verb, ev.Object, key, v)
	}
	return int32(n), nil
}

// boolKeys and counterKeys are the keys whose values are checked: a boolean
// must be yes or no, a counter an unsigned 64-bit number (drbd prints
// underflowed counters such as 18446744073709551608).
var boolKeys = map[string]bool{
	"may_promote": true, "force-io-failures": true, "client": true, "quorum": true,
	"open": true, "peer-client": true, "congested": true, "al-suspended": true,
	"blocked": true, "established": true,
}

var counterKeys = map[string]bool{
	"minor": true, "size": true, "read": true, "written": true, "al-writes": true,
	"bm-writes": true, "upper-pending": true, "lower-pending": true,
	"ap-in-flight": true, "rs-in-flight": true, "received": true, "sent": true,
	"out-of-sync": true, "pending": true, "unacked": true,
}

func validate(ev *events2.Event) error {
	for _, f := range ev.Fields {
		switch {
		case boolKeys[f.Key]:
			if f.Value != "yes" && f.Value != "no" {
				return fmt.Errorf("%s %s: %s must be yes or no, not %q", ev.Verb, ev.Object, f.Key, f.Value)
			}
		case counterKeys[f.Key]:
			if _, err := strconv.ParseUint(f.Value, 10, 64); err != nil {
				return fmt.Errorf("%s %s: %s must be an unsigned number, not %q", ev.Verb, ev.Object, f.Key, f.Value)
			}
		case f.Key == "promotion_score":
			if _, err := strconv.ParseInt(f.Value, 10, 64); err != nil {
				return fmt.Errorf("%s %s: promotion_score must be a number, not %q", ev.Verb, ev.Object, f.Value)
			}
		}
	}
	return nil
}

func applyResource(r *Resource, ev *events2.Event) {
	for _, f := range ev.Fields {
		switch f.Key {
		case "role":
			r.Role = intern(f.Value)
		case "suspended":
			r.Suspended = intern(f.Value)
		case "may_promote":
			r.MayPromote = FlagNo
			if f.Value == "yes" {
				r.MayPromote = FlagYes
			}
		case "promotion_score":
			r.PromotionScore, _ = strconv.ParseInt(f.Value, 10, 64)
		case "force-io-failures":
			r.ForceIOFailures = f.Value == "yes"
		}
	}
}

func applyDevice(d *Device, ev *events2.Event) {
	for _, f := range ev.Fields {
		switch f.Key {
		case "minor":
			n, _ := strconv.ParseUint(f.Value, 10, 64)
			d.Minor = int32(min(n, math.MaxInt32))
		case "disk":
			d.Disk = intern(f.Value)
		case "client":
			d.Client = f.Value == "yes"
		case "quorum":
			d.Quorum = f.Value == "yes"
		case "open":
			d.Open = f.Value == "yes"
		}
	}
}

func applyConnection(c *Connection, ev *events2.Event) {
	for _, f := range ev.Fields {
		switch f.Key {
		case "connection":
			c.State = intern(f.Value)
		case "role":
			c.PeerRole = intern(f.Value)
		}
	}
}

func applyPeerDevice(p *PeerDevice, ev *events2.Event) {
	for _, f := range ev.Fields {
		switch f.Key {
		case "replication":
			p.Replication = intern(f.Value)
		case "peer-disk":
			p.PeerDisk = intern(f.Value)
		case "peer-client":
			p.PeerClient = f.Value == "yes"
		case "resync-suspended":
			p.ResyncSuspended = intern(f.Value)
		}
	}
}

func (m *Model) destroy(obj events2.Object, id identity) error {
	r := m.resources[id.name]
	if r == nil {
		return nil
	}
	switch obj {
	case events2.ObjectResource:
		delete(m.resources, id.name)
	case events2.ObjectDevice:
		r.Devices = slices.DeleteFunc(r.Devices, func(d Device) bool { return d.Volume == id.volume })
	case events2.ObjectConnection:
		r.Connections = slices.DeleteFunc(r.Connections, func(c Connection) bool { return c.PeerNodeID == id.peer })
	case events2.ObjectPeerDevice:
		if i := r.connectionIndex(id.peer); i >= 0 {
			c := &r.Connections[i]
			c.PeerDevices = slices.DeleteFunc(c.PeerDevices, func(p PeerDevice) bool { return p.Volume == id.volume })
		}
	}
	return nil
}

// device returns the device of a volume, adding it in volume order.
func (r *Resource) device(volume int32) *Device {
	i, found := slices.BinarySearchFunc(r.Devices, volume, func(d Device, v int32) int { return int(d.Volume) - int(v) })
	if !found {
		r.Devices = slices.Insert(r.Devices, i, Device{Volume: volume})
	}
	return &r.Devices[i]
}

func (r *Resource) connectionIndex(peer int32) int {
	for i := range r.Connections {
		if r.Connections[i].PeerNodeID == peer {
			return i
		}
	}
	return -1
}

// connection returns the connection to a peer, adding it in peer order.
func (r *Resource) connection(peer int32, name string) *Connection {
	i, found := slices.BinarySearchFunc(r.Connections, peer, func(c Connection, p int32) int { return int(c.PeerNodeID) - int(p) })
	if !found {
		r.Connections = slices.Insert(r.Connections, i, Connection{PeerNodeID: peer})
	}
	c := &r.Connections[i]
	if name != "" && c.Name != name {
		c.Name = strings.Clone(name)
	}
	return c
}

// peerDevice returns the peer device of a volume, adding it in volume order.
func (c *Connection) peerDevice(volume int32) *PeerDevice {
	i, found := slices.BinarySearchFunc(c.PeerDevices, volume, func(p PeerDevice, v int32) int { return int(p.Volume) - int(v) })
	if !found {
		c.PeerDevices = slices.Insert(c.PeerDevices, i, PeerDevice{Volume: volume})
	}
	return &c.PeerDevices[i]
}
