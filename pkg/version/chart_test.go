package version

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestHelmChartVersion: charts/linstor-ha's version and appVersion are the
// VERSION file's release, and its images default to the three of that
// release (repository ghcr.io/linstor-ha/<name>, tag empty: appVersion).
func TestHelmChartVersion(t *testing.T) {
	want := releaseVersion(t)
	chartDir := filepath.Join(root, "charts", "linstor-ha")
	raw, err := os.ReadFile(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var chart struct {
		Version    string `json:"version"`
		AppVersion string `json:"appVersion"`
	}
	if err := yaml.Unmarshal(raw, &chart); err != nil {
		t.Fatal(err)
	}
	if chart.Version != want || chart.AppVersion != want {
		t.Errorf("Chart.yaml has version %q and appVersion %q, want %s (the VERSION file; make set-version writes them)", chart.Version, chart.AppVersion, want)
	}

	raw, err = os.ReadFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	type image struct {
		Repository string `json:"repository"`
		Tag        string `json:"tag"`
	}
	type part struct {
		Image *image `json:"image"`
	}
	var values struct {
		Scheduler part `json:"scheduler"`
		Webhook   part `json:"webhook"`
		Sidecar   part `json:"sidecar"`
	}
	if err := yaml.Unmarshal(raw, &values); err != nil {
		t.Fatal(err)
	}
	for part, p := range map[string]struct {
		image  string
		values part
	}{"scheduler": {"scheduler", values.Scheduler}, "webhook": {"webhook", values.Webhook}, "sidecar": {"csi-sidecar", values.Sidecar}} {
		img, name := p.values.Image, p.image
		switch {
		case img == nil:
			t.Errorf("values.yaml has no %s.image", part)
		case img.Repository != "ghcr.io/linstor-ha/"+name || img.Tag != "":
			t.Errorf("values.yaml's %s.image is %s:%q, want ghcr.io/linstor-ha/%s with an empty tag (the chart's appVersion)", part, img.Repository, img.Tag, name)
		}
	}
}

// TestHelmChartCRDIsGenerated: the chart's copy of the ReplicaReport CRD
// is the one make generate writes into manifests/crd.
func TestHelmChartCRDIsGenerated(t *testing.T) {
	const name = "linstor-ha.io_replicareports.yaml"
	gen, err := os.ReadFile(filepath.Join(root, "manifests", "crd", name))
	if err != nil {
		t.Fatal(err)
	}
	chart, err := os.ReadFile(filepath.Join(root, "charts", "linstor-ha", "files", name))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(gen, chart) {
		t.Errorf("charts/linstor-ha/files/%s differs from manifests/crd/%s: run make generate", name, name)
	}
}
