package csidriver_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/linstor-ha/linstor-ha/pkg/metadata"
	"github.com/linstor-ha/linstor-ha/test/csidriver"
)

type backend struct {
	mu        sync.Mutex
	volumes   map[string]bool
	published map[string]bool
	failWith  error
}

func (b *backend) VolumeExists(v string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.volumes[v]
}

func (b *backend) Publish(v, n string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failWith != nil {
		return fmt.Errorf("node %s: %w", n, b.failWith)
	}
	b.published[v+"@"+n] = true
	return nil
}

func (b *backend) Unpublish(v, n string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.volumes[v] {
		return fmt.Errorf("volume %s: %w", v, csidriver.ErrNotFound)
	}
	delete(b.published, v+"@"+n)
	return nil
}

func dial(t *testing.T, opts csidriver.Options) *grpc.ClientConn {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "csi.sock")
	srv, err := csidriver.Start(sock, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func TestControllerPublishDrivesBackend(t *testing.T) {
	b := &backend{volumes: map[string]bool{"pvc-1": true}, published: map[string]bool{}}
	conn := dial(t, csidriver.Options{Backend: b})
	ctx := context.Background()

	info, err := csi.NewIdentityClient(conn).GetPluginInfo(ctx, &csi.GetPluginInfoRequest{})
	if err != nil || info.GetName() != metadata.DriverName {
		t.Fatalf("GetPluginInfo = %v, %v", info, err)
	}
	caps, err := csi.NewIdentityClient(conn).GetPluginCapabilities(ctx, &csi.GetPluginCapabilitiesRequest{})
	if err != nil || len(caps.GetCapabilities()) != 2 {
		t.Fatalf("GetPluginCapabilities = %v, %v", caps, err)
	}

	ctrl := csi.NewControllerClient(conn)
	capability := &csi.VolumeCapability{AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER}}
	if _, err := ctrl.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{VolumeId: "pvc-1", NodeId: "n1", VolumeCapability: capability}); err != nil {
		t.Fatal(err)
	}
	if !b.published["pvc-1@n1"] {
		t.Error("publish did not reach the backend")
	}
	if _, err := ctrl.ControllerUnpublishVolume(ctx, &csi.ControllerUnpublishVolumeRequest{VolumeId: "pvc-1", NodeId: "n1"}); err != nil || b.published["pvc-1@n1"] {
		t.Errorf("unpublish: %v, published %v", err, b.published)
	}
	// Unpublishing what is gone succeeds: nothing is left to undo.
	if _, err := ctrl.ControllerUnpublishVolume(ctx, &csi.ControllerUnpublishVolumeRequest{VolumeId: "pvc-gone", NodeId: "n1"}); err != nil {
		t.Errorf("unpublish of a missing volume: %v", err)
	}

	for _, tt := range []struct {
		req  *csi.ControllerPublishVolumeRequest
		fail error
		want codes.Code
	}{
		{&csi.ControllerPublishVolumeRequest{NodeId: "n1", VolumeCapability: capability}, nil, codes.InvalidArgument},
		{&csi.ControllerPublishVolumeRequest{VolumeId: "pvc-1", NodeId: "n1"}, nil, codes.InvalidArgument},
		{&csi.ControllerPublishVolumeRequest{VolumeId: "pvc-2", NodeId: "n1", VolumeCapability: capability}, nil, codes.NotFound},
		{&csi.ControllerPublishVolumeRequest{VolumeId: "pvc-1", NodeId: "n1", VolumeCapability: capability}, csidriver.ErrUnavailable, codes.Unavailable},
		{&csi.ControllerPublishVolumeRequest{VolumeId: "pvc-1", NodeId: "n1", VolumeCapability: capability}, fmt.Errorf("disk on fire"), codes.Internal},
	} {
		b.mu.Lock()
		b.failWith = tt.fail
		b.mu.Unlock()
		_, err := ctrl.ControllerPublishVolume(ctx, tt.req)
		if status.Code(err) != tt.want {
			t.Errorf("publish %v (backend error %v) = %v, want code %v", tt.req, tt.fail, err, tt.want)
		}
	}
}

func TestNodeGetInfoGivesZone(t *testing.T) {
	conn := dial(t, csidriver.Options{NodeID: "n1", Zone: "room-a"})
	resp, err := csi.NewNodeClient(conn).NodeGetInfo(context.Background(), &csi.NodeGetInfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetNodeId() != "n1" || resp.GetAccessibleTopology().GetSegments()[metadata.LabelTopologyZone] != "room-a" {
		t.Errorf("NodeGetInfo = %v", resp)
	}
	// A node endpoint has no Controller service.
	_, err = csi.NewControllerClient(conn).ControllerGetCapabilities(context.Background(), &csi.ControllerGetCapabilitiesRequest{})
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("ControllerGetCapabilities on a node endpoint = %v, want Unimplemented", err)
	}
}
