package failover

import (
	"context"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/klog/v2"

	"github.com/linstor-ha/linstor-ha/pkg/apis/linstorha/v1alpha1"
	"github.com/linstor-ha/linstor-ha/pkg/metadata"
)

// signsOfLife reads a lost peer's report and Lease. A report that is not
// there counts as gone; one that cannot be read leaves the view incomplete
// (false), and a Lease that cannot be read proves nothing. A report is
// fresh until its heartbeat has stayed the same for ReportStaleAfter by
// this node's clock: a peer whose clock runs behind is not taken for gone.
func (g *gatherer) signsOfLife(ctx context.Context, name string, st *NodeState) bool {
	logger := klog.FromContext(ctx)
	now := time.Now()
	rr, err := g.readPeerReport(ctx, name, now)
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

// reportReadInterval is how long a lost peer's report, once read, serves
// the evaluations that follow, at most a tenth of the staleness window. A
// fail-over re-evaluates on every change of the pods and attachments it
// moves; reading the same reports each time cost several reads per moved
// pod in a room's loss, while a report whose heartbeat changes every few
// seconds says nothing new within a second.
func (g *gatherer) reportReadInterval() time.Duration {
	return min(time.Second, g.reportStaleAfter/10)
}

// peerReportRead is one read of a peer's report: the report, or that it is
// not there.
type peerReportRead struct {
	report *v1alpha1.ReplicaReport
	at     time.Time
}

// readPeerReport returns the peer's report, from a read less than
// reportReadInterval old when there is one; a failed read is not kept.
func (g *gatherer) readPeerReport(ctx context.Context, name string, now time.Time) (*v1alpha1.ReplicaReport, error) {
	if last, ok := g.peerReports[name]; ok && now.Sub(last.at) < g.reportReadInterval() && !now.Before(last.at) {
		if last.report == nil {
			return nil, apierrors.NewNotFound(v1alpha1.SchemeGroupVersion.WithResource(metadata.ReportResource).GroupResource(), name)
		}
		return last.report, nil
	}
	getCtx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	rr, err := g.reports.Get(getCtx, name)
	switch {
	case apierrors.IsNotFound(err):
		g.peerReports[name] = peerReportRead{at: now}
	case err != nil:
		delete(g.peerReports, name)
	default:
		g.peerReports[name] = peerReportRead{report: rr, at: now}
	}
	return rr, err
}
