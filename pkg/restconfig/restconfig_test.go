package restconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

func TestLoadKubeconfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["c"] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:6443"}
	cfg.AuthInfos["u"] = &clientcmdapi.AuthInfo{Token: "t"}
	cfg.Contexts["c"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "u"}
	cfg.CurrentContext = "c"
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path, 7, 9, "agent/1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Host != "https://127.0.0.1:6443" || got.QPS != 7 || got.Burst != 9 || got.UserAgent != "agent/1" || got.BearerToken != "t" {
		t.Errorf("Load = host %q qps %v burst %d agent %q token %q", got.Host, got.QPS, got.Burst, got.UserAgent, got.BearerToken)
	}
}

// Without a kubeconfig the error must say what the container lacks: the
// sidecar's first line in a pod without a token is this message.
func TestLoadInClusterNamesWhatIsMissing(t *testing.T) {
	if _, err := os.Stat(filepath.Join(ServiceAccountDir, "token")); err == nil {
		t.Fatalf("%s holds a token: this test needs a machine outside a pod", ServiceAccountDir)
	}
	for name, env := range map[string][2]string{
		"no service environment": {"", ""},
		"no token":               {"127.0.0.1", "6443"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv("KUBERNETES_SERVICE_HOST", env[0])
			t.Setenv("KUBERNETES_SERVICE_PORT", env[1])
			_, err := Load("", 1, 1, "agent")
			if err == nil || !strings.Contains(err.Error(), ServiceAccountDir) || !strings.Contains(err.Error(), "KUBERNETES_SERVICE_HOST") {
				t.Errorf("Load without kubeconfig = %v, want an error naming the environment and %s", err, ServiceAccountDir)
			}
		})
	}
}

func TestLoadMissingKubeconfigNamesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing")
	if _, err := Load(path, 1, 1, "agent"); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("Load(%s) = %v, want an error naming the file", path, err)
	}
}
