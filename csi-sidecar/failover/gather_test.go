package failover

import (
	"context"
	"errors"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/linstor-ha/linstor-ha/csi-sidecar/clusterview"
	"github.com/linstor-ha/linstor-ha/csi-sidecar/metrics"
	"github.com/linstor-ha/linstor-ha/csi-sidecar/report/fakereport"
	"github.com/linstor-ha/linstor-ha/pkg/drbd/drbdjson"
	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
)

// healthy is this node's view of a resource with every peer connected.
func healthy(name string) *state.Resource {
	r := survivorOf(name)
	r.Connections[0].State = state.ConnConnected
	r.Connections[0].PeerDevices[0].PeerDisk = state.DiskUpToDate
	return r
}

func TestGathererCaches(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	view, err := clusterview.New(fake.NewClientset(), here, func() {})
	if err != nil {
		t.Fatal(err)
	}
	view.Start(ctx)
	for !view.Synced() {
		time.Sleep(time.Millisecond)
	}
	quorum := "majority"
	var reads int
	var readErr error
	readOptions := func(context.Context) ([]drbdjson.ShowResource, error) {
		reads++
		if readErr != nil {
			return nil, readErr
		}
		return []drbdjson.ShowResource{{Resource: "r0", Options: drbdjson.ShowOptions{Quorum: quorum}}}, nil
	}
	var resources fixedResources
	g := newGatherer(ControllerOptions{Node: here, PeerNode: func(c string) string { return c }, ReadOptions: readOptions, Timeout: time.Second},
		&resources, view, fakereport.New(), metrics.New())
	gather := func() Volume {
		t.Helper()
		in := g.gather(ctx, time.Now(), decisionMemory{})
		if in.Timeout != time.Second || len(in.Volumes) != 1 {
			t.Fatalf("input %+v", in)
		}
		return in.Volumes[0]
	}

	resources = fixedResources{healthy("r0")}
	if v := gather(); !v.QuorumConfigured || !v.Established || reads != 1 {
		t.Fatalf("first gathering: quorum %v, established %v, %d reads", v.QuorumConfigured, v.Established, reads)
	}
	gather()
	if reads != 1 {
		t.Errorf("options read %d times for an unchanged resource, want once", reads)
	}

	// An operator turns quorum off; the loss that follows must be judged
	// on the new options.
	quorum = "off"
	resources = fixedResources{survivorOf("r0")}
	if v := gather(); v.QuorumConfigured || reads != 2 {
		t.Errorf("a loss was judged on options read before it: quorum %v, %d reads", v.QuorumConfigured, reads)
	}
	gather()
	if reads != 2 {
		t.Errorf("options read again while the same loss lasts: %d reads", reads)
	}

	// A restarted stream makes every option be read again.
	quorum = "majority"
	g.ForgetOptions()
	if v := gather(); !v.QuorumConfigured || reads != 3 {
		t.Errorf("after the stream restarted: quorum %v, %d reads", v.QuorumConfigured, reads)
	}

	// A failed read counts as no quorum and is tried again next time.
	g.ForgetOptions()
	readErr = errors.New("drbdsetup: timed out")
	if v := gather(); v.QuorumConfigured {
		t.Error("a resource whose options could not be read counts as with quorum")
	}
	readErr = nil
	if v := gather(); !v.QuorumConfigured || reads != 5 {
		t.Errorf("a failed read was not retried: quorum %v, %d reads", v.QuorumConfigured, reads)
	}

	// A resource that went away and came back is new: not established
	// until it has UpToDate data again, its options read afresh.
	resources = fixedResources{}
	g.gather(ctx, time.Now(), decisionMemory{})
	if len(g.quorum)+len(g.established)+len(g.lossSeen) != 0 {
		t.Errorf("caches of a removed resource kept: %v %v %v", g.quorum, g.established, g.lossSeen)
	}
	fresh := healthy("r0")
	fresh.Devices[0].Disk = state.DiskInconsistent
	fresh.Connections[0].PeerDevices[0].PeerDisk = state.DiskInconsistent
	resources = fixedResources{fresh}
	if v := gather(); v.Established || reads != 6 {
		t.Errorf("a re-created resource: established %v, %d reads", v.Established, reads)
	}
}

// TestGathererReadsSignsOnlyWhereItActs checks that a lost peer's signs
// of life are read only by the survivor that leads the resource, and only
// while the peer still runs a pod or holds an attachment of it: the
// evaluations that follow a fail-over read nothing more of the peer.
func TestGathererReadsSignsOnlyWhereItActs(t *testing.T) {
	withLowerSurvivor := func() *state.Resource {
		r := survivorOf("r0")
		r.Connections = append(r.Connections, state.Connection{PeerNodeID: 3, Name: "node-0", State: state.ConnConnected, PeerRole: state.RoleSecondary,
			PeerDevices: []state.PeerDevice{{PeerDisk: state.DiskUpToDate}}})
		return r
	}
	for _, tc := range []struct {
		name     string
		resource *state.Resource
		onPeer   bool
		wantRead bool
	}{
		{name: "leader, pod and attachment on the peer", resource: survivorOf("r0"), onPeer: true, wantRead: true},
		{name: "leader, nothing left on the peer", resource: survivorOf("r0")},
		{name: "another survivor leads", resource: withLowerSurvivor(), onPeer: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			objects := []runtime.Object{testNode(here, true), testNode(lost, true), testNode("node-0", true)}
			all := volumeObjects("r0", lost, nil)
			if tc.onPeer {
				objects = append(objects, all...)
			} else {
				objects = append(objects, all[0])
			}
			view, err := clusterview.New(newFakeClient(objects), here, func() {})
			if err != nil {
				t.Fatal(err)
			}
			view.Start(ctx)
			for !view.Synced() {
				time.Sleep(time.Millisecond)
			}
			reports := fakereport.New()
			reads := 0
			reports.Fail = func() error { reads++; return nil }
			resources := fixedResources{tc.resource}
			g := newGatherer(ControllerOptions{Node: here, PeerNode: func(c string) string { return c }, Timeout: time.Second, ReportStaleAfter: 15 * time.Second,
				ReadOptions: func(context.Context) ([]drbdjson.ShowResource, error) {
					return []drbdjson.ShowResource{{Resource: "r0", Options: drbdjson.ShowOptions{Quorum: "majority"}}}, nil
				}}, &resources, view, reports, metrics.New())
			in := g.gather(ctx, time.Now(), decisionMemory{})
			if !in.Synced {
				t.Fatal("the input is not complete")
			}
			if got := reads > 0; got != tc.wantRead {
				t.Errorf("the peer's report read %d times, want a read: %v", reads, tc.wantRead)
			}
			if got := in.Nodes[lost].SignsUnread; got == tc.wantRead {
				t.Errorf("SignsUnread = %v with %d reads", got, reads)
			}
			if _, ok := peerCannotWrite(&in, "r0", lost); ok && !tc.wantRead {
				t.Error("signs that were not read count as evidence that the peer cannot write")
			}
		})
	}
}
