package drbdsetup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/linstor-ha/linstor-ha/test/drbdsim"
)

// invocation is one run of a command.
type invocation struct {
	ctx            context.Context
	cluster        *drbdsim.Cluster
	node           string
	cmd            *command
	p              *parsed
	stdout, stderr io.Writer
}

var commands = []*command{
	{
		name:  "events2",
		usage: "events2 [{resource|all}] [--now] [--statistics] [--timestamps] [--full] [--color[={always|auto|never}]]",
		options: []option{
			{long: "now", arg: "none"}, {long: "statistics", arg: "none"}, {long: "timestamps", arg: "none"},
			{long: "full", arg: "none"}, {long: "color", arg: "optional"},
		},
		maxArgs: 1,
		run:     runEvents2,
	},
	{
		name:  "status",
		usage: "status [{resource|all}] [--verbose] [--statistics] [--json] [--color[={always|auto|never}]]",
		options: []option{
			{long: "verbose", short: 'v', arg: "none"}, {long: "statistics", short: 's', arg: "none"},
			{long: "json", short: 'j', arg: "none"}, {long: "color", arg: "optional"},
		},
		maxArgs: 1,
		run:     runStatus,
	},
	{
		name:    "show",
		usage:   "show [{resource|all}] [--show-defaults] [--json]",
		options: []option{{long: "show-defaults", short: 'D', arg: "none"}, {long: "json", short: 'j', arg: "none"}},
		maxArgs: 1,
		run:     runShow,
	},
	{
		name:    "primary",
		usage:   "primary {resource} [--force]",
		options: []option{{long: "force", arg: "none"}, {long: "overwrite-data-of-peer", arg: "none"}},
		minArgs: 1, maxArgs: 1,
		run: runPrimary,
	},
	{
		name:    "secondary",
		usage:   "secondary {resource} [--force]",
		options: []option{{long: "force", arg: "none"}},
		minArgs: 1, maxArgs: 1,
		run: runSecondary,
	},
}

// Run runs one drbdsetup command line (without the program name) on a node
// and returns drbdsetup's exit code. events2 without --now streams until
// the node crashes or ctx is done, and then fails: it never ends by itself.
func Run(ctx context.Context, c *drbdsim.Cluster, node string, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usage(stderr, "missing command")
	}
	var cmd *command
	for _, candidate := range commands {
		if candidate.name == args[0] {
			cmd = candidate
		}
	}
	if cmd == nil {
		return usage(stderr, fmt.Sprintf("unknown command '%s'", args[0]))
	}
	p, err := cmd.parse(args[1:])
	if err != nil {
		fmt.Fprintf(stderr, "drbdsetup %s: %v\nUSAGE:\n %s\n", cmd.name, err, cmd.usage)
		return ExitUsage
	}
	return cmd.run(&invocation{ctx: ctx, cluster: c, node: node, cmd: cmd, p: p, stdout: stdout, stderr: stderr})
}

func usage(stderr io.Writer, problem string) int {
	fmt.Fprintf(stderr, "drbdsetup: %s\nUSAGE: drbdsetup command {arguments} [options]\n\nCommands simulated:\n", problem)
	for _, cmd := range commands {
		fmt.Fprintf(stderr, " %s\n", cmd.usage)
	}
	return ExitUsage
}

// resource returns the resource argument; "all" when absent.
func (inv *invocation) resource() string {
	if len(inv.p.args) == 0 {
		return "all"
	}
	return inv.p.args[0]
}

// fail reports err as drbdsetup reports the failure behind it, and returns
// the exit code.
func (inv *invocation) fail(err error) int {
	var sce *drbdsim.StateChangeError
	switch {
	case errors.Is(err, drbdsim.ErrUnknownNode), errors.Is(err, drbdsim.ErrNodeDown), errors.Is(err, drbdsim.ErrClosed):
		// What drbdsetup says when it finds no DRBD to talk to.
		fmt.Fprintf(inv.stderr, "Could not connect to 'drbd' generic netlink family (simulated node %q: %v)\n", inv.node, err)
		return ExitUsage
	case errors.As(err, &sce):
		fmt.Fprintln(inv.stderr, sce.Error())
		return ExitStateChange
	case errors.Is(err, drbdsim.ErrUnknownResource):
		if inv.cmd.name == "status" {
			fmt.Fprintf(inv.stderr, "%s: No such resource\n", inv.resource())
		} else {
			fmt.Fprintf(inv.stderr, "%s: Failure: (158) Unknown resource\n", inv.resource())
		}
		return ExitNoResource
	}
	fmt.Fprintf(inv.stderr, "drbdsetup %s: %v\n", inv.cmd.name, err)
	return ExitUsage
}

// writeLine writes one line in a single write, so that a streaming writer
// can pass it on at once.
func (inv *invocation) writeLine(line string) error {
	_, err := io.WriteString(inv.stdout, line+"\n")
	return err
}
