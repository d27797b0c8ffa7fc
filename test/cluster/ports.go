package cluster

import (
	"fmt"
	"net"
)

// freePort returns a loopback TCP port that is free now. The kernel does not
// hand it out again right away, which is enough for a child to bind it.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("failed to find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
