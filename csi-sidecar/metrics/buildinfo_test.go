package metrics

import (
	"testing"

	"github.com/linstor-ha/linstor-ha/pkg/buildinfo"
)

// TestBuildInfoServed: the sidecar's registry serves linstor_ha_build_info
// with value 1.
func TestBuildInfoServed(t *testing.T) {
	families, err := New().Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == buildinfo.Name {
			if len(f.GetMetric()) != 1 || f.GetMetric()[0].GetGauge().GetValue() != 1 {
				t.Errorf("%s = %v, want one series of value 1", buildinfo.Name, f.GetMetric())
			}
			return
		}
	}
	t.Errorf("the sidecar's registry does not serve %s", buildinfo.Name)
}
