package version

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// root is the repository root, seen from this package.
const root = "../.."

// releaseVersion reads the VERSION file.
func releaseVersion(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	v := strings.TrimSpace(string(b))
	if !regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$`).MatchString(v) {
		t.Fatalf("VERSION holds %q, want MAJOR.MINOR.PATCH without a leading v", v)
	}
	return v
}

var imageField = regexp.MustCompile(`^\s*(?:-\s+)?image:\s*["']?([^"'\s#]+)`)

// TestManifestImagesAreVersioned: no file under manifests/ names a :latest
// image, and every linstor-ha image there carries the VERSION file's tag;
// each of the three images is there.
func TestManifestImagesAreVersioned(t *testing.T) {
	want := releaseVersion(t)
	seen := map[string]bool{}
	err := filepath.WalkDir(filepath.Join(root, "manifests"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		rel, _ := filepath.Rel(root, path)
		sc := bufio.NewScanner(f)
		for n := 1; sc.Scan(); n++ {
			line := sc.Text()
			if strings.Contains(line, ":latest") {
				t.Errorf("%s:%d: %q names a :latest image", rel, n, strings.TrimSpace(line))
			}
			m := imageField.FindStringSubmatch(line)
			if m == nil || !strings.HasPrefix(m[1], "ghcr.io/linstor-ha/") {
				continue
			}
			name, tag, ok := strings.Cut(strings.TrimPrefix(m[1], "ghcr.io/linstor-ha/"), ":")
			switch {
			case !ok:
				t.Errorf("%s:%d: image %s has no tag, want %s", rel, n, m[1], want)
			case tag != want:
				t.Errorf("%s:%d: image %s has tag %s, want %s (the VERSION file)", rel, n, m[1], tag, want)
			}
			seen[name] = true
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"csi-sidecar", "scheduler", "webhook"} {
		if !seen[name] {
			t.Errorf("no manifest runs ghcr.io/linstor-ha/%s", name)
		}
	}
}
