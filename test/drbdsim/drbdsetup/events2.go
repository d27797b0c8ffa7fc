package drbdsetup

import (
	"errors"
	"fmt"

	"github.com/linstor-ha/linstor-ha/test/drbdsim"
)

func runEvents2(inv *invocation) int {
	opts := drbdsim.SubscribeOptions{
		Resource:   inv.resource(),
		Full:       inv.p.has("full"),
		Statistics: inv.p.has("statistics"),
		Timestamps: inv.p.has("timestamps"),
	}
	if inv.p.has("now") {
		lines, err := inv.cluster.Dump(inv.node, opts)
		if err != nil {
			return inv.fail(err)
		}
		for _, line := range lines {
			if err := inv.writeLine(line); err != nil {
				return ExitUsage
			}
		}
		return 0
	}
	stream, err := inv.cluster.Subscribe(inv.node, opts)
	if err != nil {
		return inv.fail(err)
	}
	defer stream.Close()
	for {
		line, err := stream.Next(inv.ctx)
		switch {
		case inv.ctx.Err() != nil:
			// Whoever ran the command is gone, or the simulator stops: the
			// stream did not end by itself.
			fmt.Fprintf(inv.stderr, "drbdsetup events2: interrupted: %v\n", inv.ctx.Err())
			return ExitUsage
		case errors.Is(err, drbdsim.ErrNodeDown), errors.Is(err, drbdsim.ErrClosed):
			fmt.Fprintf(inv.stderr, "drbdsetup events2: lost the connection to DRBD on simulated node %q: %v\n", inv.node, err)
			return ExitUsage
		case err != nil:
			return inv.fail(err)
		}
		if err := inv.writeLine(line); err != nil {
			return ExitUsage
		}
	}
}
