package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"time"
)

// shutdownGrace bounds how long a stopping server waits for requests.
const shutdownGrace = 5 * time.Second

// ListenAndServe serves h on a unix socket until ctx is done. A socket file
// left behind by an earlier run is replaced. When ctx is done, every
// request's context is cancelled too, which ends events2 streams, and the
// server shuts down.
func ListenAndServe(ctx context.Context, socket string, h http.Handler) error {
	if fi, err := os.Lstat(socket); err == nil {
		if fi.Mode()&fs.ModeSocket == 0 {
			return fmt.Errorf("failed to listen on %s: it exists and is not a socket", socket)
		}
		if err := os.Remove(socket); err != nil {
			return fmt.Errorf("failed to remove the stale socket %s: %w", socket, err)
		}
	}
	l, err := net.Listen("unix", socket)
	if err != nil {
		return fmt.Errorf("failed to listen on %s: %w", socket, err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	select {
	case err := <-served:
		return fmt.Errorf("failed to serve on %s: %w", socket, err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close()
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("failed to serve on %s: %w", socket, err)
	}
	return nil
}
