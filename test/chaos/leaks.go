package chaos

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/linstor-ha/linstor-ha/test/cluster"
)

// leakCheck compares each sidecar's goroutines and resident memory with
// what the same process had after its first trial: a sidecar that keeps
// growing leaks.
type leakCheck struct {
	c        *cluster.Cluster
	baseline map[string]sample // node -> first sample of its current sidecar
}

type sample struct {
	pid             int
	goroutines, rss float64
}

func newLeakCheck(c *cluster.Cluster) *leakCheck {
	return &leakCheck{c: c, baseline: map[string]sample{}}
}

// check samples every sidecar and returns the ones that grew too much.
func (l *leakCheck) check() []string {
	var out []string
	for _, n := range l.c.Nodes() {
		pid := n.SidecarPID()
		if pid == 0 {
			continue
		}
		url := "http://" + n.SidecarHTTP + "/metrics"
		g, err := gauge(url, "go_goroutines")
		if err != nil {
			continue
		}
		rss, err := gauge(url, "process_resident_memory_bytes")
		if err != nil {
			continue
		}
		base, ok := l.baseline[n.Spec.Name]
		if !ok || base.pid != pid {
			l.baseline[n.Spec.Name] = sample{pid: pid, goroutines: g, rss: rss}
			continue
		}
		// Work in flight comes and goes; a leak grows without bound.
		if g > 2*base.goroutines+50 {
			out = append(out, fmt.Sprintf("sidecar of %s: %v goroutines, %v after its first trial", n.Spec.Name, g, base.goroutines))
		}
		if rss > 2*base.rss+64<<20 {
			out = append(out, fmt.Sprintf("sidecar of %s: %.0f MiB resident, %.0f MiB after its first trial", n.Spec.Name, rss/(1<<20), base.rss/(1<<20)))
		}
	}
	return out
}

// gauge reads one metric from a Prometheus text endpoint.
func gauge(url, name string) (float64, error) {
	client := http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 4<<20))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	return 0, fmt.Errorf("no %s at %s", name, url)
}
