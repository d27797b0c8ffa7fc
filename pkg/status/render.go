package status

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/linstor-ha/linstor-ha/pkg/protection"
)

// maxFixesShown bounds the options the table prints per volume; the JSON
// output has all of them.
const maxFixesShown = 3

// WriteJSON prints the volumes as one JSON document.
func WriteJSON(w io.Writer, vols []Volume) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if vols == nil {
		vols = []Volume{}
	}
	return enc.Encode(struct {
		Volumes []Volume `json:"volumes"`
	}{vols})
}

// WriteTable prints a count by protection, then each volume: its
// replicas as a table, its pods, what it survives and what to change.
func WriteTable(w io.Writer, vols []Volume) error {
	p := &printer{w: w}
	if len(vols) == 0 {
		p.printf("No DRBD volume found: no replica report lists one, or none matches the names and namespace given.\n")
		return p.err
	}
	counts := map[string]int{}
	for _, v := range vols {
		counts[v.Protection]++
	}
	var parts []string
	for _, s := range []protection.Summary{protection.Unprotected, protection.NodeSafe, protection.Unknown, protection.ZoneSafe} {
		if n := counts[string(s)]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	p.printf("%d %s: %s\n", len(vols), plural(len(vols), "volume", "volumes"), strings.Join(parts, ", "))
	for _, v := range vols {
		p.printf("\n")
		p.volume(v)
	}
	return p.err
}

// printer keeps the first write error, so that the layout code stays
// readable.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

func (p *printer) volume(v Volume) {
	header := "VOLUME " + v.Resource
	if v.PersistentVolume != "" && v.PersistentVolume != v.Resource {
		header += "  PV " + v.PersistentVolume
	}
	if v.Claim != "" {
		header += "  CLAIM " + v.Claim
	}
	p.printf("%s  PROTECTION %s\n", header, v.Protection)

	tw := tabwriter.NewWriter(p.w, 0, 0, 2, ' ', 0)
	rows := []string{"  NODE\tZONE\tKIND\tROLE\tDISK\tQUORUM\tREPORT"}
	for _, r := range v.Replicas {
		rows = append(rows, fmt.Sprintf("  %s\t%s\t%s\t%s\t%s\t%s\t%s", r.Node, orNone(r.Zone), r.Kind, orNone(r.Role), orNone(r.Disk), yesNo(r.Quorum), r.Report))
	}
	if p.err == nil {
		_, p.err = fmt.Fprintln(tw, strings.Join(rows, "\n"))
	}
	if p.err == nil {
		p.err = tw.Flush()
	}

	p.printf("  Pods:              %s\n", podList(v.Pods))
	for _, msg := range v.Problems {
		p.printf("  Cannot judge:      %s\n", msg)
	}
	if len(v.Survives) > 0 {
		p.printf("  Survives:          %s\n", strings.Join(v.Survives, ", "))
	}
	for i, f := range v.NotSurvived {
		label := "  Does not survive:  "
		if i > 0 {
			label = "                     "
		}
		verdict := f.Failure
		if f.Reason == string(protection.ZoneUnknown) {
			verdict += " (may not)"
		}
		p.printf("%s%s: %s\n", label, verdict, f.Message)
	}
	switch {
	case v.Protection == string(protection.ZoneSafe):
		p.printf("  To survive a room loss: nothing to change\n")
	case len(v.ToSurviveRoomLoss) == 0 && len(v.Problems) == 0:
		p.printf("  To survive a room loss: no single or paired change to its replicas does it; spread its diskful replicas over three zones\n")
	}
	for i, fix := range v.ToSurviveRoomLoss {
		if i == maxFixesShown {
			p.printf("                          (%d more with -o json)\n", len(v.ToSurviveRoomLoss)-maxFixesShown)
			break
		}
		label := "  To survive a room loss: "
		if i > 0 {
			label = "                      or: "
		}
		p.printf("%s%s\n", label, fix)
	}
}

func podList(pods []Pod) string {
	if len(pods) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(pods))
	for _, pod := range pods {
		s := pod.Namespace + "/" + pod.Name
		switch {
		case pod.Node != "":
			s += " on " + pod.Node
		default:
			s += " (not scheduled)"
		}
		state := pod.Phase
		if pod.Terminating {
			state = "Terminating"
		}
		if state != "" {
			s += " (" + state + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
