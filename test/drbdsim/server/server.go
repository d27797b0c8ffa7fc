package server

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/linstor-ha/linstor-ha/test/drbdsim"
	"github.com/linstor-ha/linstor-ha/test/drbdsim/drbdsetup"
)

// maxBody bounds request bodies; real ones are tiny.
const maxBody = 1 << 20

// Server is the HTTP face of a simulated cluster.
type Server struct {
	cluster *drbdsim.Cluster
	mux     *http.ServeMux
}

var _ http.Handler = &Server{}

// New returns a server for a cluster. The caller keeps owning the cluster.
func New(c *drbdsim.Cluster) *Server {
	s := &Server{cluster: c, mux: http.NewServeMux()}
	s.mux.HandleFunc("POST /v1/exec", s.exec)
	s.mux.HandleFunc("POST /v1/nodes", s.addNode)
	s.mux.HandleFunc("POST /v1/nodes/{node}/crash", s.nodeAction(c.Crash))
	s.mux.HandleFunc("POST /v1/nodes/{node}/restart", s.nodeAction(c.Restart))
	s.mux.HandleFunc("POST /v1/resources", s.addResource)
	s.mux.HandleFunc("DELETE /v1/resources/{resource}", s.removeResource)
	s.mux.HandleFunc("POST /v1/resources/{resource}/replicas/{node}/{action}", s.replicaAction)
	s.mux.HandleFunc("POST /v1/partition", s.partition)
	s.mux.HandleFunc("POST /v1/heal", s.heal)
	s.mux.HandleFunc("GET /v1/state", s.state)
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

func (s *Server) exec(w http.ResponseWriter, r *http.Request) {
	var req ExecRequest
	if err := decode(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	w.Header().Set("Trailer", TrailerExitCode+", "+TrailerStderr)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	var stderr bytes.Buffer
	code := drbdsetup.Run(r.Context(), s.cluster, req.Node, req.Args, &flushWriter{w: w, rc: http.NewResponseController(w)}, &stderr)
	w.Header().Set(TrailerExitCode, strconv.Itoa(code))
	w.Header().Set(TrailerStderr, base64.StdEncoding.EncodeToString(stderr.Bytes()))
}

// flushWriter sends every write to the client at once, so that a streamed
// events2 line arrives when it happens.
type flushWriter struct {
	w  io.Writer
	rc *http.ResponseController
}

func (f *flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err != nil {
		return n, err
	}
	return n, f.rc.Flush()
}

func (s *Server) addNode(w http.ResponseWriter, r *http.Request) {
	var req NodeRequest
	if err := decode(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	respond(w, s.cluster.AddNode(req.Name))
}

func (s *Server) nodeAction(action func(string) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		respond(w, action(r.PathValue("node")))
	}
}

func (s *Server) addResource(w http.ResponseWriter, r *http.Request) {
	var spec drbdsim.ResourceSpec
	if err := decode(r, &spec); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	respond(w, s.cluster.AddResource(spec))
}

func (s *Server) removeResource(w http.ResponseWriter, r *http.Request) {
	respond(w, s.cluster.RemoveResource(r.PathValue("resource")))
}

func (s *Server) replicaAction(w http.ResponseWriter, r *http.Request) {
	actions := map[string]func(node, res string) error{
		"open":  s.cluster.OpenDevice,
		"close": s.cluster.CloseDevice,
		"down":  s.cluster.DownReplica,
		"up":    s.cluster.UpReplica,
	}
	action, ok := actions[r.PathValue("action")]
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Errorf("unknown replica action %q: want open, close, down or up", r.PathValue("action")))
		return
	}
	respond(w, action(r.PathValue("node"), r.PathValue("resource")))
}

func (s *Server) partition(w http.ResponseWriter, r *http.Request) {
	var req PartitionRequest
	if err := decode(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	respond(w, s.cluster.Partition(req.A, req.B))
}

func (s *Server) heal(w http.ResponseWriter, r *http.Request) {
	var req PartitionRequest
	if err := decode(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if len(req.A) == 0 && len(req.B) == 0 {
		respond(w, s.cluster.Heal())
		return
	}
	respond(w, s.cluster.HealPartition(req.A, req.B))
}

func (s *Server) state(w http.ResponseWriter, _ *http.Request) {
	st, err := s.cluster.State()
	if err != nil {
		respond(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(st)
}

// decode reads a JSON body; an empty body leaves v as it is.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("failed to decode the request body: %w", err)
	}
	return nil
}

// respond answers 204 on success and the matching error otherwise.
func respond(w http.ResponseWriter, err error) {
	if err == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeError(w, statusOf(err), err)
}

func statusOf(err error) int {
	switch {
	case errors.Is(err, drbdsim.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, drbdsim.ErrUnknownNode), errors.Is(err, drbdsim.ErrUnknownResource):
		return http.StatusNotFound
	case errors.Is(err, drbdsim.ErrClosed):
		return http.StatusServiceUnavailable
	}
	// Every other error is a change the cluster's state refuses: a crashed
	// node, a state change DRBD refuses (StateChangeError, OpenError),
	// something that exists already.
	return http.StatusConflict
}

func writeError(w http.ResponseWriter, code int, err error) {
	resp := ErrorResponse{Error: err.Error()}
	if errors.Is(err, drbdsim.ErrCloseBlocked) {
		resp.Code = CodeCloseBlocked
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(resp)
}
