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
	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/linstor-ha/linstor-ha/csi-sidecar/clusterview"
	"github.com/linstor-ha/linstor-ha/csi-sidecar/conflict"
	"github.com/linstor-ha/linstor-ha/csi-sidecar/metrics"
	"github.com/linstor-ha/linstor-ha/csi-sidecar/watchdog"
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
	srv := httptest.NewServer(mux(metrics.New(), store, view, conflicts, watchdog.New(clock.RealClock{})))
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

// TestHealthzFailsWhileALoopIsStuck checks that /healthz, the liveness
// probe, fails with the loop's name while a fail-over evaluation runs past
// its limit or the DRBD stream has no initial dump for as long, and passes
// otherwise, an idle loop included.
func TestHealthzFailsWhileALoopIsStuck(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := fake.NewClientset()
	view, err := clusterview.New(client, "node-a", func() {})
	if err != nil {
		t.Fatal(err)
	}
	conflicts, err := conflict.New(client, "", func() {})
	if err != nil {
		t.Fatal(err)
	}
	view.Start(ctx)
	conflicts.Start(ctx)
	store := state.NewStore()
	clk := clocktesting.NewFakePassiveClock(time.Unix(1000, 0))
	dog := watchdog.New(clk)
	loop := dog.Loop("fail-over evaluation", time.Minute)
	dog.Require("drbdsetup events2 initial dump complete", time.Minute, store.Synced)
	srv := httptest.NewServer(mux(metrics.New(), store, view, conflicts, dog))
	defer srv.Close()
	healthz := func() (int, string) {
		resp, err := http.Get(srv.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := healthz(); code != http.StatusOK {
		t.Fatalf("at start: %d %q", code, body)
	}
	clk.SetTime(clk.Now().Add(2 * time.Minute))
	if code, body := healthz(); code != http.StatusInternalServerError || !strings.Contains(body, "drbdsetup events2 initial dump complete") {
		t.Fatalf("without a DRBD dump for 2m: %d %q", code, body)
	}
	store.Replace(state.NewModel())
	if code, body := healthz(); code != http.StatusOK {
		t.Fatalf("DRBD synced: %d %q", code, body)
	}
	loop.Begin()
	clk.SetTime(clk.Now().Add(61 * time.Second))
	if code, body := healthz(); code != http.StatusInternalServerError || !strings.Contains(body, "fail-over evaluation: busy for 1m1s") {
		t.Fatalf("an evaluation running for 61s: %d %q", code, body)
	}
	loop.End()
	clk.SetTime(clk.Now().Add(time.Hour))
	if code, body := healthz(); code != http.StatusOK {
		t.Fatalf("idle for an hour: %d %q", code, body)
	}
}
