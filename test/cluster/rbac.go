package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// installSidecarRBAC renders manifests/sidecar into the sidecars'
// namespace with kustomize and applies it, with the service account its
// bindings name (Piraeus creates that one), so that sidecars run with
// exactly the rights and the policy a real cluster gives them. With
// Options.SidecarDaemonSet the test installs them itself, as a user would.
func (c *Cluster) installSidecarRBAC(ctx context.Context) (namespace, account string, err error) {
	namespace, account, err = sidecarAccount()
	if err != nil {
		return "", "", err
	}
	if c.opts.SidecarNamespace != "" {
		namespace = c.opts.SidecarNamespace
	}
	if c.opts.SidecarDaemonSet != "" {
		return namespace, "", nil
	}
	dir := filepath.Join(c.Dir, "sidecar-manifests")
	if err := WriteKustomization(dir, map[string]any{
		"namespace": namespace,
		"resources": []string{filepath.Join(ManifestsDir(), "sidecar")},
	}); err != nil {
		return "", "", err
	}
	rendered, err := c.Kustomize(ctx, dir)
	if err != nil {
		return "", "", err
	}
	if err := checkSubjects(rendered, namespace, account); err != nil {
		return "", "", err
	}
	if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", "", err
	}
	if _, err := c.Client.CoreV1().ServiceAccounts(namespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: account}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", "", err
	}
	// kube-controller-manager publishes the cluster's CA (its
	// --root-ca-file) into every namespace, seconds after it starts; the
	// first CSI node pod's volume would wait for it. The same CA goes in
	// at once.
	ca, err := os.ReadFile(c.cp.pki.path("ca.crt"))
	if err != nil {
		return "", "", err
	}
	rootCA := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kube-root-ca.crt"}, Data: map[string]string{"ca.crt": string(ca)}}
	if _, err := c.Client.CoreV1().ConfigMaps(namespace).Create(ctx, rootCA, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", "", err
	}
	file := filepath.Join(dir, "rendered.yaml")
	if err := os.WriteFile(file, rendered, 0o644); err != nil {
		return "", "", err
	}
	return namespace, account, c.Apply(ctx, file)
}

// sidecarAccount is the CSI node pods' service account that
// manifests/sidecar refers to, and its default namespace.
func sidecarAccount() (namespace, name string, err error) {
	file := filepath.Join(ManifestsDir(), "sidecar", "csi-node-serviceaccount.yaml")
	raw, err := os.ReadFile(file)
	if err != nil {
		return "", "", err
	}
	var sa corev1.ServiceAccount
	if err := yaml.UnmarshalStrict(raw, &sa); err != nil {
		return "", "", fmt.Errorf("failed to read %s: %w", file, err)
	}
	return sa.Namespace, sa.Name, nil
}

// checkSubjects fails unless every RBAC binding in the rendered manifests
// names the account in namespace, so that a kustomize reference that did
// not follow the namespace shows here rather than as a sidecar without
// rights.
func checkSubjects(rendered []byte, namespace, account string) error {
	n := 0
	for _, doc := range strings.Split(string(rendered), "\n---\n") {
		var b rbacv1.RoleBinding
		if err := yaml.Unmarshal([]byte(doc), &b); err != nil || (b.Kind != "RoleBinding" && b.Kind != "ClusterRoleBinding") {
			continue
		}
		for _, s := range b.Subjects {
			if s.Kind != rbacv1.ServiceAccountKind || s.Name != account || s.Namespace != namespace {
				return fmt.Errorf("%s %s binds %s %s/%s, want the service account %s/%s", b.Kind, b.Name, s.Kind, s.Namespace, s.Name, namespace, account)
			}
			n++
		}
	}
	if n == 0 {
		return errors.New("the sidecar's manifests bind no service account")
	}
	return nil
}

// writeSidecarKubeconfig writes a kubeconfig with the token that a node's
// sidecar container sees, through the node's API proxy, for tests that act
// as that sidecar.
func (c *Cluster) writeSidecarKubeconfig(n *Node) error {
	tok, err := os.ReadFile(c.SidecarTokenFile(n.Spec.Name))
	if err != nil {
		return fmt.Errorf("the sidecar of %s has no token: %w", n.Spec.Name, err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = &clientcmdapi.Cluster{Server: "https://" + n.proxy.addr(), CertificateAuthority: c.cp.pki.path("ca.crt")}
	cfg.AuthInfos["sidecar"] = &clientcmdapi.AuthInfo{Token: string(tok)}
	cfg.Contexts["local"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "sidecar"}
	cfg.CurrentContext = "local"
	return clientcmd.WriteToFile(*cfg, c.SidecarKubeconfig(n.Spec.Name))
}

// tokenKubeconfig writes a kubeconfig that authenticates with a token of
// the service account, bound to an object when bound is set.
func (c *Cluster) tokenKubeconfig(ctx context.Context, namespace, account, server string, bound *authenticationv1.BoundObjectReference, path string) error {
	tr, err := c.Client.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, account, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{
			ExpirationSeconds: ptr.To(int64((24 * time.Hour).Seconds())),
			BoundObjectRef:    bound,
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("failed to mint a token for %s/%s: %w", namespace, account, err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = &clientcmdapi.Cluster{Server: server, CertificateAuthority: c.cp.pki.path("ca.crt")}
	cfg.AuthInfos[account] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	cfg.Contexts["local"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: account}
	cfg.CurrentContext = "local"
	return clientcmd.WriteToFile(*cfg, path)
}

// SidecarKubeconfig is a kubeconfig with the token of a node's sidecar:
// its account's, bound to its CSI node pod. The sidecar itself does not use
// it; it reads the token where its container mounts it.
func (c *Cluster) SidecarKubeconfig(node string) string {
	return filepath.Join(c.Dir, "nodes", node, "sidecar.kubeconfig")
}
