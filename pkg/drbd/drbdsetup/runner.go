package drbdsetup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sync/atomic"
	"syscall"
	"time"

	"k8s.io/klog/v2"

	"github.com/linstor-ha/linstor-ha/pkg/drbd/events2"
	"github.com/linstor-ha/linstor-ha/pkg/drbd/state"
)

// DefaultArgs are the drbdsetup arguments of the stream: every resource,
// with timestamps, statistics and every field on every change.
var DefaultArgs = []string{"events2", "--timestamps", "--statistics", "--full", "all"}

// maxLine bounds one events2 line; real lines are a few hundred bytes. A
// longer line is skipped, not buffered, and the stream goes on.
const maxLine = 1 << 20

// ErrLineTooLong is the error OnParseError receives for a line longer than
// 1 MiB; the line it receives then is only a prefix of it.
var ErrLineTooLong = errors.New("events2 line too long")

// Options configure a Runner.
type Options struct {
	// Drbdsetup is the drbdsetup binary, a path or a name looked up in PATH.
	Drbdsetup string
	// Args replace DefaultArgs when set.
	Args []string
	// MinBackoff and MaxBackoff bound the wait before a restart; it doubles
	// after every stream that failed before completing its initial dump.
	MinBackoff, MaxBackoff time.Duration
	// OnChange is called, from the runner's goroutine, with the names of the
	// resources an event or a resync changed. It must not block for long.
	OnChange func(names []string)
	// OnParseError is called for every line that is skipped as malformed,
	// and for every line skipped as too long: then err wraps ErrLineTooLong
	// and line is a bounded prefix of it.
	OnParseError func(line string, err error)
	// OnRestart is called when drbdsetup ended and is about to be restarted.
	OnRestart func(err error)
}

// Runner follows drbdsetup events2 into a Store.
type Runner struct {
	opts  Options
	store *state.Store

	lines       atomic.Uint64
	parseErrors atomic.Uint64
	restarts    atomic.Uint64
}

// Stats are counters of a Runner's life.
type Stats struct {
	Lines, ParseErrors, Restarts uint64
}

// New returns a runner that keeps store current.
func New(opts Options, store *state.Store) *Runner {
	if len(opts.Args) == 0 {
		opts.Args = DefaultArgs
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 100 * time.Millisecond
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(10*time.Second, opts.MinBackoff)
	}
	return &Runner{opts: opts, store: store}
}

// Stats returns the runner's counters.
func (r *Runner) Stats() Stats {
	return Stats{Lines: r.lines.Load(), ParseErrors: r.parseErrors.Load(), Restarts: r.restarts.Load()}
}

// Run follows the stream until ctx is done, restarting drbdsetup whenever it
// ends. It returns ctx's error.
func (r *Runner) Run(ctx context.Context) error {
	logger := klog.FromContext(ctx)
	backoff := r.opts.MinBackoff
	for {
		dumped, err := r.runOnce(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if dumped {
			// The stream worked; a later failure is new trouble, not the
			// same one repeating.
			backoff = r.opts.MinBackoff
		}
		r.restarts.Add(1)
		logger.Error(err, "Failed to follow drbdsetup events2, restarting", "drbdsetup", r.opts.Drbdsetup, "backoff", backoff)
		if r.opts.OnRestart != nil {
			r.opts.OnRestart(err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, r.opts.MaxBackoff)
	}
}

// runOnce runs drbdsetup once and reads its stream to the end. It reports
// whether the initial dump was complete, and why the stream ended.
func (r *Runner) runOnce(ctx context.Context) (dumped bool, err error) {
	cmd := exec.CommandContext(ctx, r.opts.Drbdsetup, r.opts.Args...)
	// Ask drbdsetup to stop before killing it, and do not wait forever for
	// a child that keeps the pipes open.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 2 * time.Second
	stderr := &tailBuffer{max: 4096}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return false, fmt.Errorf("failed to create stdout pipe: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return false, fmt.Errorf("failed to start %s: %w", r.opts.Drbdsetup, err)
	}
	dumped, readErr := r.consume(ctx, stdout)
	// Whatever the store holds from now on may be outdated until the next
	// stream has dumped its initial state again.
	r.store.MarkUnsynced()
	if readErr != nil {
		// Stop a drbdsetup whose output cannot be read any more.
		_ = cmd.Process.Kill()
	}
	waitErr := cmd.Wait()
	switch {
	case readErr != nil:
		return dumped, readErr
	case waitErr != nil:
		return dumped, fmt.Errorf("drbdsetup exited: %w: %s", waitErr, stderr.String())
	}
	return dumped, errors.New("drbdsetup exited without error: stream ended")
}

// consume reads a stream: lines before "exists -" build a fresh model that
// replaces the store's at once; later lines update the store one by one.
func (r *Runner) consume(ctx context.Context, stdout io.Reader) (dumped bool, err error) {
	logger := klog.FromContext(ctx)
	lr := newLineReader(stdout, maxLine)
	next := state.NewModel()
	var ev events2.Event
	changed := make([]string, 0, 1)
	for {
		raw, length, err := lr.next()
		if err == io.EOF {
			return dumped, nil
		}
		if err != nil {
			return dumped, fmt.Errorf("failed to read drbdsetup output: %w", err)
		}
		r.lines.Add(1)
		if length > len(raw) {
			r.skipLong(logger, raw, length)
			continue
		}
		line := string(raw)
		if err := events2.Parse(line, &ev); err != nil {
			r.skip(logger, line, err)
			continue
		}
		if !dumped {
			if ev.EndOfInitialState() {
				dumped = true
				r.notify(r.store.Replace(next))
				next = nil
				continue
			}
			if _, err := next.Apply(&ev); err != nil {
				r.skip(logger, line, err)
			}
			continue
		}
		var name string
		var applyErr error
		r.store.Update(func(m *state.Model) { name, applyErr = m.Apply(&ev) })
		if applyErr != nil {
			r.skip(logger, line, applyErr)
			continue
		}
		if name != "" {
			r.notify(append(changed[:0], name))
		}
	}
}

// skip counts and logs a malformed line; the log holds only a bounded prefix
// of it, so a hostile stream cannot flood the log.
func (r *Runner) skip(logger klog.Logger, line string, err error) {
	r.parseErrors.Add(1)
	logErr := err
	if msg := err.Error(); len(msg) > 2*maxLogLine {
		// The model quotes a bad value whole; keep the log line short.
		logErr = errors.New(prefix(msg, 2*maxLogLine))
	}
	logger.Error(logErr, "Failed to parse events2 line, skipping it", "line", prefix(line, maxLogLine), "lineLength", len(line))
	if r.opts.OnParseError != nil {
		r.opts.OnParseError(line, err)
	}
}

// skipLong counts and logs a line longer than maxLine, of which only head
// was kept.
func (r *Runner) skipLong(logger klog.Logger, head []byte, length int) {
	r.parseErrors.Add(1)
	line := prefix(string(head), maxLogLine)
	err := fmt.Errorf("%w: %d bytes, at most %d", ErrLineTooLong, length, maxLine)
	logger.Error(err, "Failed to read events2 line, skipping it", "line", line, "lineLength", length)
	if r.opts.OnParseError != nil {
		r.opts.OnParseError(line, err)
	}
}

func (r *Runner) notify(names []string) {
	if len(names) > 0 && r.opts.OnChange != nil {
		r.opts.OnChange(names)
	}
}
