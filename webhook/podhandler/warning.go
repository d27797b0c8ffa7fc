package podhandler

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/linstor-ha/linstor-ha/pkg/protection"
)

// maxWarning keeps one warning well within what the API server passes on
// (it truncates warnings once their total passes 4096 characters).
const maxWarning = 900

// protectionWarning returns the admission warning for a pod on resource
// with these replicas, "" when none is due: the resource survives the
// loss of any one node and, when the cluster has zones to lose (two or
// more), of any one zone. A resource that cannot be judged (no fresh
// report yet) gets none: the warning must be right when it speaks.
func protectionWarning(resource string, rs []protection.Replica, clusterZones int) string {
	r := protection.Compute(rs)
	if r.Summary == protection.ZoneSafe || r.Summary == protection.Unknown {
		return ""
	}
	var names []string
	var first *protection.Outcome
	for _, o := range slices.Concat(r.Fails, r.Undecided) {
		if o.Failure.Kind == protection.ZoneFailure && clusterZones < 2 {
			// One zone only: no placement survives its loss.
			continue
		}
		name := o.Failure.String()
		if o.Reason == protection.ZoneUnknown {
			name += " (maybe)"
		}
		names = append(names, name)
		if first == nil {
			first = &o
		}
	}
	if first == nil {
		return ""
	}
	msg := fmt.Sprintf("linstor-ha: volume %s would not fail over after the loss of %s: %s.", resource, strings.Join(names, ", "), first.Message)
	if fixes := protection.ZoneFixes(rs); len(fixes) > 0 && clusterZones >= 2 {
		msg += " To survive a room loss: " + fixes[0].Message + "."
	}
	msg += " The pod is admitted; `kubectl linstor-ha status " + resource + "` shows every option"
	return truncate(msg, maxWarning)
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("...")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
