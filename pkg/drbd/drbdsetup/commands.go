package drbdsetup

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	"github.com/linstor-ha/linstor-ha/pkg/drbd/drbdjson"
)

// DefaultCommandTimeout bounds one one-shot drbdsetup command when the caller
// passes no timeout. A drbdsetup blocked on a kernel netlink call (a state
// change waiting on a peer that no longer answers) must not hold up
// fail-over: the command is killed and its caller goes on with an error.
const DefaultCommandTimeout = 10 * time.Second

// maxOutput bounds how much of a command's output an error carries.
const maxOutput = 4096

// waitDelay bounds the wait for a killed command's output pipes, which a
// child it left behind may hold open.
const waitDelay = time.Second

// Show runs `binary show --json` and returns the configuration of every
// resource. A timeout of zero or less means DefaultCommandTimeout.
func Show(ctx context.Context, binary string, timeout time.Duration) ([]drbdjson.ShowResource, error) {
	var stdout bytes.Buffer
	stderr := &tailBuffer{max: maxOutput}
	if err := run(ctx, timeout, &stdout, stderr, binary, "show", "--json"); err != nil {
		return nil, withOutput(err, stderr.String())
	}
	var show []drbdjson.ShowResource
	if err := json.Unmarshal(stdout.Bytes(), &show); err != nil {
		return nil, fmt.Errorf("failed to parse the output of %s show --json: %w: %q", binary, err, prefix(stdout.String(), maxLogLine))
	}
	return show, nil
}

// ForceSecondary runs `binary secondary --force resource`: the resource
// becomes Secondary even with I/O frozen on it, which then fails. A timeout
// of zero or less means DefaultCommandTimeout. A resource name that is empty
// or starts with '-' (drbdsetup would take it for an option) is refused
// without running anything.
func ForceSecondary(ctx context.Context, binary, resource string, timeout time.Duration) error {
	if resource == "" || strings.HasPrefix(resource, "-") {
		return fmt.Errorf("invalid DRBD resource name %q: empty or starting with '-'", resource)
	}
	output := &tailBuffer{max: maxOutput}
	err := run(ctx, timeout, output, output, binary, "secondary", "--force", resource)
	return withOutput(err, output.String())
}

// run runs binary with args until it exits or timeout passes, whichever
// comes first; then it kills it.
func run(ctx context.Context, timeout time.Duration, stdout, stderr io.Writer, binary string, args ...string) error {
	if timeout <= 0 {
		timeout = DefaultCommandTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = waitDelay
	err := cmd.Run()
	name := binary + " " + strings.Join(args, " ")
	switch {
	case err == nil:
		return nil
	case ctx.Err() == context.DeadlineExceeded:
		return fmt.Errorf("%s did not finish within %s: %w", name, timeout, ctx.Err())
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w", name, ctx.Err())
	}
	return fmt.Errorf("%s: %w", name, err)
}

// withOutput adds a failed command's output to its error.
func withOutput(err error, output string) error {
	output = strings.TrimSpace(output)
	if err == nil || output == "" {
		return err
	}
	return fmt.Errorf("%w: %s", err, output)
}
