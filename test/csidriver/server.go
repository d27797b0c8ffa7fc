package csidriver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/linstor-ha/linstor-ha/pkg/metadata"
)

// Backend holds the volumes. Publish makes a volume usable on a node: a node
// without a replica gets a diskless one, as LINSTOR does.
type Backend interface {
	// VolumeExists reports whether the volume (DRBD resource) exists.
	VolumeExists(volumeID string) bool
	Publish(volumeID, nodeID string) error
	Unpublish(volumeID, nodeID string) error
}

// Errors a Backend returns, wrapped, so that the server can answer with the
// gRPC code the CSI spec asks for.
var (
	// ErrNotFound: the volume or node does not exist.
	ErrNotFound = errors.New("not found")
	// ErrUnavailable: the node cannot be reached now; the caller retries.
	ErrUnavailable = errors.New("unavailable")
)

// Options configure a Server.
type Options struct {
	// Name is the driver name; default linstor.csi.linbit.com.
	Name    string
	Version string
	// Backend serves the Controller service; nil leaves it out.
	Backend Backend
	// NodeID and Zone serve the Node service; empty NodeID leaves it out.
	NodeID string
	Zone   string
}

// Server is one CSI endpoint on a unix socket.
type Server struct {
	csi.UnimplementedIdentityServer
	csi.UnimplementedControllerServer
	csi.UnimplementedNodeServer

	opts     Options
	grpc     *grpc.Server
	listener net.Listener
	wg       sync.WaitGroup
}

// Start serves the CSI services of opts on the unix socket at path.
func Start(path string, opts Options) (*Server, error) {
	if opts.Name == "" {
		opts.Name = metadata.DriverName
	}
	if opts.Version == "" {
		opts.Version = "test"
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("failed to remove stale socket %s: %w", path, err)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("failed to listen on %s: %w", path, err)
	}
	s := &Server{opts: opts, grpc: grpc.NewServer(), listener: l}
	csi.RegisterIdentityServer(s.grpc, s)
	if opts.Backend != nil {
		csi.RegisterControllerServer(s.grpc, s)
	}
	if opts.NodeID != "" {
		csi.RegisterNodeServer(s.grpc, s)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = s.grpc.Serve(l)
	}()
	return s, nil
}

// Stop ends the server at once, as a crashed driver would, and removes its
// socket.
func (s *Server) Stop() {
	s.grpc.Stop()
	s.wg.Wait()
	_ = os.Remove(s.listener.Addr().String())
}

// GetPluginInfo names the driver.
func (s *Server) GetPluginInfo(context.Context, *csi.GetPluginInfoRequest) (*csi.GetPluginInfoResponse, error) {
	return &csi.GetPluginInfoResponse{Name: s.opts.Name, VendorVersion: s.opts.Version}, nil
}

// GetPluginCapabilities says whether this endpoint has a Controller service
// and that volumes have topology.
func (s *Server) GetPluginCapabilities(context.Context, *csi.GetPluginCapabilitiesRequest) (*csi.GetPluginCapabilitiesResponse, error) {
	caps := []*csi.PluginCapability{pluginCap(csi.PluginCapability_Service_VOLUME_ACCESSIBILITY_CONSTRAINTS)}
	if s.opts.Backend != nil {
		caps = append(caps, pluginCap(csi.PluginCapability_Service_CONTROLLER_SERVICE))
	}
	return &csi.GetPluginCapabilitiesResponse{Capabilities: caps}, nil
}

func pluginCap(t csi.PluginCapability_Service_Type) *csi.PluginCapability {
	return &csi.PluginCapability{Type: &csi.PluginCapability_Service_{Service: &csi.PluginCapability_Service{Type: t}}}
}

// Probe reports the driver ready.
func (s *Server) Probe(context.Context, *csi.ProbeRequest) (*csi.ProbeResponse, error) {
	return &csi.ProbeResponse{}, nil
}

// ControllerGetCapabilities offers publish/unpublish, which is what makes
// the external-attacher attach.
func (s *Server) ControllerGetCapabilities(context.Context, *csi.ControllerGetCapabilitiesRequest) (*csi.ControllerGetCapabilitiesResponse, error) {
	return &csi.ControllerGetCapabilitiesResponse{Capabilities: []*csi.ControllerServiceCapability{{
		Type: &csi.ControllerServiceCapability_Rpc{Rpc: &csi.ControllerServiceCapability_RPC{
			Type: csi.ControllerServiceCapability_RPC_PUBLISH_UNPUBLISH_VOLUME,
		}},
	}}}, nil
}

// ControllerPublishVolume makes the volume available on the node.
func (s *Server) ControllerPublishVolume(_ context.Context, req *csi.ControllerPublishVolumeRequest) (*csi.ControllerPublishVolumeResponse, error) {
	if req.GetVolumeId() == "" || req.GetNodeId() == "" {
		return nil, status.Error(codes.InvalidArgument, "volume_id and node_id are required")
	}
	if req.GetVolumeCapability() == nil {
		return nil, status.Error(codes.InvalidArgument, "volume_capability is required")
	}
	if !s.opts.Backend.VolumeExists(req.GetVolumeId()) {
		return nil, status.Errorf(codes.NotFound, "volume %s does not exist", req.GetVolumeId())
	}
	if err := s.opts.Backend.Publish(req.GetVolumeId(), req.GetNodeId()); err != nil {
		return nil, backendError("publish", req.GetVolumeId(), req.GetNodeId(), err)
	}
	return &csi.ControllerPublishVolumeResponse{PublishContext: map[string]string{"resource": req.GetVolumeId()}}, nil
}

// ControllerUnpublishVolume undoes ControllerPublishVolume. Unpublishing a
// volume that is gone, or from a node that is gone, succeeds: there is
// nothing left to undo.
func (s *Server) ControllerUnpublishVolume(_ context.Context, req *csi.ControllerUnpublishVolumeRequest) (*csi.ControllerUnpublishVolumeResponse, error) {
	if req.GetVolumeId() == "" {
		return nil, status.Error(codes.InvalidArgument, "volume_id is required")
	}
	err := s.opts.Backend.Unpublish(req.GetVolumeId(), req.GetNodeId())
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, backendError("unpublish", req.GetVolumeId(), req.GetNodeId(), err)
	}
	return &csi.ControllerUnpublishVolumeResponse{}, nil
}

func backendError(op, volume, node string, err error) error {
	code := codes.Internal
	switch {
	case errors.Is(err, ErrNotFound):
		code = codes.NotFound
	case errors.Is(err, ErrUnavailable):
		code = codes.Unavailable
	}
	return status.Errorf(code, "failed to %s volume %s on node %s: %v", op, volume, node, err)
}

// NodeGetInfo returns the node id and its zone.
func (s *Server) NodeGetInfo(context.Context, *csi.NodeGetInfoRequest) (*csi.NodeGetInfoResponse, error) {
	resp := &csi.NodeGetInfoResponse{NodeId: s.opts.NodeID}
	if s.opts.Zone != "" {
		resp.AccessibleTopology = &csi.Topology{Segments: map[string]string{metadata.LabelTopologyZone: s.opts.Zone}}
	}
	return resp, nil
}

// NodeGetCapabilities offers nothing beyond NodeGetInfo.
func (s *Server) NodeGetCapabilities(context.Context, *csi.NodeGetCapabilitiesRequest) (*csi.NodeGetCapabilitiesResponse, error) {
	return &csi.NodeGetCapabilitiesResponse{}, nil
}
