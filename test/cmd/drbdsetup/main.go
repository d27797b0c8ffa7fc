// Command drbdsetup stands in for DRBD's drbdsetup on a node of a simulated
// cluster. Processes under test exec it exactly as they exec the real one;
// it forwards its arguments to the simulator's server, copies the command's
// output as it streams and exits with the command's exit code.
//
// The node and the server are chosen by --sim-node NODE (or DRBDSIM_NODE)
// and --sim-socket PATH (or DRBDSIM_SOCKET). These flags are removed
// wherever they appear; every other argument is drbdsetup's. When the
// simulator cannot be reached or the stream breaks, it exits with 20, as
// drbdsetup does when it cannot talk to DRBD.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/linstor-ha/linstor-ha/test/drbdsim/server"
)

// exitNoDRBD is drbdsetup's exit code when it cannot talk to DRBD.
const exitNoDRBD = 20

// Options select the simulated node and carry drbdsetup's arguments.
type Options struct {
	Node   string
	Socket string
	// Args are drbdsetup's arguments, without the program name.
	Args []string
}

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	opts, err := parseOptions(args, getenv)
	if err != nil {
		fmt.Fprintf(stderr, "drbdsetup (simulated): %v\n", err)
		return exitNoDRBD
	}
	client := server.NewClient(opts.Socket)
	defer client.Close()
	code, err := client.Exec(context.Background(), opts.Node, opts.Args, stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "drbdsetup (simulated) on node %s: %v\n", opts.Node, err)
		return exitNoDRBD
	}
	return code
}

// parseOptions takes the --sim-* flags out of args, wherever they appear
// before a "--", and falls back to the environment for them.
func parseOptions(args []string, getenv func(string) string) (Options, error) {
	opts := Options{Node: getenv("DRBDSIM_NODE"), Socket: getenv("DRBDSIM_SOCKET"), Args: []string{}}
	flags := map[string]*string{"--sim-node": &opts.Node, "--sim-socket": &opts.Socket}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			opts.Args = append(opts.Args, args[i:]...)
			break
		}
		name, value, hasValue := strings.Cut(a, "=")
		target, ok := flags[name]
		if !ok {
			opts.Args = append(opts.Args, a)
			continue
		}
		if !hasValue {
			if i+1 >= len(args) {
				return Options{}, fmt.Errorf("flag %s needs a value", name)
			}
			i++
			value = args[i]
		}
		*target = value
	}
	switch {
	case opts.Node == "":
		return Options{}, fmt.Errorf("no simulated node: set --sim-node or DRBDSIM_NODE")
	case opts.Socket == "":
		return Options{}, fmt.Errorf("no simulator socket: set --sim-socket or DRBDSIM_SOCKET")
	}
	return opts, nil
}
