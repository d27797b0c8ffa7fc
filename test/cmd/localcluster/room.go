package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/linstor-ha/linstor-ha/test/cluster"
)

const roomNS = "rooms"

// roomLoss runs f.roomPods StatefulSets in room-a, each on a volume with
// replicas in both rooms and its tiebreaker in room-b, then crashes every
// node of room-a at once and measures until all of them run again in
// room-b with their volumes attached. With perRoom, each room has its own
// API server and room-a's is lost with the room, black-holed, while
// room-b's nodes were connected to it (room-b's restarted earlier, as in
// an upgrade): the worst case for survivors' clients.
func roomLoss(ctx context.Context, f failoverFlags, perRoom bool) error {
	// A room's worth of volumes moves at the pace of the attach-detach
	// controller and the external-attacher, whose default rate limits (20
	// and 5 requests per second) leave it at about one volume per 200 ms.
	c, err := cluster.Start(ctx, withComponents(f, cluster.Options{AttacherQPS: 50, ControllerManagerQPS: f.roomKCMQPS, APIServerPerRoom: perRoom}))
	if err != nil {
		return err
	}
	defer c.Stop()
	started(f, c)
	vols, err := c.RoomWorkloads(ctx, roomNS, "db", f.roomPods)
	if err != nil {
		return err
	}
	lostRoom := []string{"node-a1", "node-a2", "node-a3"}
	apiServers := 1
	if perRoom {
		apiServers = 2
		if err := c.MoveRoomToAPIServerOf(ctx, "room-b", "room-a"); err != nil {
			return err
		}
	}
	logf("%d StatefulSet pods run in room-a; losing %v with %d API server(s)", len(vols), lostRoom, apiServers)
	// The move is followed by watches: polling lists of every pod and
	// attachment would load the API server that the move waits for.
	watchCtx, stopWatching := context.WithCancel(ctx)
	defer stopWatching()
	watch, err := c.WatchRoom(watchCtx, vols, "room-b")
	if err != nil {
		return err
	}
	requestsBefore, err := c.SidecarCounters(ctx, apiRequestsMetric, "method")
	if err != nil {
		return err
	}
	crashed := time.Now()
	if perRoom {
		if err := c.LoseRoom("room-a"); err != nil {
			return err
		}
	} else {
		for _, n := range lostRoom {
			if err := c.CrashNode(n); err != nil {
				return err
			}
		}
	}
	detected, err := waitDetected(ctx, c, vols[0].Diskful[1], vols[0].Diskful[0], vols[0].Resource())
	if err != nil {
		return err
	}
	var progress cluster.RoomProgress
	steps := newStepTimes(detected)
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
		progress, err = watch.Progress()
		steps.observe(progress, len(vols))
		return err == nil && progress.Running == len(vols), nil
	})
	if err != nil {
		return fmt.Errorf("%d of %d pods run again in room-b: %w", progress.Running, len(vols), err)
	}
	allRunning := time.Since(detected)
	requestsAfter, err := c.SidecarCounters(ctx, apiRequestsMetric, "method")
	if err != nil {
		return err
	}
	byMethod := survivorsGrowth(requestsBefore, requestsAfter)
	var requests float64
	for _, n := range byMethod {
		requests += n
	}
	fmt.Printf("room loss (%d API server(s), kube-controller-manager --kube-api-qps=%s, external-attacher --kube-api-qps=50): ", apiServers, qpsFlag(f.roomKCMQPS))
	fmt.Printf("DRBD noticed +%.1fs after the crash; all %d pods Running in room-b with their volumes attached %.1fs after detection (+%.1fs after the crash)\n",
		detected.Sub(crashed).Seconds(), len(vols), allRunning.Seconds(), time.Since(crashed).Seconds())
	fmt.Printf("room_failover_seconds all_running=%.1f pods=%d api_servers=%d\n", allRunning.Seconds(), len(vols), apiServers)
	fmt.Printf("room_steps_seconds %s\n", steps)
	fmt.Printf("api_requests_per_pod=%.1f requests=%.0f pods=%d sidecars=%d by_method=%s\n",
		requests/float64(len(vols)), requests, len(vols), len(requestsAfter), formatCounts(byMethod))
	return nil
}

// apiRequestsMetric is client-go's request counter, which the sidecar
// serves.
const apiRequestsMetric = "rest_client_requests_total"

// survivorsGrowth sums, by label value, how much each sidecar's counters
// of after grew since before; the sidecars that are gone by after made no
// requests since.
func survivorsGrowth(before, after map[string]map[string]float64) map[string]float64 {
	sum := map[string]float64{}
	for node, values := range after {
		for label, v := range values {
			sum[label] += v - before[node][label]
		}
	}
	return sum
}

// formatCounts renders counts by label value as "GET=3,POST=1", sorted.
func formatCounts(counts map[string]float64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%s=%.0f", k, counts[k]))
	}
	return strings.Join(parts, ",")
}

// qpsFlag renders a rate limit, 0 being the component's default.
func qpsFlag(q int) string {
	if q == 0 {
		return "20 (default)"
	}
	return fmt.Sprint(q)
}

// stepTimes records when half and all of a room's volumes were first seen
// past each step of their move, counted from DRBD's detection: where the
// time of a room's fail-over goes.
type stepTimes struct {
	start time.Time
	half  map[string]time.Duration
	all   map[string]time.Duration
}

// roomSteps names the steps of RoomProgress in the order a volume passes
// them.
var roomSteps = []string{"old_pods_gone", "detached", "created", "scheduled", "attached", "running"}

func newStepTimes(start time.Time) *stepTimes {
	return &stepTimes{start: start, half: map[string]time.Duration{}, all: map[string]time.Duration{}}
}

// observe notes the steps that half or all of n volumes are past now.
func (s *stepTimes) observe(p cluster.RoomProgress, n int) {
	now := time.Since(s.start)
	counts := []int{p.OldPodsGone, p.Detached, p.Created, p.Scheduled, p.Attached, p.Running}
	for i, step := range roomSteps {
		if _, ok := s.half[step]; !ok && 2*counts[i] >= n {
			s.half[step] = now
		}
		if _, ok := s.all[step]; !ok && counts[i] == n {
			s.all[step] = now
		}
	}
}

// String renders each step as name=half/all in seconds; a step not reached
// reads "-".
func (s *stepTimes) String() string {
	seconds := func(m map[string]time.Duration, step string) string {
		if d, ok := m[step]; ok {
			return fmt.Sprintf("%.1f", d.Seconds())
		}
		return "-"
	}
	parts := make([]string, len(roomSteps))
	for i, step := range roomSteps {
		parts[i] = step + "=" + seconds(s.half, step) + "/" + seconds(s.all, step)
	}
	return strings.Join(parts, " ")
}
