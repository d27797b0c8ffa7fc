package drbdsim

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/linstor-ha/linstor-ha/pkg/drbd/events2"
	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
)

// object is one events2 object of a node's view (resource, device,
// connection, peer-device or path) with its fields as drbdsetup prints
// them.
type object struct {
	kind events2.Object
	// id are the identity keys that start every line about the object;
	// destroy lines carry only the first destroyKeys of them.
	id          []events2.Field
	destroyKeys int
	// groups are the other fields in line order. drbdsetup prints a group
	// whole when any of its fields changed (a device's disk, open and
	// quorum always come together, for example).
	groups []fieldGroup
}

type fieldGroup struct {
	// stats marks the counters that only --statistics prints.
	stats  bool
	fields []events2.Field
}

func (o *object) key() string {
	var b strings.Builder
	b.WriteString(o.kind.String())
	for _, f := range o.id {
		b.WriteByte(' ')
		b.WriteString(f.Value)
	}
	return b.String()
}

func field(key, value string) events2.Field { return events2.Field{Key: key, Value: value} }

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func itoa[T ~int32 | ~int64 | ~uint32 | ~uint16 | ~uint64](n T) string {
	return strconv.FormatInt(int64(n), 10)
}

func group(fields ...events2.Field) fieldGroup { return fieldGroup{fields: fields} }

func statsGroup(fields ...events2.Field) fieldGroup { return fieldGroup{stats: true, fields: fields} }

// nodeAddress is a node's address on the replication network.
func nodeAddress(n *node) string {
	i := n.index + 1
	return fmt.Sprintf("10.%d.%d.%d", (i>>16)&255, (i>>8)&255, i&255)
}

// backingDisk is the backing device LINSTOR would create for a volume.
func backingDisk(r *replica, vol int32) string {
	if !r.kind.diskful() {
		return "none"
	}
	return fmt.Sprintf("/dev/linstor_pool/%s_%05d", r.res.spec.Name, vol)
}

func writeOrdering(r *replica) string {
	if r.kind.diskful() {
		return "flush"
	}
	return "none"
}

// renderObjects returns the objects of r's view in the order drbdsetup
// prints a new resource: the resource, its devices, its connections, their
// peer devices and their paths.
func (c *Cluster) renderObjects(r *replica) []object {
	view := c.renderView(r)
	res := r.res
	name := field("name", res.spec.Name)
	objs := []object{{
		kind: events2.ObjectResource, id: []events2.Field{name}, destroyKeys: 1,
		groups: []fieldGroup{
			group(field("role", view.Role)),
			group(field("suspended", view.Suspended)),
			group(field("force-io-failures", yesNo(view.ForceIOFailures))),
			statsGroup(field("write-ordering", writeOrdering(r))),
			group(field("may_promote", yesNo(view.MayPromote == state.FlagYes)), field("promotion_score", itoa(view.PromotionScore))),
		},
	}}
	for _, d := range view.Devices {
		objs = append(objs, object{
			kind:        events2.ObjectDevice,
			id:          []events2.Field{name, field("volume", itoa(d.Volume)), field("minor", itoa(d.Minor))},
			destroyKeys: 2,
			groups: []fieldGroup{
				group(field("backing_dev", backingDisk(r, d.Volume)), field("disk", d.Disk), field("client", yesNo(d.Client)),
					field("open", yesNo(d.Open)), field("quorum", yesNo(d.Quorum))),
				statsGroup(field("size", itoa(res.spec.SizeKiB)), field("read", "0"), field("written", "0"),
					field("al-writes", "0"), field("bm-writes", "0"), field("upper-pending", "0"), field("lower-pending", "0"),
					field("al-suspended", "no"), field("blocked", "no")),
			},
		})
	}
	connID := func(conn *state.Connection) []events2.Field {
		return []events2.Field{name, field("peer-node-id", itoa(conn.PeerNodeID)), field("conn-name", conn.Name)}
	}
	for i := range view.Connections {
		conn := &view.Connections[i]
		objs = append(objs, object{
			kind: events2.ObjectConnection, id: connID(conn), destroyKeys: 3,
			groups: []fieldGroup{
				group(field("connection", conn.State)),
				group(field("role", conn.PeerRole)),
				statsGroup(field("congested", "no"), field("ap-in-flight", "0"), field("rs-in-flight", "0")),
			},
		})
	}
	for i := range view.Connections {
		conn := &view.Connections[i]
		for _, pd := range conn.PeerDevices {
			id := append(connID(conn), field("volume", itoa(pd.Volume)))
			objs = append(objs, object{
				kind: events2.ObjectPeerDevice, id: id, destroyKeys: len(id),
				groups: []fieldGroup{
					group(field("replication", pd.Replication)),
					group(field("peer-disk", pd.PeerDisk), field("peer-client", yesNo(pd.PeerClient))),
					group(field("resync-suspended", pd.ResyncSuspended)),
					statsGroup(field("received", "0"), field("sent", "0"), field("out-of-sync", "0"),
						field("pending", "0"), field("unacked", "0")),
				},
			})
		}
	}
	for i := range view.Connections {
		conn := &view.Connections[i]
		peer := res.byID(conn.PeerNodeID)
		id := append(connID(conn),
			field("local", fmt.Sprintf("ipv4:%s:%d", nodeAddress(r.node), res.port)),
			field("peer", fmt.Sprintf("ipv4:%s:%d", nodeAddress(peer.node), res.port)))
		objs = append(objs, object{
			kind: events2.ObjectPath, id: id, destroyKeys: len(id),
			groups: []fieldGroup{group(field("established", yesNo(conn.State == state.ConnConnected)))},
		})
	}
	return objs
}

