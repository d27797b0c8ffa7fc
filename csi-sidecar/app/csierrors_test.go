package app_test

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/linstor-ha/linstor-ha/csi-sidecar/app"
	"github.com/linstor-ha/linstor-ha/pkg/metadata"
)

// flakyDriver is a CSI driver that is not ready for its first probes and
// whose NodeGetInfo fails with a gRPC status.
type flakyDriver struct {
	csi.UnimplementedIdentityServer
	csi.UnimplementedNodeServer
	probes      atomic.Int32
	notReady    int32
	nodeInfoErr error
}

func (d *flakyDriver) GetPluginInfo(context.Context, *csi.GetPluginInfoRequest) (*csi.GetPluginInfoResponse, error) {
	return &csi.GetPluginInfoResponse{Name: metadata.DriverName, VendorVersion: "test"}, nil
}

func (d *flakyDriver) Probe(context.Context, *csi.ProbeRequest) (*csi.ProbeResponse, error) {
	if d.probes.Add(1) <= d.notReady {
		return &csi.ProbeResponse{Ready: wrapperspb.Bool(false)}, nil
	}
	return &csi.ProbeResponse{Ready: wrapperspb.Bool(true)}, nil
}

func (d *flakyDriver) NodeGetInfo(context.Context, *csi.NodeGetInfoRequest) (*csi.NodeGetInfoResponse, error) {
	if d.nodeInfoErr != nil {
		return nil, d.nodeInfoErr
	}
	return &csi.NodeGetInfoResponse{NodeId: "node-a"}, nil
}

func serve(t *testing.T, d *flakyDriver) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "csi.sock")
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	csi.RegisterIdentityServer(srv, d)
	csi.RegisterNodeServer(srv, d)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return sock
}

// TestConnectCSIWaitsUntilTheDriverIsReady: a driver that answers its
// first probes not ready is waited for, not given up on.
func TestConnectCSIWaitsUntilTheDriverIsReady(t *testing.T) {
	d := &flakyDriver{notReady: 2}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, _, err := app.ConnectCSI(ctx, &app.Options{CSIAddress: serve(t, d), DriverName: metadata.DriverName})
	if err != nil {
		t.Fatalf("ConnectCSI: %v", err)
	}
	conn.Close()
	if n := d.probes.Load(); n < 3 {
		t.Errorf("%d probes, want the sidecar to have probed until ready (3)", n)
	}
}

// TestConnectCSIReportsDriverErrors: a gRPC error from the driver stops
// the sidecar with an error that names the call and the driver's status.
func TestConnectCSIReportsDriverErrors(t *testing.T) {
	d := &flakyDriver{nodeInfoErr: status.Error(codes.Unavailable, "LINSTOR satellite not reachable")}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, _, err := app.ConnectCSI(ctx, &app.Options{CSIAddress: serve(t, d), DriverName: metadata.DriverName})
	if err == nil || !strings.Contains(err.Error(), "failed to get node info") || status.Code(err) != codes.Unavailable {
		t.Fatalf("ConnectCSI with a failing NodeGetInfo = %v, want the call and Unavailable named", err)
	}
}
