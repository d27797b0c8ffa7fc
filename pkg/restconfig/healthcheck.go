package restconfig

import (
	"fmt"
	"net"
	"net/http"
	"time"

	"k8s.io/client-go/rest"
)

// HealthCheck is how soon a client gives up on a connection that a
// partition left open. A cut network sends no FIN and no RST: without a
// check, every request and watch on the connection hangs until the
// kernel's retransmissions give up, many minutes later. client-go's
// transport pings an HTTP/2 connection that was silent for 30 s and drops
// it 15 s later, process-wide (HTTP2_READ_IDLE_TIMEOUT_SECONDS,
// HTTP2_PING_TIMEOUT_SECONDS); a fail-over cannot wait 45 s.
type HealthCheck struct {
	// ReadIdle is how long the connection may stay silent before the
	// client sends a PING; zero disables the check.
	ReadIdle time.Duration
	// PingTimeout is how long the PING may stay unanswered before the
	// connection is closed, failing everything in flight on it, and the
	// next request dials again.
	PingTimeout time.Duration
}

// DefaultHealthCheck notices a dead connection within 7 s. Its cost is one
// PING frame every 5 s on a connection that carries nothing else.
var DefaultHealthCheck = HealthCheck{ReadIdle: 5 * time.Second, PingTimeout: 2 * time.Second}

// Validate reports a setting that cannot work.
func (h HealthCheck) Validate() error {
	if h.ReadIdle < 0 || h.PingTimeout < 0 {
		return fmt.Errorf("connection health check intervals must not be negative (read idle %s, ping timeout %s)", h.ReadIdle, h.PingTimeout)
	}
	if h.ReadIdle > 0 && h.PingTimeout == 0 {
		return fmt.Errorf("a connection health check every %s needs a ping timeout above zero", h.ReadIdle)
	}
	return nil
}

// WithHealthCheck returns a copy of cfg whose requests go over a transport
// of their own that checks its HTTP/2 connections as hc says. The copy
// keeps cfg's TLS settings, proxy, dialer and credentials. Each call makes
// a new transport, and so new connections: a client that must not share
// the fate of another's connection gets its own.
func WithHealthCheck(cfg *rest.Config, hc HealthCheck) (*rest.Config, error) {
	if err := hc.Validate(); err != nil {
		return nil, err
	}
	out := rest.CopyConfig(cfg)
	if hc.ReadIdle == 0 || cfg.Transport != nil {
		// A caller's own transport is the caller's to check.
		return out, nil
	}
	tlsConfig, err := rest.TLSConfigFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("failed to build the TLS configuration of the Kubernetes client: %w", err)
	}
	dial := cfg.Dial
	if dial == nil {
		dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	proxy := cfg.Proxy
	if proxy == nil {
		proxy = http.ProxyFromEnvironment
	}
	// The settings of client-go's own transport, but for the health check.
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetHTTP2(true)
	t := &http.Transport{
		Proxy:               proxy,
		DialContext:         dial,
		TLSClientConfig:     tlsConfig,
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 25,
		IdleConnTimeout:     90 * time.Second,
		Protocols:           &protocols,
		HTTP2:               &http.HTTP2Config{SendPingTimeout: hc.ReadIdle, PingTimeout: hc.PingTimeout},
	}
	out.Transport = t
	// The transport carries the TLS settings now; client-go refuses both.
	out.TLSClientConfig = rest.TLSClientConfig{}
	out.Dial, out.Proxy = nil, nil
	return out, nil
}
