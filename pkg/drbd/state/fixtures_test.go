package state_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/linstor-ha/linstor-ha/pkg/drbd/events2"
	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
)

const fixtureDir = "../testdata/events2"

// loadFixture applies one reference stream to a new model. TIME, the
// drbd-utils placeholder for a timestamp, is replaced by a real one.
func loadFixture(t *testing.T, name string) (*state.Model, []events2.Event) {
	t.Helper()
	fh, err := os.Open(filepath.Join(fixtureDir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	m := state.NewModel()
	var evs []events2.Event
	sc := bufio.NewScanner(fh)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "TIME "); ok {
			line = "2026-11-22T10:00:00.000001Z " + rest
		}
		var ev events2.Event
		if err := events2.Parse(line, &ev); err != nil {
			t.Fatalf("%s:%d: %v", name, n, err)
		}
		if _, err := m.Apply(&ev); err != nil {
			t.Fatalf("%s:%d: %v", name, n, err)
		}
		evs = append(evs, ev)
	}
	return m, evs
}

func fixtureNames(t *testing.T) []string {
	files, err := filepath.Glob(filepath.Join(fixtureDir, "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures in %s: %v", fixtureDir, err)
	}
	for i := range files {
		files[i] = filepath.Base(files[i])
	}
	return files
}

// TestEveryFixtureMatchesItsLastWord builds, for every reference stream, the
// last value the stream gave each key of each object, independently of the
// model, and checks that the model holds exactly those values.
func TestEveryFixtureMatchesItsLastWord(t *testing.T) {
	for _, name := range fixtureNames(t) {
		t.Run(name, func(t *testing.T) {
			m, evs := loadFixture(t, name)
			want := lastWord(evs)
			got := 0
			for _, rname := range m.Names() {
				r, _ := m.Resource(rname)
				for key, fields := range flatten(r) {
					got++
					w, ok := want[key]
					if !ok {
						t.Errorf("model has %s, the stream never created it", key)
						continue
					}
					for k, v := range fields {
						// Keys the stream never gave keep their zero value.
						if wv, said := w[k]; said && wv != v {
							t.Errorf("%s %s = %q, stream says %q", key, k, v, w[k])
						}
					}
				}
			}
			if got != len(want) {
				t.Errorf("model has %d objects, stream leaves %d: %v", got, len(want), want)
			}
		})
	}
}

// lastWord folds a stream into object key -> field -> last value, dropping
// destroyed objects and their children.
func lastWord(evs []events2.Event) map[string]map[string]string {
	objs := map[string]map[string]string{}
	for i := range evs {
		ev := &evs[i]
		var key string
		switch ev.Object {
		case events2.ObjectResource, events2.ObjectDevice, events2.ObjectConnection, events2.ObjectPeerDevice:
			key = objectKey(ev.Object.String(), get(ev, "name"), get(ev, "volume"), get(ev, "peer-node-id"))
		default:
			continue
		}
		if ev.Verb == events2.VerbDestroy {
			for k := range objs {
				if k == key || strings.HasPrefix(k, key+"/") || (ev.Object == events2.ObjectConnection && strings.HasPrefix(k, "peer-device "+strings.TrimPrefix(key, "connection "))) {
					delete(objs, k)
				}
			}
			continue
		}
		o := objs[key]
		if o == nil {
			o = map[string]string{}
			objs[key] = o
			// Parents appear implicitly when a child arrives first.
			parent := objectKey("resource", get(ev, "name"), "", "")
			if objs[parent] == nil {
				objs[parent] = map[string]string{}
			}
			if ev.Object == events2.ObjectPeerDevice {
				ck := objectKey("connection", get(ev, "name"), "", get(ev, "peer-node-id"))
				if objs[ck] == nil {
					objs[ck] = map[string]string{}
				}
			}
		}
		for _, f := range ev.Fields {
			o[f.Key] = f.Value
		}
	}
	return objs
}

func get(ev *events2.Event, key string) string {
	v, _ := ev.Get(key)
	return v
}

func objectKey(object, name, volume, peer string) string {
	switch object {
	case "resource":
		return "resource " + name
	case "device":
		return "device " + name + "/" + volume
	case "connection":
		return "connection " + name + "/" + peer
	}
	return "peer-device " + name + "/" + peer + "/" + volume
}

// flatten turns the model's view of a resource into the same shape, with
// only the keys the model keeps.
func flatten(r *state.Resource) map[string]map[string]string {
	yesNo := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	out := map[string]map[string]string{}
	res := map[string]string{}
	if r.Role != "" {
		res["role"] = r.Role
	}
	if r.Suspended != "" {
		res["suspended"] = r.Suspended
	}
	if r.MayPromote != state.FlagUnknown {
		res["may_promote"] = r.MayPromote.String()
	}
	out[objectKey("resource", r.Name, "", "")] = res
	for _, d := range r.Devices {
		dev := map[string]string{"disk": d.Disk}
		if d.Disk == "" {
			delete(dev, "disk")
		}
		dev["quorum"], dev["open"], dev["client"] = yesNo(d.Quorum), yesNo(d.Open), yesNo(d.Client)
		out[objectKey("device", r.Name, itoa(d.Volume), "")] = dev
	}
	for _, c := range r.Connections {
		conn := map[string]string{"conn-name": c.Name}
		if c.State != "" {
			conn["connection"], conn["role"] = c.State, c.PeerRole
		}
		out[objectKey("connection", r.Name, "", itoa(c.PeerNodeID))] = conn
		for _, p := range c.PeerDevices {
			out[objectKey("peer-device", r.Name, itoa(p.Volume), itoa(c.PeerNodeID))] = map[string]string{
				"replication": p.Replication, "peer-disk": p.PeerDisk, "peer-client": yesNo(p.PeerClient),
			}
		}
	}
	return out
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }
