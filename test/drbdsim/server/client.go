package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"

	"github.com/linstor-ha/linstor-ha/test/drbdsim"
)

// Client talks to a Server on a unix socket.
type Client struct {
	socket    string
	transport *http.Transport
	http      *http.Client
}

// NewClient returns a client for the server on socket. Close it when done.
func NewClient(socket string) *Client {
	transport := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		DisableCompression: true,
	}
	return &Client{socket: socket, transport: transport, http: &http.Client{Transport: transport}}
}

// Close releases the client's idle connections.
func (c *Client) Close() { c.transport.CloseIdleConnections() }

// APIError is an error answer of the server.
type APIError struct {
	StatusCode int
	Message    string
	// Code is the answer's error code, if any (CodeCloseBlocked).
	Code string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("simulator answered %d: %s", e.StatusCode, e.Message)
}

// Is lets errors.Is(err, drbdsim.ErrCloseBlocked) recognize a close that
// the server reported as blocked.
func (e *APIError) Is(target error) bool {
	return target == drbdsim.ErrCloseBlocked && e.Code == CodeCloseBlocked
}

// Exec runs a drbdsetup command line on a node: it copies the command's
// standard output to stdout as it streams, its standard error to stderr,
// and returns its exit code. An error means the command's outcome is
// unknown: the server was unreachable, refused the request, or the stream
// broke.
func (c *Client) Exec(ctx context.Context, node string, args []string, stdout, stderr io.Writer) (int, error) {
	resp, err := c.do(ctx, http.MethodPost, "/v1/exec", ExecRequest{Node: node, Args: args})
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, readError(resp)
	}
	if _, err := io.Copy(stdout, resp.Body); err != nil {
		return 0, fmt.Errorf("failed to read the command's output from the simulator: %w", err)
	}
	code := resp.Trailer.Get(TrailerExitCode)
	if code == "" {
		return 0, fmt.Errorf("the simulator's output stream ended without an exit code")
	}
	exit, err := strconv.Atoi(code)
	if err != nil {
		return 0, fmt.Errorf("the simulator sent an invalid exit code %q: %w", code, err)
	}
	msg, err := base64.StdEncoding.DecodeString(resp.Trailer.Get(TrailerStderr))
	if err != nil {
		return 0, fmt.Errorf("the simulator sent an invalid standard error: %w", err)
	}
	if _, err := stderr.Write(msg); err != nil {
		return exit, fmt.Errorf("failed to write the command's standard error: %w", err)
	}
	return exit, nil
}

// AddNode adds a running node.
func (c *Client) AddNode(ctx context.Context, name string) error {
	return c.call(ctx, http.MethodPost, "/v1/nodes", NodeRequest{Name: name}, nil)
}

// Crash crashes a node.
func (c *Client) Crash(ctx context.Context, node string) error {
	return c.call(ctx, http.MethodPost, "/v1/nodes/"+url.PathEscape(node)+"/crash", nil, nil)
}

// Restart restarts a crashed node.
func (c *Client) Restart(ctx context.Context, node string) error {
	return c.call(ctx, http.MethodPost, "/v1/nodes/"+url.PathEscape(node)+"/restart", nil, nil)
}

// AddResource creates a resource.
func (c *Client) AddResource(ctx context.Context, spec drbdsim.ResourceSpec) error {
	return c.call(ctx, http.MethodPost, "/v1/resources", spec, nil)
}

// RemoveResource deletes a resource.
func (c *Client) RemoveResource(ctx context.Context, name string) error {
	return c.call(ctx, http.MethodDelete, "/v1/resources/"+url.PathEscape(name), nil, nil)
}

// ReplicaAction runs "open", "close", "down" or "up" on a node's replica of
// a resource (see drbdsim.Cluster's OpenDevice, CloseDevice, DownReplica,
// UpReplica). A close (or an open) refused because a close waits for frozen
// I/O is an *APIError that matches drbdsim.ErrCloseBlocked (errors.Is); the
// close stays pending and completes by itself.
func (c *Client) ReplicaAction(ctx context.Context, action, node, res string) error {
	path := "/v1/resources/" + url.PathEscape(res) + "/replicas/" + url.PathEscape(node) + "/" + url.PathEscape(action)
	return c.call(ctx, http.MethodPost, path, nil, nil)
}

// Partition cuts the replication network between two sets of nodes.
func (c *Client) Partition(ctx context.Context, a, b []string) error {
	return c.call(ctx, http.MethodPost, "/v1/partition", PartitionRequest{A: a, B: b}, nil)
}

// Heal restores the links between two sets of nodes, or every link when
// both are empty.
func (c *Client) Heal(ctx context.Context, a, b []string) error {
	return c.call(ctx, http.MethodPost, "/v1/heal", PartitionRequest{A: a, B: b}, nil)
}

// State returns a snapshot of the cluster.
func (c *Client) State(ctx context.Context) (drbdsim.ClusterState, error) {
	var st drbdsim.ClusterState
	err := c.call(ctx, http.MethodGet, "/v1/state", nil, &st)
	return st, err
}

func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	resp, err := c.do(ctx, method, path, in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return readError(resp)
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("failed to decode the simulator's answer to %s %s: %w", method, path, err)
	}
	return nil
}

func (c *Client) do(ctx context.Context, method, path string, in any) (*http.Response, error) {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("failed to encode the request: %w", err)
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://drbdsim"+path, body)
	if err != nil {
		return nil, fmt.Errorf("failed to build the request: %w", err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("failed to reach the simulator on %s: %w", c.socket, err)
	}
	return resp, nil
}

func readError(resp *http.Response) error {
	var e ErrorResponse
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err := json.Unmarshal(data, &e); err != nil || e.Error == "" {
		e.Error = string(bytes.TrimSpace(data))
	}
	return &APIError{StatusCode: resp.StatusCode, Message: e.Error, Code: e.Code}
}
