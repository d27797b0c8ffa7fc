// Package restconfig loads the Kubernetes client configuration every
// linstor-ha binary starts from: a kubeconfig file when one is given, the
// pod's in-cluster account otherwise.
package restconfig

import (
	"fmt"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// ServiceAccountDir is where rest.InClusterConfig reads the service
// account's token, the cluster's CA (ca.crt) and the namespace; the
// kubelet mounts them there, or a container's own projected volume does
// in a pod that mounts no token for all its containers.
const ServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// Load returns the configuration with the given rate limits and user agent.
func Load(kubeconfig string, qps float64, burst int, userAgent string) (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	if kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("failed to load the Kubernetes client configuration from %s: %w", kubeconfig, err)
		}
	} else {
		// The in-cluster configuration needs KUBERNETES_SERVICE_HOST and
		// _PORT, which the kubelet always sets, and a token, which a pod
		// with automountServiceAccountToken: false (Piraeus' CSI node pods)
		// gives only to containers that mount one themselves.
		cfg, err = rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("failed to load the in-cluster Kubernetes client configuration (it needs $KUBERNETES_SERVICE_HOST, $KUBERNETES_SERVICE_PORT and a service account token mounted at %s; or give a kubeconfig): %w", ServiceAccountDir, err)
		}
	}
	cfg.QPS, cfg.Burst = float32(qps), burst
	cfg.UserAgent = userAgent
	return cfg, nil
}
