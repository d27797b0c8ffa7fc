// Command drbdsim runs a simulated DRBD cluster and drives it.
//
//	drbdsim serve --socket PATH [--nodes a,b,c] [--config FILE] [delay flags]
//	drbdsim ctl --socket PATH COMMAND [ARGS]
//
// serve runs the simulator and its server until SIGINT or SIGTERM; the
// drbdsetup stand-in and ctl talk to it on the socket. ctl commands:
//
//	add-node NAME...
//	add-resource [--volumes N] [--quorum majority|off] [--on-no-quorum suspend-io|io-error] NAME NODE[:KIND]...
//	remove-resource NAME
//	crash NODE | restart NODE
//	partition NODE,NODE... NODE,NODE...
//	heal [NODE,NODE... NODE,NODE...]
//	open NODE RESOURCE | close NODE RESOURCE | down NODE RESOURCE | up NODE RESOURCE
//	state
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs a drbdsim command line; serve runs until ctx is done.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: drbdsim serve|ctl --socket PATH ...")
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(ctx, args[1:], stderr)
	case "ctl":
		err = ctl(ctx, args[1:], stdout, stderr)
	default:
		err = fmt.Errorf("unknown command %q: want serve or ctl", args[0])
	}
	if err != nil {
		fmt.Fprintf(stderr, "drbdsim: %v\n", err)
		return 1
	}
	return 0
}
