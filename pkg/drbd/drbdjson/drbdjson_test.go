package drbdjson_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/linstor-ha/linstor-ha/pkg/drbd/drbdjson"
)

// statusOutput has the form of drbd-utils 9.2x `drbdsetup status --json`,
// with a connection as seen in the field (an underflowed counter) and a
// resync in progress.
const statusOutput = `[
{
  "name": "pvc-1",
  "node-id": 1,
  "role": "Primary",
  "suspended": true,
  "suspended-user": false,
  "suspended-no-data": false,
  "suspended-fencing": false,
  "suspended-quorum": true,
  "force-io-failures": false,
  "write-ordering": "flush",
  "devices": [
    {
      "volume": 0,
      "minor": 1016,
      "disk-state": "UpToDate",
      "client": false,
      "open": true,
      "quorum": false,
      "size": 515948,
      "read": 2104,
      "written": 0,
      "al-writes": 0,
      "bm-writes": 0,
      "upper-pending": 0,
      "lower-pending": 0
    } ],
  "connections": [
    {"peer-node-id":0,"name":"4b","connection-state":"Connecting","congested":false,"peer-role":"Unknown","ap-in-flight":18446744073709551608,"rs-in-flight":0,"peer_devices":[{"volume":0,"replication-state":"Off","peer-disk-state":"DUnknown","peer-client":false,"resync-suspended":"no","received":0,"sent":0,"out-of-sync":0,"pending":0,"unacked":0,"has-sync-details":false,"has-online-verify-details":false,"percent-in-sync":100.00}]},
    {
      "peer-node-id": 2,
      "name": "node-c",
      "connection-state": "Connected",
      "congested": false,
      "peer-role": "Secondary",
      "tls": false,
      "ap-in-flight": 0,
      "rs-in-flight": 0,
      "paths": [
        {
          "this_host": {"address": "10.0.0.2", "port": 7000, "family": "ipv4"},
          "remote_host": {"address": "10.0.0.3", "port": 7000, "family": "ipv4"},
          "established": true
        } ],
      "peer_devices": [
        {
          "volume": 0,
          "replication-state": "SyncSource",
          "peer-disk-state": "Inconsistent",
          "peer-client": false,
          "resync-suspended": "no",
          "received": 0,
          "sent": 1024,
          "out-of-sync": 409600,
          "pending": 0,
          "unacked": 0,
          "has-sync-details": true,
          "has-online-verify-details": false,
          "percent-in-sync": 20.61,
          "rs-total": 1031896,
          "want": 0.00,
          "db/dt [MiB/s]": 12.50,
          "percent-resync-done": 20.61
        } ]
    } ]
}
]
`

func TestDecodeStatus(t *testing.T) {
	var status []drbdjson.Resource
	if err := json.Unmarshal([]byte(statusOutput), &status); err != nil {
		t.Fatalf("failed to decode: %v", err)
	}
	if len(status) != 1 {
		t.Fatalf("got %d resources, want 1", len(status))
	}
	r := status[0]
	if r.Name != "pvc-1" || r.NodeID != 1 || r.Role != "Primary" || !r.Suspended || !r.SuspendedQuorum || r.WriteOrdering != "flush" {
		t.Errorf("resource = %+v", r)
	}
	if d := r.Devices[0]; d.Minor != 1016 || d.DiskState != "UpToDate" || !d.Open || d.Quorum || d.Size != 515948 || d.Read != 2104 {
		t.Errorf("device = %+v", d)
	}
	lost := r.Connections[0]
	if lost.APInFlight != 18446744073709551608 || lost.ConnectionState != "Connecting" || lost.PeerRole != "Unknown" {
		t.Errorf("connection with an underflowed counter = %+v", lost)
	}
	if pd := lost.PeerDevices[0]; pd.PercentInSync != 100 || pd.PercentResyncDone != nil {
		t.Errorf("idle peer device = %+v", pd)
	}
	syncing := r.Connections[1]
	if p := syncing.Paths[0]; p.ThisHost.Address != "10.0.0.2" || p.RemoteHost.Port != 7000 || p.ThisHost.Family != "ipv4" || !p.Established {
		t.Errorf("path = %+v", p)
	}
	pd := syncing.PeerDevices[0]
	if pd.ReplicationState != "SyncSource" || pd.OutOfSync != 409600 || pd.PercentInSync != 20.61 || !pd.HasSyncDetails ||
		pd.PercentResyncDone == nil || *pd.PercentResyncDone != 20.61 {
		t.Errorf("syncing peer device = %+v", pd)
	}
}

