package failover

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"

	"github.com/linstor-ha/linstor-ha/csi-sidecar/clusterview"
	"github.com/linstor-ha/linstor-ha/csi-sidecar/metrics"
	"github.com/linstor-ha/linstor-ha/csi-sidecar/report/fakereport"
	"github.com/linstor-ha/linstor-ha/pkg/drbd/drbdjson"
	"github.com/linstor-ha/linstor-ha/pkg/metadata"
)

// fakeConflicts is another fail-over actor as the test sets it.
type fakeConflicts struct {
	mu     sync.Mutex
	synced bool
	pods   []types.NamespacedName
}

func (f *fakeConflicts) set(synced bool, pods ...types.NamespacedName) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.synced, f.pods = synced, pods
}

func (f *fakeConflicts) Synced() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.synced
}

func (f *fakeConflicts) Pods() []types.NamespacedName {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.pods)
}

// quorumMajority reads r0's options: it runs with quorum.
func quorumMajority(context.Context) ([]drbdjson.ShowResource, error) {
	return []drbdjson.ShowResource{{Resource: "r0", Options: drbdjson.ShowOptions{Quorum: "majority"}}}, nil
}

// TestControllerHoldsWhileAnotherActorRuns runs the controller on a lost
// peer whose fail-over is due: nothing is done before the other actor's
// pods are known, nor while one runs, whichever pods it has; one Warning
// Event on this node says so, and the gauge counts its pods. Once the
// other actor is gone, the fail-over goes ahead at once.
func TestControllerHoldsWhileAnotherActorRuns(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := newFakeClient(append([]runtime.Object{testNode(here, true), testNode(lost, false, "r0")}, volumeObjects("r0", lost, nil)...))
	view, err := clusterview.New(client, here, func() {})
	if err != nil {
		t.Fatal(err)
	}
	view.Start(ctx)
	for !view.Synced() {
		time.Sleep(time.Millisecond)
	}
	events := events.NewFakeRecorder(100)
	events.Verbose = true
	m := metrics.New()
	conflicts := &fakeConflicts{}
	resources := fixedResources{survivorOf("r0")}
	c := NewController(ControllerOptions{
		Node: here, ReadOptions: quorumMajority, Timeout: 5 * time.Second, Hysteresis: 2 * time.Second,
		ReportStaleAfter: time.Minute, PeerNode: func(c string) string { return c }, Conflicts: conflicts,
	}, &resources, view, fakereport.New(), &Executor{Client: client}, events, m)
	drain := func() []string {
		var got []string
		for len(events.Events) > 0 {
			got = append(got, <-events.Events)
		}
		return got
	}
	ha := func(name string) types.NamespacedName { return types.NamespacedName{Namespace: "storage", Name: name} }
	evaluate := func(what string, want []string) {
		t.Helper()
		client.ClearActions()
		c.evaluate(ctx, time.Now())
		if got := mutations(client.Actions()); !slices.Equal(inPhaseOrder(got), inPhaseOrder(want)) {
			t.Errorf("%s: made %q, want %q", what, got, want)
		}
	}

	// The peer has been lost for long: the fail-over is due. (An
	// evaluation that is not synced forgets it, as any other.)
	due := func() { c.memory.lostSince[Key{Resource: "r0", Node: lost}] = time.Now().Add(-time.Minute) }
	due()
	conflicts.set(false)
	evaluate("the other actor's pods not listed yet", nil)
	drain()
	due()

	conflicts.set(true, ha("ha-controller-1"), ha("ha-controller-2"))
	evaluate("another actor runs", nil)
	got := drain()
	if len(got) != 1 || !strings.HasPrefix(got[0], "Warning "+metadata.ReasonConflictingFailOverActor+" ") ||
		!strings.Contains(got[0], "storage/ha-controller-1, storage/ha-controller-2") || !strings.Contains(got[0], "kind=Node") {
		t.Errorf("Events %q, want one Warning %s on the node that names the pods", got, metadata.ReasonConflictingFailOverActor)
	}
	if n := testutil.ToFloat64(m.ConflictingActorPods); n != 2 {
		t.Errorf("linstor_ha_conflicting_failover_actor_pods = %v, want 2", n)
	}
	// A pod of its DaemonSet replaced: the same refusal, said once.
	conflicts.set(true, ha("ha-controller-3"))
	evaluate("another actor still runs", nil)
	evaluate("another actor still runs, evaluated again", nil)
	for _, e := range drain() {
		if strings.Contains(e, metadata.ReasonConflictingFailOverActor) {
			t.Errorf("Event %q again while the refusal lasts", e)
		}
	}
	if n := testutil.ToFloat64(m.ConflictingActorPods); n != 1 {
		t.Errorf("linstor_ha_conflicting_failover_actor_pods = %v, want 1", n)
	}

	conflicts.set(true)
	evaluate("the other actor gone", []string{"patch nodes node-a", "delete pods db/pod-r0", "patch nodes/status node-a", "delete volumeattachments csi-r0"})
	if n := testutil.ToFloat64(m.ConflictingActorPods); n != 0 {
		t.Errorf("linstor_ha_conflicting_failover_actor_pods = %v after the other actor left, want 0", n)
	}
	if !slices.ContainsFunc(drain(), func(e string) bool { return strings.Contains(e, metadata.ReasonPodForceDeleted) }) {
		t.Error("no PodForceDeleted Event once the other actor is gone")
	}
}
