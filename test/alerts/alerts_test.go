package alerts

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

const (
	monitoringDir = "../../manifests/components/monitoring"
	repoRoot      = "../.."
)

// rule is an alerting rule as the PrometheusRule holds it.
type rule struct {
	Alert       string            `json:"alert"`
	Expr        string            `json:"expr"`
	For         string            `json:"for"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

type prometheusRule struct {
	Kind string `json:"kind"`
	Spec struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []rule `json:"rules"`
		} `json:"groups"`
	} `json:"spec"`
}

// promtool returns the promtool binary: $LINSTOR_HA_PROMTOOL/promtool, or
// the one test/tools/build.sh builds into the tools cache.
func promtool(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("LINSTOR_HA_PROMTOOL")
	if dir == "" {
		out, err := exec.Command("bash", filepath.Join(repoRoot, "test/tools/build.sh"), filepath.Join(repoRoot, "test/tools/promtool")).Output()
		if err != nil {
			t.Fatalf("Failed to build promtool (test/tools/build.sh test/tools/promtool): %v", err)
		}
		dir = strings.TrimSpace(string(out))
	}
	return filepath.Join(dir, "promtool")
}

// readRules returns the PrometheusRule and its alerting rules.
func readRules(t *testing.T) (prometheusRule, []rule) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(monitoringDir, "prometheusrule.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var pr prometheusRule
	if err := yaml.Unmarshal(raw, &pr); err != nil {
		t.Fatal(err)
	}
	if pr.Kind != "PrometheusRule" {
		t.Fatalf("prometheusrule.yaml holds a %q", pr.Kind)
	}
	var alerts []rule
	for _, g := range pr.Spec.Groups {
		alerts = append(alerts, g.Rules...)
	}
	return pr, alerts
}

// TestAlertRules checks the rules with promtool and runs promtool's unit
// tests of them (testdata/alerts_test.yaml).
func TestAlertRules(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(monitoringDir, "prometheusrule.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// The rules as written, not as this test's types know them.
	var obj struct {
		Spec struct {
			Groups []any `json:"groups"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(raw, &obj); err != nil {
		t.Fatal(err)
	}
	bin := promtool(t)
	dir := t.TempDir()
	groups, err := yaml.Marshal(map[string]any{"groups": obj.Spec.Groups})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), groups, 0o644); err != nil {
		t.Fatal(err)
	}
	tests, err := os.ReadFile("testdata/alerts_test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "alerts_test.yaml"), tests, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"check", "rules", "rules.yaml"}, {"test", "rules", "alerts_test.yaml"}} {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// promtoolTests is the part of promtool's test file format this test reads.
type promtoolTests struct {
	Tests []struct {
		AlertRuleTests []struct {
			Alertname string           `json:"alertname"`
			ExpAlerts []map[string]any `json:"exp_alerts"`
		} `json:"alert_rule_test"`
	} `json:"tests"`
}

// TestAlertRulesAreTestedBothWays checks that the unit tests make every
// alert fire at least once and check it silent at least once.
func TestAlertRulesAreTestedBothWays(t *testing.T) {
	_, alerts := readRules(t)
	raw, err := os.ReadFile("testdata/alerts_test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var pt promtoolTests
	if err := yaml.Unmarshal(raw, &pt); err != nil {
		t.Fatal(err)
	}
	fires, silent := map[string]bool{}, map[string]bool{}
	for _, tg := range pt.Tests {
		for _, at := range tg.AlertRuleTests {
			if len(at.ExpAlerts) > 0 {
				fires[at.Alertname] = true
			} else {
				silent[at.Alertname] = true
			}
		}
	}
	for _, a := range alerts {
		if !fires[a.Alert] {
			t.Errorf("no test makes %s fire", a.Alert)
		}
		if !silent[a.Alert] {
			t.Errorf("no test checks that %s stays silent", a.Alert)
		}
	}
}

// TestAlertRulesHaveRunbooks checks every alert's labels and annotations
// and that its runbook_url points at a section of the component's README.
func TestAlertRulesHaveRunbooks(t *testing.T) {
	_, alerts := readRules(t)
	readme, err := os.ReadFile(filepath.Join(monitoringDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	for _, line := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(line, "#") {
			anchors[anchor(strings.TrimLeft(line, "# "))] = true
		}
	}
	const base = "https://github.com/linstor-ha/linstor-ha/blob/main/manifests/components/monitoring/README.md#"
	seen := map[string]bool{}
	for _, a := range alerts {
		if seen[a.Alert] {
			t.Errorf("alert %s is defined twice", a.Alert)
		}
		seen[a.Alert] = true
		switch a.Labels["severity"] {
		case "critical", "warning", "info":
		default:
			t.Errorf("%s has severity %q, want critical, warning or info", a.Alert, a.Labels["severity"])
		}
		for _, k := range []string{"summary", "description", "runbook_url"} {
			if a.Annotations[k] == "" {
				t.Errorf("%s has no %s", a.Alert, k)
			}
		}
		url := a.Annotations["runbook_url"]
		if !strings.HasPrefix(url, base) || !anchors[strings.TrimPrefix(url, base)] || strings.TrimPrefix(url, base) != anchor(a.Alert) {
			t.Errorf("%s's runbook_url %q is not README.md's section %q", a.Alert, url, a.Alert)
		}
	}
}

// anchor is the fragment GitHub gives a Markdown heading.
func anchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		}
	}
	return b.String()
}

