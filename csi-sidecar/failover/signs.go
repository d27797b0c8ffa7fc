package failover

import (
	"context"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/klog/v2"
)

// signsOfLife reads a lost peer's report and Lease. A report that is not
// there counts as gone; one that cannot be read leaves the view incomplete
// (false), and a Lease that cannot be read proves nothing. A report is
// fresh until its heartbeat has stayed the same for ReportStaleAfter by
// this node's clock: a peer whose clock runs behind is not taken for gone.
func (g *gatherer) signsOfLife(ctx context.Context, name string, st *NodeState) bool {
	logger := klog.FromContext(ctx)
	now := time.Now()
	getCtx, cancel := context.WithTimeout(ctx, CallTimeout)
	rr, err := g.reports.Get(getCtx, name)
	cancel()
	switch {
	case apierrors.IsNotFound(err):
		rr = nil
		g.reportsSeen.Forget(name)
	case err != nil:
		logger.Error(err, "Failed to read a peer's replica report", "node", name)
		g.metrics.APIErrors.WithLabelValues("GetReport").Inc()
		// Staleness must be seen across reads that succeed.
		g.reportsSeen.Forget(name)
		return false
	case !rr.Status.Synced:
		g.reportsSeen.Forget(name)
	default:
		if until := g.reportsSeen.See(name, rr.Status.HeartbeatTime.Time, now, g.reportStaleAfter); now.Before(until) {
			st.Report = &PeerReport{Quorum: map[string]bool{}}
			for _, res := range rr.Status.Resources {
				st.Report.Quorum[res.Name] = res.Quorum
			}
			st.AliveUntil = until
		}
	}
	if g.liveness == nil {
		return true
	}
	v, err := g.liveness.Check(ctx, name, now)
	if err != nil {
		logger.Error(err, "Failed to read a peer's liveness lease", "node", name)
		g.metrics.APIErrors.WithLabelValues("GetLease").Inc()
		return true
	}
	if rr != nil && v.Abandoned(rr.Status.HeartbeatTime.Time) {
		logger.V(2).Info("Ignoring an abandoned liveness lease", "node", name)
		return true
	}
	st.Silent = v.Silent
	if v.Silent && (st.GoneSince.IsZero() || v.SilentSince.Before(st.GoneSince)) {
		st.GoneSince = v.SilentSince
	}
	if !v.AliveUntil.IsZero() && (st.AliveUntil.IsZero() || v.AliveUntil.Before(st.AliveUntil)) {
		st.AliveUntil = v.AliveUntil
	}
	return true
}
