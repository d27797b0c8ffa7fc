// Command linstor-ha tells operators what their DRBD volumes survive.
// `linstor-ha status` prints, per volume, its replicas with node, zone,
// kind, role and disk state, the pods that use it, which single node or
// zone (room) loss it survives with fail-over, and what to change so that
// it survives the loss of a room. Built as kubectl-linstor_ha and put on
// the PATH, it runs as `kubectl linstor-ha status`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/linstor-ha/linstor-ha/pkg/reportclient"
	"github.com/linstor-ha/linstor-ha/pkg/status"
	"github.com/linstor-ha/linstor-ha/pkg/version"
)

// errUsage marks an error in how the command was called.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, errUsage):
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

// name is how the command was called, for its help: "kubectl linstor-ha"
// when kubectl runs it as a plugin.
func name() string {
	if strings.HasPrefix(filepath.Base(os.Args[0]), "kubectl-") {
		return "kubectl linstor-ha"
	}
	return "linstor-ha"
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintf(stderr, "Usage: %s status [VOLUME...] [flags]\n       %s version (or --version)\n\nRun '%s status --help' for the flags.\n", name(), name(), name())
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	switch args[0] {
	case "status":
		return runStatus(ctx, args[1:], stdout, stderr)
	case "version", "--version", "-version":
		_, err := fmt.Fprintln(stdout, version.Get().Line("linstor-ha"))
		return err
	}
	fmt.Fprintf(stderr, "unknown command %q; run '%s help'\n", args[0], name())
	return errUsage
}

// statusOptions are the flags of status.
type statusOptions struct {
	kubeconfig, context, namespace, output string
	requestTimeout, staleAfter             time.Duration
	names                                  []string
}

func parseStatus(args []string, stderr io.Writer) (*statusOptions, error) {
	o := &statusOptions{}
	fs := flag.NewFlagSet(name()+" status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s status [VOLUME...] [flags]\n\n"+
			"Shows, per DRBD volume, its replicas, the pods that use it, which single node or zone (room) loss it\n"+
			"survives with fail-over, and what to change so that it survives the loss of a room. VOLUME is a DRBD\n"+
			"resource, a PersistentVolume, a claim or namespace/claim; none: every volume.\n\nFlags:\n", name())
		fs.PrintDefaults()
	}
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "Kubeconfig file; default: $KUBECONFIG, ~/.kube/config, or the in-cluster account.")
	fs.StringVar(&o.context, "context", "", "Kubeconfig context to use.")
	fs.StringVar(&o.namespace, "namespace", "", "Only volumes whose claim is in this namespace.")
	fs.StringVar(&o.namespace, "n", "", "Shorthand for --namespace.")
	fs.StringVar(&o.output, "output", "table", "Output format: table or json.")
	fs.StringVar(&o.output, "o", "table", "Shorthand for --output.")
	fs.DurationVar(&o.requestTimeout, "request-timeout", 10*time.Second, "Deadline of each API call.")
	fs.DurationVar(&o.staleAfter, "report-stale-after", 20*time.Second, "A replica report confirmed longer ago than this proves nothing about its node's data.")
	// Flags may come after the volume names, as kubectl takes them.
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, nil
			}
			return nil, errUsage
		}
		if fs.NArg() == 0 {
			break
		}
		o.names = append(o.names, fs.Arg(0))
		args = fs.Args()[1:]
	}
	switch {
	case o.output != "table" && o.output != "json":
		fmt.Fprintf(stderr, "--output %q: must be table or json\n", o.output)
		return nil, errUsage
	case o.requestTimeout <= 0 || o.staleAfter <= 0:
		fmt.Fprintln(stderr, "--request-timeout and --report-stale-after must be positive")
		return nil, errUsage
	}
	return o, nil
}

func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseStatus(args, stderr)
	if err != nil || o == nil {
		return err
	}
	cfg, err := restConfig(o)
	if err != nil {
		return err
	}
	core, err := corev1client.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("failed to create a Kubernetes client: %w", err)
	}
	reports, err := reportclient.New(cfg)
	if err != nil {
		return err
	}
	in, err := status.Collect(ctx, status.Clients{Core: core, Reports: reports}, o.namespace, o.requestTimeout)
	if err != nil {
		return err
	}
	vols := status.Build(in, status.Options{Now: time.Now(), StaleAfter: o.staleAfter, Namespace: o.namespace, Names: o.names})
	write := status.WriteTable
	if o.output == "json" {
		write = status.WriteJSON
	}
	if err := write(stdout, vols); err != nil {
		return err
	}
	if missing := status.Unmatched(vols, o.names); len(missing) > 0 {
		return fmt.Errorf("no replica report lists %s: give a DRBD resource, PersistentVolume, claim or namespace/claim, and check that the sidecar runs on the volume's nodes", strings.Join(missing, ", "))
	}
	return nil
}

// restConfig loads the client configuration as kubectl does.
func restConfig(o *statusOptions) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.kubeconfig
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: o.context})
	cfg, err := loader.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("failed to load the Kubernetes client configuration (give --kubeconfig or set $KUBECONFIG): %w", err)
	}
	cfg.Timeout = o.requestTimeout
	cfg.UserAgent = "linstor-ha-status/" + version.Get().Version
	return cfg, nil
}
