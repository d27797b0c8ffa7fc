package cluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// startWebhook deploys manifests/webhook's account, RBAC and configuration,
// makes its certificate with certs/generate.sh, runs the webhook binary as
// its pod would and registers it with the manifest's
// MutatingWebhookConfiguration, pointed at the local URL with the CA.
func (c *Cluster) startWebhook(ctx context.Context) error {
	comp, err := c.deployComponent(ctx, "webhook")
	if err != nil {
		return err
	}
	c.WebhookCertDir = filepath.Join(comp.dir, "tls")
	if err := c.RotateWebhookCert(ctx); err != nil {
		return err
	}
	configPath := filepath.Join(comp.dir, "webhook-config.yaml")
	if err := os.WriteFile(configPath, []byte(comp.config.Data["webhook-config.yaml"]), 0o644); err != nil {
		return err
	}
	c.webhookArgs = []string{"--kubeconfig=" + comp.kubeconfig, "--config=" + configPath, "--cert-dir=" + c.WebhookCertDir,
		"--bind-address=127.0.0.1", "--own-namespace=" + comp.config.Namespace, "--metrics-bind-address=0", "-v=2"}
	c.webhookArgs = append(c.webhookArgs, c.opts.WebhookArgs...)
	if err := c.StartWebhook(ctx); err != nil {
		return err
	}
	return c.registerWebhook(ctx, filepath.Join(ManifestsDir(), "webhook", "mutatingwebhookconfiguration.yaml"))
}

// RotateWebhookCert makes a new serving certificate under the same CA, as
// a renewal would, in the directory the webhook serves from.
func (c *Cluster) RotateWebhookCert(ctx context.Context) error {
	script := filepath.Join(sourceDir(), "..", "..", "certs", "generate.sh")
	out, err := exec.CommandContext(ctx, "bash", script, "-o", c.WebhookCertDir, "-n", "linstor-ha-system", "-i", "127.0.0.1").CombinedOutput()
	if err != nil {
		return fmt.Errorf("failed to make the webhook's certificate: %w: %s", err, out)
	}
	return nil
}

// StartWebhook (re)starts the webhook process and waits until it is ready.
func (c *Cluster) StartWebhook(ctx context.Context) error {
	if c.webhook != nil {
		return fmt.Errorf("webhook running")
	}
	if c.webhookPort == 0 {
		port, err := freePort()
		if err != nil {
			return err
		}
		c.webhookPort = port
	}
	probes, err := freePort()
	if err != nil {
		return err
	}
	args := append([]string{"--port=" + strconv.Itoa(c.webhookPort), "--health-probe-bind-address=127.0.0.1:" + strconv.Itoa(probes)}, c.webhookArgs...)
	c.webhook, err = c.procs.start(c.Dir, "linstor-ha-webhook", c.opts.Webhook, args, nil)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return c.webhook.waitFor(ctx, "linstor-ha-webhook readiness", func() error {
		return healthy(insecureHealth, "http://127.0.0.1:"+strconv.Itoa(probes)+"/readyz")
	})
}

// StopWebhook kills the webhook, as a crash of its pods would.
func (c *Cluster) StopWebhook() {
	if c.webhook != nil {
		c.webhook.kill()
		c.webhook = nil
	}
}

// WebhookAddr is where the webhook serves TLS.
func (c *Cluster) WebhookAddr() string { return "127.0.0.1:" + strconv.Itoa(c.webhookPort) }

func (c *Cluster) registerWebhook(ctx context.Context, file string) error {
	raw, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var mwc admissionregistrationv1.MutatingWebhookConfiguration
	if err := yaml.UnmarshalStrict(raw, &mwc); err != nil {
		return fmt.Errorf("failed to read %s: %w", file, err)
	}
	ca, err := os.ReadFile(filepath.Join(c.WebhookCertDir, "ca.crt"))
	if err != nil {
		return err
	}
	for i := range mwc.Webhooks {
		svc := mwc.Webhooks[i].ClientConfig.Service
		if svc == nil || svc.Path == nil {
			return fmt.Errorf("%s: webhook %s names no service path", file, mwc.Webhooks[i].Name)
		}
		// What cert-manager's CA injection and the Service do in a cluster.
		url := "https://" + c.WebhookAddr() + *svc.Path
		mwc.Webhooks[i].ClientConfig = admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: ca}
	}
	if _, err := c.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, &mwc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to register the webhook: %w", err)
	}
	return nil
}
