package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/linstor-ha/linstor-ha/test/drbdsim"
	"github.com/linstor-ha/linstor-ha/test/drbdsim/server"
)

// ctlTimeout bounds one control request.
const ctlTimeout = 30 * time.Second

// CtlOptions configure `drbdsim ctl`.
type CtlOptions struct {
	Socket  string
	Command string
	Args    []string
}

func parseCtlOptions(args []string, stderr io.Writer) (*CtlOptions, error) {
	opts := &CtlOptions{}
	fs := flag.NewFlagSet("drbdsim ctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&opts.Socket, "socket", "", "unix socket of the simulator (required)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if opts.Socket == "" {
		return nil, errors.New("--socket is required")
	}
	if fs.NArg() == 0 {
		return nil, errors.New("missing command")
	}
	opts.Command, opts.Args = fs.Arg(0), fs.Args()[1:]
	return opts, nil
}

func ctl(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts, err := parseCtlOptions(args, stderr)
	if err != nil {
		return err
	}
	client := server.NewClient(opts.Socket)
	defer client.Close()
	ctx, cancel := context.WithTimeout(ctx, ctlTimeout)
	defer cancel()
	return runCtl(ctx, client, opts, stdout, stderr)
}

func runCtl(ctx context.Context, client *server.Client, opts *CtlOptions, stdout, stderr io.Writer) error {
	args := opts.Args
	want := func(n int, usage string) error {
		if len(args) != n {
			return fmt.Errorf("usage: drbdsim ctl %s %s", opts.Command, usage)
		}
		return nil
	}
	switch opts.Command {
	case "add-node":
		if len(args) == 0 {
			return want(1, "NAME...")
		}
		for _, name := range args {
			if err := client.AddNode(ctx, name); err != nil {
				return fmt.Errorf("failed to add node %s: %w", name, err)
			}
		}
		return nil
	case "add-resource":
		spec, err := parseResourceSpec(args, stderr)
		if err != nil {
			return err
		}
		return client.AddResource(ctx, *spec)
	case "remove-resource":
		if err := want(1, "NAME"); err != nil {
			return err
		}
		return client.RemoveResource(ctx, args[0])
	case "crash", "restart":
		if err := want(1, "NODE"); err != nil {
			return err
		}
		if opts.Command == "crash" {
			return client.Crash(ctx, args[0])
		}
		return client.Restart(ctx, args[0])
	case "partition":
		if err := want(2, "NODE,NODE... NODE,NODE..."); err != nil {
			return err
		}
		return client.Partition(ctx, strings.Split(args[0], ","), strings.Split(args[1], ","))
	case "heal":
		if len(args) == 0 {
			return client.Heal(ctx, nil, nil)
		}
		if err := want(2, "[NODE,NODE... NODE,NODE...]"); err != nil {
			return err
		}
		return client.Heal(ctx, strings.Split(args[0], ","), strings.Split(args[1], ","))
	case "open", "close", "down", "up":
		if err := want(2, "NODE RESOURCE"); err != nil {
			return err
		}
		return client.ReplicaAction(ctx, opts.Command, args[0], args[1])
	case "state":
		if err := want(0, ""); err != nil {
			return err
		}
		st, err := client.State(ctx)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	return fmt.Errorf("unknown ctl command %q", opts.Command)
}

// parseResourceSpec reads `add-resource [flags] NAME NODE[:KIND]...`.
func parseResourceSpec(args []string, stderr io.Writer) (*drbdsim.ResourceSpec, error) {
	spec := &drbdsim.ResourceSpec{}
	fs := flag.NewFlagSet("drbdsim ctl add-resource", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&spec.Volumes, "volumes", 1, "number of volumes")
	fs.StringVar(&spec.Quorum, "quorum", drbdsim.QuorumMajority, "quorum policy: majority or off")
	fs.StringVar(&spec.OnNoQuorum, "on-no-quorum", drbdsim.OnNoQuorumSuspendIO, "suspend-io or io-error")
	fs.Uint64Var(&spec.SizeKiB, "size-kib", 1<<20, "size of every volume in KiB")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() < 2 {
		return nil, errors.New("usage: drbdsim ctl add-resource [flags] NAME NODE[:KIND] (KIND: Diskful, Diskless or Tiebreaker)")
	}
	spec.Name = fs.Arg(0)
	for _, r := range fs.Args()[1:] {
		node, kind, _ := strings.Cut(r, ":")
		spec.Replicas = append(spec.Replicas, drbdsim.ReplicaSpec{Node: node, Kind: drbdsim.ReplicaKind(kind)})
	}
	return spec, nil
}