var (
	metricUse  = regexp.MustCompile(`linstor_ha_[a-z0-9_]+`)
	metricName = regexp.MustCompile(`"(linstor_ha_[a-z0-9_]+)"`)
)

// exportedMetrics collects the metric names that the binaries' sources
// register, with a histogram's series.
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	for _, dir := range []string{"csi-sidecar", "webhook", "scheduler-plugin", "pkg"} {
		err := filepath.WalkDir(filepath.Join(repoRoot, dir), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range metricName.FindAllStringSubmatch(string(src), -1) {
				names[m[1]] = true
				if strings.HasSuffix(m[1], "_seconds") && !strings.Contains(m[1], "_timestamp_") {
					for _, s := range []string{"_bucket", "_sum", "_count"} {
						names[m[1]+s] = true
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return names
}

// TestMonitoringUsesExportedMetrics checks that the alerts and the
// dashboard name only metrics the binaries export, so that a renamed
// metric cannot leave an alert that never fires.
func TestMonitoringUsesExportedMetrics(t *testing.T) {
	exported := exportedMetrics(t)
	if !exported["linstor_ha_failover_actions_total"] || !exported["linstor_ha_webhook_admissions_total"] {
		t.Fatalf("found only %d metrics in the sources; the scan is broken", len(exported))
	}
	_, alerts := readRules(t)
	for _, a := range alerts {
		for _, m := range metricUse.FindAllString(a.Expr, -1) {
			if !exported[m] {
				t.Errorf("%s uses %s, which no binary exports", a.Alert, m)
			}
		}
	}
	raw, err := os.ReadFile(filepath.Join(monitoringDir, "linstor-ha.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		UID    string `json:"uid"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	if dash.UID == "" || len(dash.Panels) == 0 {
		t.Fatalf("the dashboard has uid %q and %d panels", dash.UID, len(dash.Panels))
	}
	var unused []string
	used := map[string]bool{}
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			for _, m := range metricUse.FindAllString(q.Expr, -1) {
				used[m] = true
				if !exported[m] {
					t.Errorf("panel %q uses %s, which no binary exports", p.Title, m)
				}
			}
		}
	}
	for m := range exported {
		if !used[m] && !strings.HasSuffix(m, "_sum") && !strings.HasSuffix(m, "_count") && !strings.HasSuffix(m, "_seconds") {
			unused = append(unused, m)
		}
	}
	sort.Strings(unused)
	t.Logf("metrics on no panel: %v", unused)
}
