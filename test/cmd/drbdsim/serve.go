package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/linstor-ha/linstor-ha/test/drbdsim"
	"github.com/linstor-ha/linstor-ha/test/drbdsim/server"
)

// ServeOptions configure `drbdsim serve`.
type ServeOptions struct {
	Socket string
	Nodes  []string
	// Config is a JSON file with nodes, resources and delays (see Config).
	Config string
	// Delays override the configuration's, which override DRBD's.
	Delays drbdsim.Delays
	// setDelays names the delay flags given on the command line.
	setDelays map[string]bool
}

// Config is the content of --config.
type Config struct {
	Nodes     []string               `json:"nodes"`
	Resources []drbdsim.ResourceSpec `json:"resources"`
	// Delays are Go durations ("10s", "500ms"); absent ones are DRBD's.
	Delays map[string]string `json:"delays"`
}

// delayFlags maps the delay flag names, which are also the keys of
// Config.Delays, to the delay they set.
func delayFlags(d *drbdsim.Delays) map[string]*time.Duration {
	return map[string]*time.Duration{
		"ping-int": &d.PingInt, "ping-timeout": &d.PingTimeout, "timeout": &d.Timeout,
		"reconnect": &d.Reconnect, "resync": &d.Resync,
	}
}

func parseServeOptions(args []string, stderr io.Writer) (*ServeOptions, error) {
	opts := &ServeOptions{Delays: drbdsim.DefaultDelays(), setDelays: map[string]bool{}}
	fs := flag.NewFlagSet("drbdsim serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&opts.Socket, "socket", "", "unix socket to serve on (required)")
	nodes := fs.String("nodes", "", "comma-separated nodes to add")
	fs.StringVar(&opts.Config, "config", "", "JSON file with nodes, resources and delays")
	for name, d := range delayFlags(&opts.Delays) {
		fs.DurationVar(d, name, *d, "DRBD's "+name+" delay")
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if opts.Socket == "" {
		return nil, errors.New("--socket is required")
	}
	if *nodes != "" {
		opts.Nodes = strings.Split(*nodes, ",")
	}
	fs.Visit(func(f *flag.Flag) { opts.setDelays[f.Name] = true })
	return opts, nil
}

// loadConfig reads the configuration file and applies its delays where no
// flag set them.
func (o *ServeOptions) loadConfig() (*Config, error) {
	cfg := &Config{}
	if o.Config == "" {
		return cfg, nil
	}
	data, err := os.ReadFile(o.Config)
	if err != nil {
		return nil, fmt.Errorf("failed to read the configuration: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(cfg); err != nil {
		return nil, fmt.Errorf("failed to parse the configuration %s: %w", o.Config, err)
	}
	flags := delayFlags(&o.Delays)
	for name, value := range cfg.Delays {
		target, ok := flags[name]
		if !ok {
			return nil, fmt.Errorf("configuration %s: unknown delay %q", o.Config, name)
		}
		d, err := time.ParseDuration(value)
		if err != nil {
			return nil, fmt.Errorf("configuration %s: delay %s: %w", o.Config, name, err)
		}
		if !o.setDelays[name] {
			*target = d
		}
	}
	return cfg, nil
}

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	opts, err := parseServeOptions(args, stderr)
	if err != nil {
		return err
	}
	cfg, err := opts.loadConfig()
	if err != nil {
		return err
	}
	cluster, err := drbdsim.New(drbdsim.Options{Delays: &opts.Delays})
	if err != nil {
		return fmt.Errorf("failed to create the cluster: %w", err)
	}
	defer cluster.Close()
	for _, n := range append(opts.Nodes, cfg.Nodes...) {
		if err := cluster.AddNode(n); err != nil {
			return err
		}
	}
	for _, spec := range cfg.Resources {
		if err := cluster.AddResource(spec); err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "drbdsim: serving on %s\n", opts.Socket)
	return server.ListenAndServe(ctx, opts.Socket, server.New(cluster))
}
