package report_test

import (
	"testing"

	"github.com/linstor-ha/linstor-ha/csi-sidecar/report"
	"github.com/linstor-ha/linstor-ha/pkg/drbd/events2"
	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
)

func model(t *testing.T, lines ...string) *state.Model {
	t.Helper()
	m := state.NewModel()
	for _, l := range lines {
		var ev events2.Event
		if err := events2.Parse(l, &ev); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Apply(&ev); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func resources(m *state.Model) []*state.Resource {
	var out []*state.Resource
	for _, n := range m.Names() {
		r, _ := m.Resource(n)
		out = append(out, r)
	}
	return out
}

func TestStatusSummarisesHealth(t *testing.T) {
	m := model(t,
		// healthy: quorum, UpToDate, every peer connected
		"exists resource name:ok role:Primary suspended:no may_promote:no",
		"exists device name:ok volume:0 disk:UpToDate client:no open:yes quorum:yes",
		"exists connection name:ok peer-node-id:1 conn-name:b connection:Connected role:Secondary",
		"exists peer-device name:ok peer-node-id:1 conn-name:b volume:0 peer-disk:UpToDate",
		// degraded: a tiebreaker that lost one diskful peer
		"exists resource name:tb role:Secondary suspended:no may_promote:yes",
		"exists device name:tb volume:0 disk:Diskless client:yes open:no quorum:yes",
		"exists connection name:tb peer-node-id:0 conn-name:a connection:Connecting role:Unknown",
		"exists peer-device name:tb peer-node-id:0 conn-name:a volume:0 peer-disk:DUnknown",
		"exists connection name:tb peer-node-id:1 conn-name:b connection:Connected role:Secondary",
		"exists peer-device name:tb peer-node-id:1 conn-name:b volume:0 peer-disk:UpToDate",
		// without quorum, frozen
		"exists resource name:frozen role:Primary suspended:quorum may_promote:no",
		"exists device name:frozen volume:0 disk:UpToDate open:yes quorum:no",
		"exists device name:frozen volume:1 disk:Outdated open:yes quorum:no",
	)
	st := report.Status("node-a", "room-a", true, resources(m))
	if st.NodeName != "node-a" || st.Zone != "room-a" || !st.Synced {
		t.Errorf("status header = %+v", st)
	}
	if s := st.Summary; s.Resources != 3 || s.Healthy != 1 || s.Degraded != 1 || s.WithoutQuorum != 1 {
		t.Errorf("summary = %+v, want 3 resources: 1 healthy, 1 degraded, 1 without quorum", s)
	}
	if got := []string{st.Resources[0].Name, st.Resources[1].Name, st.Resources[2].Name}; got[0] != "frozen" || got[1] != "ok" || got[2] != "tb" {
		t.Errorf("resources not sorted: %v", got)
	}
	frozen := st.Resources[0]
	if frozen.Disk != state.DiskOutdated || frozen.Quorum || frozen.MayPromote || !frozen.InUse || len(frozen.Suspended) != 1 || frozen.Suspended[0] != "quorum" {
		t.Errorf("frozen = %+v, want the weakest disk (Outdated), no quorum, in use, suspended for quorum", frozen)
	}
	tb := st.Resources[2]
	if !tb.Diskless || !tb.Client || !tb.MayPromote || len(tb.Peers) != 2 || tb.Peers[0].Connection != state.ConnConnecting || tb.Peers[1].Disk != state.DiskUpToDate {
		t.Errorf("tiebreaker = %+v", tb)
	}
}

func TestResourceWithoutDevicesIsNotDiskless(t *testing.T) {
	m := model(t, "exists resource name:new role:Secondary")
	r, _ := m.Resource("new")
	rr := report.Resource(r)
	if rr.Diskless || rr.Quorum || report.Healthy(&rr) {
		t.Errorf("resource without devices = %+v, healthy %v", rr, report.Healthy(&rr))
	}
}
