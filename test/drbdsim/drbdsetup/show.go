package drbdsetup

import (
	"fmt"
	"strings"

	"github.com/linstor-ha/linstor-ha/pkg/drbd/drbdjson"
)

func runShow(inv *invocation) int {
	resources, err := inv.cluster.Show(inv.node, "all")
	if err != nil {
		return inv.fail(err)
	}
	// drbdsetup show lists what the kernel has; a resource it does not
	// have simply does not appear.
	res := inv.resource()
	selected := []drbdjson.ShowResource{}
	for _, r := range resources {
		if res == "all" || r.Resource == res {
			selected = append(selected, r)
		}
	}
	if inv.p.has("json") {
		return inv.writeJSON(selected)
	}
	var b strings.Builder
	if len(resources) == 0 {
		b.WriteString("# No currently configured DRBD found.\n")
	}
	for i := range selected {
		writeShowText(&b, &selected[i])
	}
	if _, err := fmt.Fprint(inv.stdout, b.String()); err != nil {
		return ExitUsage
	}
	return 0
}

// writeShowText writes the configuration in drbdsetup's text form.
func writeShowText(b *strings.Builder, r *drbdjson.ShowResource) {
	fmt.Fprintf(b, "resource \"%s\" {\n", r.Resource)
	b.WriteString("    options {\n")
	if r.Options.Quorum != "" {
		fmt.Fprintf(b, "        quorum          \t%s;\n", r.Options.Quorum)
	}
	if r.Options.OnNoQuorum != "" {
		fmt.Fprintf(b, "        on-no-quorum    \t%s;\n", r.Options.OnNoQuorum)
	}
	if r.Options.OnSuspendedPrimaryOutdated != "" {
		fmt.Fprintf(b, "        on-suspended-primary-outdated\t%s;\n", r.Options.OnSuspendedPrimaryOutdated)
	}
	b.WriteString("    }\n    _this_host {\n")
	fmt.Fprintf(b, "        node-id\t\t\t%d;\n", r.ThisHost.NodeID)
	for _, v := range r.ThisHost.Volumes {
		fmt.Fprintf(b, "        volume %d {\n            device\t\t\tminor %d;\n", v.VolumeNr, v.DeviceMinor)
		if v.BackingDisk != "" {
			fmt.Fprintf(b, "            disk\t\t\t\"%s\";\n            meta-disk\t\t\t%s;\n", v.BackingDisk, v.MetaDisk)
		} else if v.IntentionalDiskless() {
			b.WriteString("            disk\t\t\tnone;\n")
		}
		b.WriteString("        }\n")
	}
	b.WriteString("    }\n")
	for _, c := range r.Connections {
		fmt.Fprintf(b, "    connection {\n        _peer_node_id %d;\n", c.PeerNodeID)
		for _, p := range c.Paths {
			fmt.Fprintf(b, "        path {\n            _this_host %s %s:%d;\n            _remote_host %s %s:%d;\n        }\n",
				p.ThisHost.Family, p.ThisHost.Address, p.ThisHost.Port, p.RemoteHost.Family, p.RemoteHost.Address, p.RemoteHost.Port)
		}
		if c.IsStandalone {
			b.WriteString("        _is_standalone;\n")
		}
		fmt.Fprintf(b, "        net {\n            _name           \t\"%s\";\n", c.Net.Name)
		for _, o := range [][2]string{{"protocol", c.Net.Protocol}, {"timeout", c.Net.Timeout}, {"ping-int", c.Net.PingInt},
			{"ping-timeout", c.Net.PingTimeout}, {"connect-int", c.Net.ConnectInt}} {
			if o[1] != "" {
				fmt.Fprintf(b, "            %-16s\t%s;\n", o[0], o[1])
			}
		}
		b.WriteString("        }\n    }\n")
	}
	b.WriteString("}\n\n")
}
