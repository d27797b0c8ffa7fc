package app

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/linstor-ha/linstor-ha/csi-sidecar/clusterview"
	"github.com/linstor-ha/linstor-ha/csi-sidecar/conflict"
	"github.com/linstor-ha/linstor-ha/csi-sidecar/metrics"
	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
	"github.com/linstor-ha/linstor-ha/pkg/metadata"
)

// TestReadyzNamesTheConflictingActor checks that /readyz fails with a line
// naming the other fail-over actor's pod while it runs, and passes once it
// is gone.
func TestReadyzNamesTheConflictingActor(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ha := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "storage", Name: "ha-controller-x7k2p",
		Labels: map[string]string{"app.kubernetes.io/component": "ha-controller"}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	client := fake.NewClientset(ha)
	view, err := clusterview.New(client, "node-a", func() {})
	if err != nil {
		t.Fatal(err)
	}
	conflicts, err := conflict.New(client, metadata.PiraeusHAControllerSelector, func() {})
	if err != nil {
		t.Fatal(err)
	}
	store := state.NewStore()
	store.Replace(state.NewModel())
	view.Start(ctx)
	conflicts.Start(ctx)
	srv := httptest.NewServer(mux(metrics.New(), store, view, conflicts))
	defer srv.Close()
	readyz := func() (int, string) {
		resp, err := http.Get(srv.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	poll := func(what string, cond func(int, string) bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			code, body := readyz()
			if cond(code, body) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s: /readyz answers %d %q", what, code, body)
			}
		}
	}
	poll("a failing line that names the pod", func(code int, body string) bool {
		return code == http.StatusServiceUnavailable && strings.Contains(body, "another fail-over actor runs") && strings.Contains(body, "storage/ha-controller-x7k2p")
	})
	if err := client.CoreV1().Pods("storage").Delete(ctx, ha.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll("ready once the pod is gone", func(code int, _ string) bool { return code == http.StatusOK })
}
