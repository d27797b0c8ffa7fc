package cluster

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// SidecarCounters scrapes every running sidecar and returns, by node and
// by the value of label (all under "" when label is empty), the sum of the
// series of the counter name. A node whose sidecar is down (crashed) is
// left out: its counter ended with it.
func (c *Cluster) SidecarCounters(ctx context.Context, name, label string) (map[string]map[string]float64, error) {
	out := make(map[string]map[string]float64)
	for _, n := range c.Nodes() {
		if n.SidecarPID() == 0 {
			continue
		}
		v, err := scrapeCounter(ctx, "http://"+n.SidecarHTTP+"/metrics", name, label)
		if err != nil {
			return nil, fmt.Errorf("sidecar of %s: %w", n.Spec.Name, err)
		}
		out[n.Spec.Name] = v
	}
	return out, nil
}

// scrapeCounter sums the series of one counter at a Prometheus text
// endpoint by the value of label; a counter with no series yet is empty.
func scrapeCounter(ctx context.Context, url, name, label string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("failed to parse %s: %w", url, err)
	}
	sums := map[string]float64{}
	if f, ok := families[name]; ok {
		for _, m := range f.GetMetric() {
			key := ""
			for _, l := range m.GetLabel() {
				if label != "" && l.GetName() == label {
					key = l.GetValue()
				}
			}
			sums[key] += m.GetCounter().GetValue()
		}
	}
	return sums, nil
}