// renderNode returns the objects of every resource a node runs.
func (c *Cluster) renderNode(n *node) map[string][]object {
	out := make(map[string][]object)
	for _, res := range c.sortedResources() {
		if r := res.replicaOn(n); r != nil && r.live() {
			out[res.spec.Name] = c.renderObjects(r)
		}
	}
	return out
}

// change is one line's worth of difference between two renderings.
type change struct {
	verb     events2.Verb
	old, new *object
}

// diffObjects lists what changed from old to new: creates and changes in
// the order of new, then destroys in the reverse order of old, so that
// sub-objects go before the objects that hold them.
func diffObjects(old, new []object) []change {
	oldByKey := make(map[string]*object, len(old))
	for i := range old {
		oldByKey[old[i].key()] = &old[i]
	}
	var out []change
	seen := make(map[string]bool, len(new))
	for i := range new {
		n := &new[i]
		k := n.key()
		seen[k] = true
		o, ok := oldByKey[k]
		switch {
		case !ok:
			out = append(out, change{verb: events2.VerbCreate, new: n})
		case !slices.EqualFunc(o.groups, n.groups, groupEqual):
			out = append(out, change{verb: events2.VerbChange, old: o, new: n})
		}
	}
	for i := len(old) - 1; i >= 0; i-- {
		if !seen[old[i].key()] {
			out = append(out, change{verb: events2.VerbDestroy, old: &old[i]})
		}
	}
	return out
}

func groupEqual(a, b fieldGroup) bool {
	return a.stats == b.stats && slices.Equal(a.fields, b.fields)
}

// formatChange renders ch as an events2 line for a subscriber, and false
// when the subscriber is told nothing (a change of counters it does not
// follow).
func formatChange(ch change, opts SubscribeOptions, ts time.Time) (string, bool) {
	ev := events2.Event{Verb: ch.verb}
	if opts.Timestamps {
		ev.Time = ts.Local()
	}
	stats := opts.statistics()
	switch ch.verb {
	case events2.VerbDestroy:
		ev.Object = ch.old.kind
		ev.Fields = ch.old.id[:ch.old.destroyKeys]
	case events2.VerbChange:
		ev.Object = ch.new.kind
		ev.Fields = slices.Clone(ch.new.id)
		printed := false
		for i, g := range ch.new.groups {
			if (g.stats && !stats) || (!opts.Full && groupEqual(g, ch.old.groups[i])) {
				continue
			}
			ev.Fields = append(ev.Fields, g.fields...)
			printed = true
		}
		if !printed {
			return "", false
		}
	default: // exists and create carry everything
		ev.Object = ch.new.kind
		ev.Fields = slices.Clone(ch.new.id)
		for _, g := range ch.new.groups {
			if !g.stats || stats {
				ev.Fields = append(ev.Fields, g.fields...)
			}
		}
	}
	return string(events2.Append(nil, &ev)), true
}

// endOfDump is the "exists -" line that ends the initial state dump.
func endOfDump(opts SubscribeOptions, ts time.Time) string {
	ev := events2.Event{Verb: events2.VerbExists, Object: events2.ObjectNone}
	if opts.Timestamps {
		ev.Time = ts.Local()
	}
	return string(events2.Append(nil, &ev))
}

// dumpLines is the initial state dump of a node for a subscriber.
func dumpLines(objs map[string][]object, opts SubscribeOptions, ts time.Time) []string {
	names := make([]string, 0, len(objs))
	for name := range objs {
		names = append(names, name)
	}
	slices.Sort(names)
	var lines []string
	for _, name := range names {
		if !opts.wants(name) {
			continue
		}
		for i := range objs[name] {
			line, _ := formatChange(change{verb: events2.VerbExists, new: &objs[name][i]}, opts, ts)
			lines = append(lines, line)
		}
	}
	return append(lines, endOfDump(opts, ts))
}