// TestDecodeOldStatus decodes the output of older drbd-utils, which lack
// several keys.
func TestDecodeOldStatus(t *testing.T) {
	const old = `[{"name":"r0","node-id":2,"role":"Secondary","suspended":false,"write-ordering":"flush",
	"devices":[{"volume":0,"minor":3,"disk-state":"UpToDate","client":false,"quorum":true,"size":10200}],
	"connections":[{"peer-node-id":1,"name":"n1","connection-state":"Connected","congested":false,"peer-role":"Primary",
	"ap-in-flight":0,"rs-in-flight":0,"peer_devices":[{"volume":0,"replication-state":"Established","peer-disk-state":"UpToDate",
	"peer-client":false,"resync-suspended":"no","percent-in-sync":100}]}]}]`
	var status []drbdjson.Resource
	if err := json.Unmarshal([]byte(old), &status); err != nil {
		t.Fatalf("failed to decode: %v", err)
	}
	if r := status[0]; r.Devices[0].Open || !r.Devices[0].Quorum || r.Connections[0].Paths != nil || r.Connections[0].PeerRole != "Primary" {
		t.Errorf("resource = %+v", r)
	}
}

const showOutput = `[
    {
        "resource": "pvc-1",
        "options": {
            "auto-promote": true,
            "on-no-quorum": "suspend-io",
            "quorum": "majority"
        },
        "_this_host": {
            "node-id": 0,
            "volumes": [
                {
                    "volume_nr": 0,
                    "device_minor": 1000,
                    "backing-disk": "/dev/vg/pvc-1_00000",
                    "meta-disk": "internal",
                    "disk": {
                        "rs-discard-granularity": "65536"
                    }
                }
            ]
        },
        "connections": [
            {
                "paths": [
                    {
                        "this_host": {"address": "10.0.0.1", "port": 7000, "family": "ipv4"},
                        "remote_host": {"address": "10.0.0.3", "port": 7000, "family": "ipv4"}
                    }
                ],
                "_is_standalone": true,
                "net": {
                    "_name": "tiebreaker",
                    "ping-int": "10",
                    "ping-timeout": "5",
                    "timeout": "60",
                    "allow-two-primaries": false
                },
                "_peer_node_id": 2
            }
        ]
    },
    {
        "resource": "pvc-2",
        "_this_host": {
            "node-id": 1,
            "volumes": [
                {
                    "volume_nr": 0,
                    "device_minor": 1001,
                    "disk": "none"
                }
            ]
        }
    }
]
`

func TestDecodeShow(t *testing.T) {
	var show []drbdjson.ShowResource
	if err := json.Unmarshal([]byte(showOutput), &show); err != nil {
		t.Fatalf("failed to decode: %v", err)
	}
	r := show[0]
	if r.Options.Quorum != "majority" || r.Options.OnNoQuorum != "suspend-io" || r.Options.AutoPromote == nil || !*r.Options.AutoPromote {
		t.Errorf("options = %+v", r.Options)
	}
	if v := r.ThisHost.Volumes[0]; v.DeviceMinor != 1000 || v.BackingDisk != "/dev/vg/pvc-1_00000" || v.MetaDisk != "internal" || v.IntentionalDiskless() {
		t.Errorf("volume = %+v", v)
	}
	conn := r.Connections[0]
	if conn.PeerNodeID != 2 || !conn.IsStandalone || conn.Net.Name != "tiebreaker" || conn.Net.PingInt != "10" ||
		conn.Net.AllowTwoPrimaries == nil || *conn.Net.AllowTwoPrimaries || conn.Paths[0].RemoteHost.Address != "10.0.0.3" {
		t.Errorf("connection = %+v", conn)
	}
	if d := show[1]; !d.ThisHost.Volumes[0].IntentionalDiskless() || d.Connections != nil || d.Options.AutoPromote != nil {
		t.Errorf("diskless resource = %+v", d)
	}
}

func TestPercentEncoding(t *testing.T) {
	data, err := json.Marshal(drbdjson.PeerDevice{PercentInSync: 100})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"percent-in-sync":100.00`) {
		t.Errorf("encoded %s, want percent-in-sync:100.00 as drbdsetup prints it", data)
	}
}
