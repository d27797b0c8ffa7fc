package app_test

import (
	"context"
	"flag"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/linstor-ha/linstor-ha/csi-sidecar/app"
	"github.com/linstor-ha/linstor-ha/pkg/metadata"
	"github.com/linstor-ha/linstor-ha/test/csidriver"
)

func TestConnectCSIWaitsForTheSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "csi.sock")
	opts := &app.Options{CSIAddress: sock, DriverName: metadata.DriverName}
	go func() {
		// The driver comes up after the sidecar.
		time.Sleep(300 * time.Millisecond)
		srv, err := csidriver.Start(sock, csidriver.Options{NodeID: "node-a", Zone: "room-a"})
		if err != nil {
			t.Error(err)
			return
		}
		t.Cleanup(srv.Stop)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, zone, err := app.ConnectCSI(ctx, opts)
	if err != nil {
		t.Fatalf("ConnectCSI: %v", err)
	}
	defer conn.Close()
	if zone != "room-a" {
		t.Errorf("zone = %q, want room-a", zone)
	}
}

func TestConnectCSIRefusesAnotherDriver(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "csi.sock")
	srv, err := csidriver.Start(sock, csidriver.Options{Name: "other.csi.example.com", NodeID: "node-a"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, _, err = app.ConnectCSI(ctx, &app.Options{CSIAddress: sock, DriverName: metadata.DriverName})
	if err == nil || !strings.Contains(err.Error(), `"other.csi.example.com", not "linstor.csi.linbit.com"`) {
		t.Errorf("ConnectCSI next to another driver = %v, want a clear refusal", err)
	}
}

func TestConnectCSIGivesUpWhenStopped(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, _, err := app.ConnectCSI(ctx, &app.Options{CSIAddress: filepath.Join(t.TempDir(), "missing.sock"), DriverName: metadata.DriverName})
	if err == nil {
		t.Error("ConnectCSI without a driver succeeded")
	}
}

func TestOptionsComplete(t *testing.T) {
	o := app.Options{NodeName: "n", ReportHeartbeat: time.Second, ReportStaleAfter: 3 * time.Second, StuckAfter: time.Minute}
	if err := o.Complete(); err != nil {
		t.Fatal(err)
	}
	if o.PeerNode("x") != "x" {
		t.Error("unmapped connection name changed")
	}
	bad := app.Options{ReportHeartbeat: time.Second, ReportStaleAfter: time.Second}
	err := bad.Complete()
	if err == nil || !strings.Contains(err.Error(), "--node-name") || !strings.Contains(err.Error(), "--report-stale-after") || !strings.Contains(err.Error(), "--stuck-after") {
		t.Errorf("Complete = %v, want the three problems named", err)
	}
}

func TestNodeNameMap(t *testing.T) {
	var o app.Options
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	o.AddFlags(fs)
	if err := fs.Parse([]string{"--node-name=a", "--node-name-map=drbd-b=node-b,drbd-c=node-c"}); err != nil {
		t.Fatal(err)
	}
	if err := o.Complete(); err != nil {
		t.Fatal(err)
	}
	if o.PeerNode("drbd-b") != "node-b" || o.PeerNode("drbd-c") != "node-c" || o.PeerNode("node-d") != "node-d" {
		t.Errorf("map = %v", o.NodeNameMap)
	}
	if err := fs.Parse([]string{"--node-name-map=broken"}); err != nil {
		t.Fatal(err)
	}
	if err := o.Complete(); err == nil || !strings.Contains(err.Error(), `"broken" is not conn=node`) {
		t.Errorf("Complete with a broken map = %v", err)
	}
}
