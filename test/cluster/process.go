package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// process is one child program of the cluster. Its output goes to a log file
// in the cluster directory. It runs in its own process group, so stopping
// it stops whatever it started, and it is killed if the test binary dies.
type process struct {
	name string
	log  string
	cmd  *exec.Cmd

	done    chan struct{}
	mu      sync.Mutex
	waitErr error
}

// processTable remembers every process a cluster started, so that a test
// can check that none is left.
type processTable struct {
	mu   sync.Mutex
	pids []int
}

func (t *processTable) all() []int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]int(nil), t.pids...)
}

// start starts bin with args in dir; name names its log file.
func (t *processTable) start(dir, name, bin string, args []string, env []string) (*process, error) {
	logPath := filepath.Join(dir, "logs", name+".log")
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, err
	}
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("failed to open log of %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("failed to start %s (%s): %w", name, bin, err)
	}
	t.mu.Lock()
	t.pids = append(t.pids, cmd.Process.Pid)
	t.mu.Unlock()
	p := &process{name: name, log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		logFile.Close()
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process ended, and how.
func (p *process) exited() (bool, error) {
	select {
	case <-p.done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return true, p.waitErr
	default:
		return false, nil
	}
}

// stop ends the process group: SIGTERM, then SIGKILL after grace.
func (p *process) stop(grace time.Duration) {
	p.signal(syscall.SIGTERM)
	// A frozen process handles its SIGTERM only once it runs again.
	p.signal(syscall.SIGCONT)
	select {
	case <-p.done:
		return
	case <-time.After(grace):
	}
	p.kill()
}

// kill ends the process group at once, as a crash would.
func (p *process) kill() {
	p.signal(syscall.SIGKILL)
	<-p.done
}

func (p *process) signal(sig syscall.Signal) {
	if ok, _ := p.exited(); ok {
		// The group may still hold children of a dead leader.
		_ = syscall.Kill(-p.cmd.Process.Pid, sig)
		return
	}
	if err := syscall.Kill(-p.cmd.Process.Pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		_ = p.cmd.Process.Signal(sig)
	}
}

// waitFor polls check until it succeeds, the process exits or ctx ends.
func (p *process) waitFor(ctx context.Context, what string, check func() error) error {
	var last error
	for {
		if last = check(); last == nil {
			return nil
		}
		if ok, err := p.exited(); ok {
			return fmt.Errorf("%s exited (%v) before %s; its log ends:\n%s", p.name, err, what, p.logTail())
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: timed out waiting for %s: %v; its log ends:\n%s", p.name, what, last, p.logTail())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// logTail returns the last lines of the process's log, so that a failure
// explains itself after the cluster directory is gone.
func (p *process) logTail() string {
	const maxBytes = 4 << 10
	b, err := os.ReadFile(p.log)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	if len(b) > maxBytes {
		b = b[len(b)-maxBytes:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}
