package buildinfo

import (
	"runtime"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/linstor-ha/linstor-ha/pkg/version"
)

func TestCollector(t *testing.T) {
	defer func(v, c string) { version.Version, version.Commit = v, c }(version.Version, version.Commit)
	version.Version, version.Commit = "0.1.0", "abc123"
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector())
	want := `# HELP linstor_ha_build_info A metric with a constant '1' value labeled by the version, the git revision and the Go version linstor-ha was built from.
# TYPE linstor_ha_build_info gauge
linstor_ha_build_info{goversion="` + runtime.Version() + `",revision="abc123",version="0.1.0"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), Name); err != nil {
		t.Error(err)
	}
}
