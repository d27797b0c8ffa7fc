package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
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

// installSidecarRBAC applies the sidecar's ClusterRole and binding from
// manifests/sidecar, with the service account they bind, and the policy
// that keeps each sidecar to its own report, so that sidecars run with
// exactly the rights a real cluster gives them.
func (c *Cluster) installSidecarRBAC(ctx context.Context) (namespace, account string, err error) {
	dir := filepath.Join(sourceDir(), "..", "..", "manifests", "sidecar")
	var role rbacv1.ClusterRole
	var binding rbacv1.ClusterRoleBinding
	for file, obj := range map[string]any{"clusterrole.yaml": &role, "clusterrolebinding.yaml": &binding} {
		raw, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			return "", "", err
		}
		if err := yaml.UnmarshalStrict(raw, obj); err != nil {
			return "", "", fmt.Errorf("failed to read %s: %w", file, err)
		}
	}
	if len(binding.Subjects) != 1 || binding.Subjects[0].Kind != rbacv1.ServiceAccountKind {
		return "", "", fmt.Errorf("the sidecar's binding must name one service account")
	}
	namespace, account = binding.Subjects[0].Namespace, binding.Subjects[0].Name
	if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", "", err
	}
	if _, err := c.Client.CoreV1().ServiceAccounts(namespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: account}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", "", err
	}
	if _, err := c.Client.RbacV1().ClusterRoles().Create(ctx, &role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", "", err
	}
	if _, err := c.Client.RbacV1().ClusterRoleBindings().Create(ctx, &binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", "", err
	}
	for _, f := range []string{"lease-role.yaml", "report-policy.yaml"} {
		if err := c.Apply(ctx, filepath.Join(dir, f)); err != nil {
			return "", "", err
		}
	}
	return namespace, account, nil
}

// sidecarKubeconfig writes a kubeconfig for a node's sidecar: the service
// account's token, bound to the node as the kubelet would bind it, through
// the node's API proxy.
func (c *Cluster) sidecarKubeconfig(ctx context.Context, n *Node, namespace, account string) (string, error) {
	nodeObj, err := c.Client.CoreV1().Nodes().Get(ctx, n.Spec.Name, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	bound := &authenticationv1.BoundObjectReference{Kind: "Node", APIVersion: "v1", Name: nodeObj.Name, UID: nodeObj.UID}
	path := c.SidecarKubeconfig(n.Spec.Name)
	return path, c.tokenKubeconfig(ctx, namespace, account, "https://"+n.proxy.addr(), bound, path)
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

// SidecarKubeconfig is the kubeconfig a node's sidecar runs with: its
// account's token, bound to the node.
func (c *Cluster) SidecarKubeconfig(node string) string {
	return filepath.Join(c.Dir, "nodes", node, "sidecar.kubeconfig")
}
