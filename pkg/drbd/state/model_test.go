package state_test

import (
	"fmt"
	"testing"

	"github.com/linstor-ha/linstor-ha/pkg/drbd/events2"
	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
)

func apply(t *testing.T, m *state.Model, lines ...string) {
	t.Helper()
	for _, line := range lines {
		var ev events2.Event
		if err := events2.Parse(line, &ev); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if _, err := m.Apply(&ev); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
	}
}

func TestApplyRejectsBadValuesAndChangesNothing(t *testing.T) {
	base := []string{
		"exists resource name:r0 role:Secondary suspended:no may_promote:no promotion_score:0",
		"exists device name:r0 volume:0 minor:1000 disk:UpToDate client:no open:no quorum:yes",
		"exists connection name:r0 peer-node-id:1 conn-name:b connection:Connected role:Secondary",
		"exists peer-device name:r0 peer-node-id:1 conn-name:b volume:0 replication:Established peer-disk:UpToDate peer-client:no",
	}
	for _, line := range []string{
		"change resource role:Primary",
		"change resource name: role:Primary",
		"change device name:r0 disk:Failed",
		"change device name:r0 volume:x disk:Failed",
		"change device name:r0 volume:-1 disk:Failed",
		"change device name:r0 volume:99999999999 disk:Failed",
		"change connection name:r0 conn-name:b connection:Connecting",
		"change peer-device name:r0 peer-node-id:1 peer-disk:Outdated",
		"change device name:r0 volume:0 disk:Failed quorum:maybe",
		"change device name:r0 volume:0 disk:Failed read:-5",
		"change connection name:r0 peer-node-id:1 connection:Connecting ap-in-flight:18446744073709551616",
		"change resource name:r0 role:Primary promotion_score:lots",
	} {
		m := state.NewModel()
		apply(t, m, base...)
		before := m.Names()
		r0, _ := m.Resource("r0")
		snapshot := r0.Clone()
		var ev events2.Event
		if err := events2.Parse(line, &ev); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if _, err := m.Apply(&ev); err == nil {
			t.Errorf("Apply(%q) succeeded, want an error", line)
		}
		r0, _ = m.Resource("r0")
		if fmt.Sprint(m.Names()) != fmt.Sprint(before) || !r0.Equal(snapshot) {
			t.Errorf("Apply(%q) changed the model", line)
		}
	}
}

func TestApplyAcceptsLargestCounters(t *testing.T) {
	m := state.NewModel()
	apply(t, m,
		"change connection name:r0 peer-node-id:0 conn-name:4b connection:Connecting role:Unknown congested:no ap-in-flight:18446744073709551608 rs-in-flight:18446744073709551615",
		"change device name:r0 volume:0 minor:4294967295 disk:UpToDate quorum:yes size:18446744073709551615",
	)
	r, _ := m.Resource("r0")
	if c := r.Connection("4b"); c == nil || c.State != state.ConnConnecting {
		t.Errorf("connection = %+v", c)
	}
	if len(r.Devices) != 1 || r.Devices[0].Disk != state.DiskUpToDate {
		t.Errorf("devices = %+v", r.Devices)
	}
}

func TestApplyToleratesUnknownObjectsKeysAndValues(t *testing.T) {
	m := state.NewModel()
	apply(t, m,
		"create resource name:r0 role:Secondary future-key:42",
		"create gizmo name:r0 whatever:1",
		"change device name:r0 volume:0 disk:Quantum quorum:yes",
		"destroy device name:r1 volume:3",
		"destroy connection name:r0 peer-node-id:7",
		"call helper name:r0 helper:fence-peer",
	)
	if m.Len() != 1 {
		t.Fatalf("resources %v, want [r0]", m.Names())
	}
	r, _ := m.Resource("r0")
	if r.Devices[0].Disk != "Quantum" || r.UpToDate() {
		t.Errorf("device = %+v", r.Devices[0])
	}
}

func TestDestroyRemovesChildren(t *testing.T) {
	m := state.NewModel()
	apply(t, m,
		"create connection name:r0 peer-node-id:1 conn-name:b connection:Connected role:Secondary",
		"create peer-device name:r0 peer-node-id:1 conn-name:b volume:0 peer-disk:UpToDate",
		"create peer-device name:r0 peer-node-id:1 conn-name:b volume:1 peer-disk:UpToDate",
		"create connection name:r0 peer-node-id:2 conn-name:c connection:Connected role:Secondary",
		"destroy peer-device name:r0 peer-node-id:1 conn-name:b volume:0",
	)
	r, _ := m.Resource("r0")
	if c := r.Connection("b"); c == nil || len(c.PeerDevices) != 1 || c.PeerDevices[0].Volume != 1 {
		t.Fatalf("connection b = %+v", c)
	}
	apply(t, m, "destroy connection name:r0 peer-node-id:1 conn-name:b")
	r, _ = m.Resource("r0")
	if len(r.Connections) != 1 || r.Connections[0].Name != "c" {
		t.Fatalf("connections = %+v", r.Connections)
	}
}

