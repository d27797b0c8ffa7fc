package app

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/linstor-ha/linstor-ha/pkg/metadata"
	"github.com/linstor-ha/linstor-ha/webhook/mutation"
)

// Options are the webhook's flags.
type Options struct {
	Kubeconfig     string
	CertDir        string
	CertName       string
	KeyName        string
	Port           int
	BindAddress    string
	MetricsAddress string
	// MetricsSecure serves the metrics over HTTPS to callers the API
	// server authenticates and authorizes for GET /metrics.
	MetricsSecure bool
	HealthAddress string
	EnableHTTP2   bool
	// ConfigFile holds the mutation settings; flags set on the command
	// line override it.
	ConfigFile   string
	OwnNamespace string
	StaleAfter   time.Duration
	KubeAPIQPS   float64
	KubeAPIBurst int

	Mutation mutation.Config
	// fs tells which mutation flags were given, to override the file.
	fs *flag.FlagSet
}

// DefaultMutation is what an unconfigured webhook does: everything on,
// with 30 s tolerations.
func DefaultMutation() mutation.Config {
	return mutation.Config{
		SetScheduler: true, SchedulerName: metadata.SchedulerName,
		SetTolerations: true, TolerationSeconds: 30,
		SpreadZones: true, PreferDataZones: true,
	}
}

// AddFlags registers the flags on fs.
func (o *Options) AddFlags(fs *flag.FlagSet) {
	o.fs = fs
	fs.StringVar(&o.Kubeconfig, "kubeconfig", "", "Kubeconfig file; empty for in-cluster configuration.")
	fs.StringVar(&o.CertDir, "cert-dir", "/etc/linstor-ha/tls", "Directory of the serving certificate and key; rotated files are picked up without a restart.")
	fs.StringVar(&o.CertName, "cert-name", "tls.crt", "Certificate file name in --cert-dir.")
	fs.StringVar(&o.KeyName, "key-name", "tls.key", "Key file name in --cert-dir.")
	fs.IntVar(&o.Port, "port", 9443, "Port of the webhook's TLS server.")
	fs.StringVar(&o.BindAddress, "bind-address", "", "Address the webhook's TLS server binds; empty for all.")
	fs.StringVar(&o.MetricsAddress, "metrics-bind-address", ":8443", "Address of the metrics endpoint; 0 to disable.")
	fs.BoolVar(&o.MetricsSecure, "metrics-secure", true, "Serve the metrics over HTTPS (a self-signed certificate) only to callers allowed to get the non-resource URL /metrics, checked with TokenReview and SubjectAccessReview; false serves plain HTTP to anyone who reaches the address.")
	fs.StringVar(&o.HealthAddress, "health-probe-bind-address", ":8081", "Address of /healthz and /readyz.")
	fs.BoolVar(&o.EnableHTTP2, "enable-http2", false, "Serve HTTP/2 too (off by default: HTTP/2 rapid-reset and stream attacks).")
	fs.StringVar(&o.ConfigFile, "config", "", "YAML file with the mutation settings (setScheduler, schedulerName, setTolerations, tolerationSeconds, spreadZones, preferDataZones).")
	fs.StringVar(&o.OwnNamespace, "own-namespace", os.Getenv("POD_NAMESPACE"), "The webhook's namespace, never mutated (default $POD_NAMESPACE).")
	fs.DurationVar(&o.StaleAfter, "report-stale-after", 20*time.Second, "Replica reports older than this are ignored for the zone affinity.")
	fs.Float64Var(&o.KubeAPIQPS, "kube-api-qps", 20, "API requests per second.")
	fs.IntVar(&o.KubeAPIBurst, "kube-api-burst", 40, "API request burst.")

	def := DefaultMutation()
	o.Mutation = def
	fs.BoolVar(&o.Mutation.SetScheduler, "set-scheduler", def.SetScheduler, "Set spec.schedulerName of DRBD pods that use the default scheduler.")
	fs.StringVar(&o.Mutation.SchedulerName, "scheduler-name", def.SchedulerName, "The scheduler DRBD pods get.")
	fs.BoolVar(&o.Mutation.SetTolerations, "set-tolerations", def.SetTolerations, "Shorten the not-ready and unreachable NoExecute tolerations.")
	fs.Int64Var(&o.Mutation.TolerationSeconds, "toleration-seconds", def.TolerationSeconds, "tolerationSeconds of those tolerations.")
	fs.BoolVar(&o.Mutation.SpreadZones, "spread-zones", def.SpreadZones, "Spread the pods of a StatefulSet or Deployment over zones.")
	fs.BoolVar(&o.Mutation.PreferDataZones, "prefer-data-zones", def.PreferDataZones, "Prefer the zones holding UpToDate data of the pod's volumes.")
}

// Complete loads the configuration file under the flags given and
// validates everything.
func (o *Options) Complete() error {
	if o.ConfigFile != "" {
		// What was given on the command line, to apply again over the file.
		given := map[string]string{}
		if o.fs != nil {
			o.fs.Visit(func(f *flag.Flag) { given[f.Name] = f.Value.String() })
		}
		raw, err := os.ReadFile(o.ConfigFile)
		if err != nil {
			return fmt.Errorf("failed to read --config: %w", err)
		}
		o.Mutation = DefaultMutation()
		if err := yaml.UnmarshalStrict(raw, &o.Mutation); err != nil {
			return fmt.Errorf("failed to parse --config %s: %w", o.ConfigFile, err)
		}
		for name, value := range given {
			if err := o.fs.Set(name, value); err != nil {
				return err
			}
		}
	}
	var errs []error
	if err := o.Mutation.Validate(); err != nil {
		errs = append(errs, err)
	}
	if o.Port <= 0 || o.Port > 65535 {
		errs = append(errs, fmt.Errorf("--port %d: out of range", o.Port))
	}
	if o.StaleAfter <= 0 {
		errs = append(errs, errors.New("--report-stale-after must be positive"))
	}
	if o.CertDir == "" {
		errs = append(errs, errors.New("--cert-dir must be set"))
	}
	return errors.Join(errs...)
}
