package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/linstor-ha/linstor-ha/test/cluster"
)

// TestWebhookMetricsNeedAuthorization: the webhook serves its metrics over
// HTTPS, and only to a caller the API server authenticates and allows to
// get /metrics: the account bound to the manifests' metrics-reader role.
// Anonymous callers and other accounts are turned away.
func TestWebhookMetricsNeedAuthorization(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := startCluster(t, cluster.Options{Webhook: webhookBinary(t), WebhookArgs: []string{"--metrics-bind-address=" + addr}})
	ctx := context.Background()
	namespace(t, c, "monitoring")
	reader := accountToken(t, c, "monitoring", "prometheus")
	other := accountToken(t, c, "monitoring", "someone")
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "prometheus-linstor-ha-metrics"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "linstor-ha-metrics-reader"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: "monitoring", Name: "prometheus"}},
	}
	if _, err := c.Client.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// The endpoint's certificate is self-signed, as a scraper is told to
	// accept.
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	get := func(token string) (int, string, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+"/metrics", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), err
	}
	for _, tc := range []struct {
		name, token string
		want        int
	}{
		{"anonymous", "", http.StatusUnauthorized},
		{"account without the role", other, http.StatusForbidden},
		{"account bound to linstor-ha-metrics-reader", reader, http.StatusOK},
	} {
		var code int
		var body string
		// RBAC takes a moment to reach the authorizer's cache.
		waitFor(t, 30*time.Second, fmt.Sprintf("GET /metrics as %s to answer %d", tc.name, tc.want), func(context.Context) (bool, error) {
			var err error
			code, body, err = get(tc.token)
			return err == nil && code == tc.want, nil
		})
		if tc.want == http.StatusOK && !strings.Contains(body, "linstor_ha_build_info{") {
			t.Errorf("the authorized answer lacks linstor_ha_build_info:\n%.2000s", body)
		}
	}
	// Plain HTTP gets nothing from the port.
	if resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + addr + "/metrics"); err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && strings.Contains(string(body), "linstor_ha") {
			t.Errorf("the metrics are served over plain HTTP too")
		}
	}
}

// accountToken creates a service account and returns a token of it.
func accountToken(t *testing.T, c *cluster.Cluster, ns, name string) string {
	t.Helper()
	ctx := context.Background()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	if _, err := c.Client.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tr, err := c.Client.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tr.Status.Token
}