func TestQuestionsFailOverAsks(t *testing.T) {
	m := state.NewModel()
	apply(t, m,
		"exists resource name:r0 role:Primary suspended:quorum,user force-io-failures:no may_promote:no promotion_score:10100",
		"exists device name:r0 volume:0 disk:UpToDate client:no open:yes quorum:no",
		"exists connection name:r0 peer-node-id:1 conn-name:b connection:Connecting role:Unknown",
		"exists peer-device name:r0 peer-node-id:1 conn-name:b volume:0 replication:Off peer-disk:DUnknown",
		"exists connection name:r0 peer-node-id:2 conn-name:t connection:Connected role:Secondary",
		"exists peer-device name:r0 peer-node-id:2 conn-name:t volume:0 replication:Established peer-disk:Diskless peer-client:yes",
	)
	r, _ := m.Resource("r0")
	if r.HasQuorum() || !r.IOSuspended() || !r.InUse() || r.CanPromote() || r.Diskless() {
		t.Errorf("quorum=%v suspended=%v inUse=%v canPromote=%v diskless=%v", r.HasQuorum(), r.IOSuspended(), r.InUse(), r.CanPromote(), r.Diskless())
	}
	if got := r.SuspendedReasons(); fmt.Sprint(got) != "[quorum user]" {
		t.Errorf("SuspendedReasons = %v", got)
	}
	if got := connNames(r.DisconnectedPeers()); !equal(got, []string{"b"}) {
		t.Errorf("DisconnectedPeers = %v", got)
	}
	if got := r.UpToDatePeers(); len(got) != 0 {
		t.Errorf("UpToDatePeers = %v, a diskless tiebreaker holds no data", got)
	}
}

func TestComputeMayPromote(t *testing.T) {
	upToDatePeer := state.Connection{PeerNodeID: 1, Name: "b", State: state.ConnConnected, PeerRole: state.RoleSecondary,
		PeerDevices: []state.PeerDevice{{Volume: 0, PeerDisk: state.DiskUpToDate}}}
	tests := []struct {
		name string
		r    state.Resource
		want bool
	}{
		{"no devices", state.Resource{}, false},
		{"local UpToDate", state.Resource{Devices: []state.Device{{Disk: state.DiskUpToDate, Quorum: true}}}, true},
		{"no quorum", state.Resource{Devices: []state.Device{{Disk: state.DiskUpToDate}}}, false},
		{"failing I/O", state.Resource{ForceIOFailures: true, Devices: []state.Device{{Disk: state.DiskUpToDate, Quorum: true}}}, false},
		{"already Primary", state.Resource{Role: state.RolePrimary, Devices: []state.Device{{Disk: state.DiskUpToDate, Quorum: true}}}, false},
		{"diskless with UpToDate peer", state.Resource{Devices: []state.Device{{Disk: state.DiskDiskless, Quorum: true}}, Connections: []state.Connection{upToDatePeer}}, true},
		{"outdated without peer", state.Resource{Devices: []state.Device{{Disk: state.DiskOutdated, Quorum: true}}}, false},
		{"peer Primary", state.Resource{Devices: []state.Device{{Disk: state.DiskUpToDate, Quorum: true}},
			Connections: []state.Connection{{State: state.ConnConnected, PeerRole: state.RolePrimary}}}, false},
		{"UpToDate peer disconnected", state.Resource{Devices: []state.Device{{Disk: state.DiskDiskless, Quorum: true}},
			Connections: []state.Connection{{State: state.ConnConnecting, PeerDevices: []state.PeerDevice{{PeerDisk: state.DiskUpToDate}}}}}, false},
	}
	for _, tt := range tests {
		if got := state.ComputeMayPromote(&tt.r); got != tt.want {
			t.Errorf("%s: ComputeMayPromote = %v, want %v", tt.name, got, tt.want)
		}
		// Without a reported value, CanPromote is the rule.
		if got := tt.r.CanPromote(); got != tt.want {
			t.Errorf("%s: CanPromote = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestStoreReplaceReportsOnlyDifferences(t *testing.T) {
	s := state.NewStore()
	if s.Synced() {
		t.Fatal("new store claims to be synced")
	}
	first := state.NewModel()
	apply(t, first,
		"exists resource name:a role:Secondary",
		"exists resource name:b role:Secondary",
		"exists device name:b volume:0 disk:UpToDate quorum:yes",
	)
	if got := s.Replace(first); fmt.Sprint(got) != "[a b]" {
		t.Errorf("first Replace = %v, want [a b]", got)
	}
	if !s.Synced() {
		t.Error("store not synced after Replace")
	}
	s.MarkUnsynced()
	if s.Synced() {
		t.Error("store synced after MarkUnsynced")
	}
	// A device destroyed and nothing else: the leftover empty slice must
	// not count as a change against a fresh dump.
	s.Update(func(m *state.Model) {
		apply(t, m, "create device name:a volume:0 disk:UpToDate", "destroy device name:a volume:0")
	})
	second := state.NewModel()
	apply(t, second,
		"exists resource name:a role:Secondary",
		"exists device name:b volume:0 disk:Outdated quorum:yes",
		"exists resource name:c role:Secondary",
	)
	if got := s.Replace(second); fmt.Sprint(got) != "[b c]" {
		t.Errorf("second Replace = %v, want [b c]", got)
	}
	// b changed in place, c is new; a is unchanged.
	if r, _ := s.Get("b"); r.Devices[0].Disk != state.DiskOutdated {
		t.Errorf("b = %+v", r)
	}
	third := state.NewModel()
	apply(t, third, "exists resource name:a role:Secondary")
	if got := s.Replace(third); fmt.Sprint(got) != "[b c]" {
		t.Errorf("third Replace = %v, want the removed [b c]", got)
	}
	if s.Len() != 1 {
		t.Errorf("Len = %d", s.Len())
	}
}

func TestStoreReadersGetCopies(t *testing.T) {
	s := state.NewStore()
	s.Update(func(m *state.Model) { apply(t, m, "exists device name:a volume:0 disk:UpToDate") })
	r, _ := s.Get("a")
	r.Devices[0].Disk = state.DiskFailed
	again := s.List()
	if again[0].Devices[0].Disk != state.DiskUpToDate {
		t.Error("changing a copy changed the store")
	}
}
