package drbdsetup

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/linstor-ha/linstor-ha/pkg/drbd/drbdjson"
)

func runStatus(inv *invocation) int {
	resources, err := inv.cluster.Status(inv.node, inv.resource())
	if err != nil {
		return inv.fail(err)
	}
	if inv.p.has("json") {
		return inv.writeJSON(resources)
	}
	var b strings.Builder
	if len(resources) == 0 {
		b.WriteString("# No currently configured DRBD found.\n")
	}
	for i := range resources {
		writeStatusText(&b, &resources[i])
	}
	if _, err := fmt.Fprint(inv.stdout, b.String()); err != nil {
		return ExitUsage
	}
	return 0
}

func (inv *invocation) writeJSON(v any) int {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		fmt.Fprintf(inv.stderr, "drbdsetup %s: failed to encode JSON: %v\n", inv.cmd.name, err)
		return ExitUsage
	}
	if err := inv.writeLine(string(data)); err != nil {
		return ExitUsage
	}
	return 0
}

// writeStatusText writes the short text form of drbdsetup status.
func writeStatusText(b *strings.Builder, r *drbdjson.Resource) {
	fmt.Fprintf(b, "%s role:%s", r.Name, r.Role)
	if r.SuspendedQuorum {
		b.WriteString(" suspended:quorum")
	}
	if r.ForceIOFailures {
		b.WriteString(" force-io-failures:yes")
	}
	b.WriteByte('\n')
	multi := len(r.Devices) > 1
	for _, d := range r.Devices {
		b.WriteString("  ")
		if multi {
			fmt.Fprintf(b, "volume:%d ", d.Volume)
		}
		fmt.Fprintf(b, "disk:%s", d.DiskState)
		if d.Open {
			b.WriteString(" open:yes")
		}
		if !d.Quorum {
			b.WriteString(" quorum:no")
		}
		b.WriteByte('\n')
	}
	for _, c := range r.Connections {
		if c.ConnectionState != "Connected" {
			fmt.Fprintf(b, "  %s connection:%s\n", c.Name, c.ConnectionState)
			continue
		}
		fmt.Fprintf(b, "  %s role:%s\n", c.Name, c.PeerRole)
		for _, pd := range c.PeerDevices {
			b.WriteString("    ")
			if multi {
				fmt.Fprintf(b, "volume:%d ", pd.Volume)
			}
			if pd.ReplicationState != "Established" {
				fmt.Fprintf(b, "replication:%s ", pd.ReplicationState)
			}
			fmt.Fprintf(b, "peer-disk:%s", pd.PeerDiskState)
			if pd.PercentResyncDone != nil {
				fmt.Fprintf(b, " done:%.2f", float64(*pd.PercentResyncDone))
			}
			b.WriteByte('\n')
		}
	}
	b.WriteByte('\n')
}
