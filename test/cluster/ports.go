package cluster

import (
	"fmt"
	"net"
	"os"
	"sync"
)

// Ports handed to children come from below Linux's ephemeral range
// (32768-60999). A port taken from the ephemeral range can be handed to an
// outgoing connection before the child binds it; these cannot.
const (
	portRangeStart = 20000
	portRangeSize  = 12000
)

var (
	portMu   sync.Mutex
	nextPort = portRangeStart + os.Getpid()%portRangeSize
)

// freePort returns a loopback TCP port that is free now and that this
// process has not handed out before.
func freePort() (int, error) {
	portMu.Lock()
	defer portMu.Unlock()
	for range portRangeSize {
		port := nextPort
		nextPort = portRangeStart + (nextPort-portRangeStart+1)%portRangeSize
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		l.Close()
		return port, nil
	}
	return 0, fmt.Errorf("failed to find a free port in %d-%d", portRangeStart, portRangeStart+portRangeSize-1)
}
