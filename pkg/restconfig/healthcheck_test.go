package restconfig

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

// freezer forwards TCP connections until frozen; then it stops carrying
// bytes either way and closes nothing, as a cut network does.
type freezer struct {
	l      net.Listener
	mu     sync.Mutex
	frozen bool
	thaw   chan struct{}
}

func newFreezer(t *testing.T, target string) *freezer {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{l: l, thaw: make(chan struct{})}
	t.Cleanup(func() { l.Close(); f.setFrozen(false) })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			go f.pipe(c, up)
			go f.pipe(up, c)
		}
	}()
	return f
}

func (f *freezer) pipe(dst, src net.Conn) {
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		f.mu.Lock()
		for f.frozen {
			thaw := f.thaw
			f.mu.Unlock()
			<-thaw
			f.mu.Lock()
		}
		f.mu.Unlock()
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (f *freezer) setFrozen(frozen bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.frozen && !frozen {
		close(f.thaw)
		f.thaw = make(chan struct{})
	}
	f.frozen = frozen
}

// A request on a connection that a cut froze must fail once the health
// check gives up on it, not hang until the caller's deadline; without the
// check it hangs.
func TestWithHealthCheckDropsFrozenConnection(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	proxy := newFreezer(t, srv.Listener.Addr().String())
	base := &rest.Config{
		Host:            "https://" + proxy.l.Addr().String(),
		TLSClientConfig: rest.TLSClientConfig{Insecure: true},
	}

	get := func(t *testing.T, cfg *rest.Config, ctx context.Context) error {
		client, err := rest.HTTPClientFor(cfg)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, cfg.Host+"/", nil)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.ProtoMajor != 2 {
			t.Fatalf("the test server answered over %s, want HTTP/2", resp.Proto)
		}
		_, err = io.ReadAll(resp.Body)
		return err
	}

	for _, tc := range []struct {
		name     string
		check    HealthCheck
		wantHang bool
	}{
		{name: "checked", check: HealthCheck{ReadIdle: 200 * time.Millisecond, PingTimeout: 200 * time.Millisecond}},
		{name: "unchecked", check: HealthCheck{}, wantHang: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Unchecked: client-go's own transport, with its 30 s + 15 s
			// check.
			cfg := rest.CopyConfig(base)
			if tc.check.ReadIdle > 0 {
				var err error
				if cfg, err = WithHealthCheck(base, tc.check); err != nil {
					t.Fatal(err)
				}
			}
			if err := get(t, cfg, context.Background()); err != nil {
				t.Fatalf("first request: %v", err)
			}
			proxy.setFrozen(true)
			defer proxy.setFrozen(false)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := get(t, cfg, ctx)
			hung := errors.Is(err, context.DeadlineExceeded)
			if hung != tc.wantHang {
				t.Errorf("request on a frozen connection = %v; hung until the deadline = %v, want %v", err, hung, tc.wantHang)
			}
		})
	}
}

func TestWithHealthCheckKeepsCredentialsAndRefusesBadSettings(t *testing.T) {
	base := &rest.Config{Host: "https://127.0.0.1:1", BearerToken: "t", TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
	cfg, err := WithHealthCheck(base, DefaultHealthCheck)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Transport == nil || cfg.BearerToken != "t" || cfg.TLSClientConfig.Insecure || base.Transport != nil {
		t.Errorf("WithHealthCheck = transport %v token %q insecure %v; base transport %v: want a new transport, the token kept, TLS moved into the transport, base untouched",
			cfg.Transport, cfg.BearerToken, cfg.TLSClientConfig.Insecure, base.Transport)
	}
	if _, err := rest.HTTPClientFor(cfg); err != nil {
		t.Errorf("client-go refuses the configuration: %v", err)
	}
	for _, bad := range []HealthCheck{{ReadIdle: -time.Second, PingTimeout: time.Second}, {ReadIdle: time.Second}} {
		if _, err := WithHealthCheck(base, bad); err == nil {
			t.Errorf("WithHealthCheck(%+v) = nil error, want one", bad)
		}
	}
}
