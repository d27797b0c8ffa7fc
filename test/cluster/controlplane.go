package cluster

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// controlPlane is etcd, the kube-apiservers and kube-controller-manager.
// By default one etcd and one kube-apiserver serve the whole cluster. With
// Options.APIServerPerRoom each room has its own kube-apiserver on its own
// etcd member, and a third member outside both rooms (a witness) keeps
// etcd's quorum when either room is lost, as two-room clusters are built.
// The controllers, the schedulers, the webhook and the harness's own
// client use the primary API server: the last room's.
type controlPlane struct {
	dir   string
	tools string
	pki   *pki
	opts  *Options
	procs *processTable

	members []*etcdMember
	servers []*apiServer
	// apiPort and api are the primary API server's.
	apiPort   int
	api       *process
	kcm       *process
	scheduler *process
}

// etcdMember is one etcd process; room is empty for the witness and for
// the single member of a one-server control plane.
type etcdMember struct {
	name, room         string
	clientURL, peerURL string
	proc               *process
	frozen             bool
}

// apiServer is one kube-apiserver; name is how nodes' load balancers and
// the network know it.
type apiServer struct {
	name, room string
	port       int
	etcdURL    string
	proc       *process
	frozen     bool
}

func (s *apiServer) addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// singleAPIServer names the API server of a one-server control plane.
const singleAPIServer = "kube-apiserver"

func (cp *controlPlane) apiURL() string { return "https://127.0.0.1:" + strconv.Itoa(cp.apiPort) }

// adminKubeconfig is the path of the cluster-admin kubeconfig.
func (cp *controlPlane) adminKubeconfig() string { return filepath.Join(cp.dir, "admin.kubeconfig") }

// rooms are the zones of the cluster's nodes, sorted.
func (cp *controlPlane) rooms() []string {
	var rooms []string
	for _, n := range cp.opts.Nodes {
		if n.Zone != "" && !slices.Contains(rooms, n.Zone) {
			rooms = append(rooms, n.Zone)
		}
	}
	slices.Sort(rooms)
	return rooms
}

func (cp *controlPlane) setup() error {
	var err error
	if cp.pki, err = newPKI(cp.dir); err != nil {
		return err
	}
	if err := cp.plan(); err != nil {
		return err
	}
	if err := cp.pki.issue("apiserver", "kube-apiserver", nil, true, "127.0.0.1", "localhost", "kubernetes.default.svc"); err != nil {
		return err
	}
	if err := cp.pki.serviceAccountKey(); err != nil {
		return err
	}
	users := map[string][]string{
		"admin":                   {"system:masters"},
		"kube-controller-manager": nil,
		"kube-scheduler":          nil,
	}
	for user, groups := range users {
		cn := user
		if user != "admin" {
			cn = "system:" + user
		}
		if err := cp.pki.issue(user, cn, groups, false); err != nil {
			return err
		}
		if err := cp.pki.writeKubeconfig(filepath.Join(cp.dir, user+".kubeconfig"), cp.apiURL(), user); err != nil {
			return err
		}
	}
	return nil
}

// plan picks the ports of the etcd members and API servers.
func (cp *controlPlane) plan() error {
	rooms := []string{""}
	if cp.opts.APIServerPerRoom {
		if rooms = cp.rooms(); len(rooms) < 2 {
			return fmt.Errorf("an API server per room needs nodes in two rooms or more, the nodes are in %v", rooms)
		}
	}
	memberRooms := rooms
	if len(rooms) > 1 {
		memberRooms = append(slices.Clone(rooms), "")
	}
	for _, room := range memberRooms {
		client, err := freePort()
		if err != nil {
			return err
		}
		peer, err := freePort()
		if err != nil {
			return err
		}
		name := "etcd"
		switch {
		case room != "":
			name = "etcd-" + room
		case len(rooms) > 1:
			name = "etcd-witness"
		}
		cp.members = append(cp.members, &etcdMember{
			name: name, room: room,
			clientURL: "http://127.0.0.1:" + strconv.Itoa(client),
			peerURL:   "http://127.0.0.1:" + strconv.Itoa(peer),
		})
	}
	for i, room := range rooms {
		port, err := freePort()
		if err != nil {
			return err
		}
		name := singleAPIServer
		if room != "" {
			name = "kube-apiserver-" + room
		}
		cp.servers = append(cp.servers, &apiServer{name: name, room: room, port: port, etcdURL: cp.members[i].clientURL})
	}
	cp.apiPort = cp.primary().port
	return nil
}

// primary is the API server of the controllers: the last room's.
func (cp *controlPlane) primary() *apiServer { return cp.servers[len(cp.servers)-1] }

// serverOf returns the API server of room; the only one when there is one.
func (cp *controlPlane) serverOf(room string) (*apiServer, error) {
	if len(cp.servers) == 1 {
		return cp.servers[0], nil
	}
	for _, s := range cp.servers {
		if s.room == room {
			return s, nil
		}
	}
	return nil, fmt.Errorf("no API server in room %q", room)
}

// upstreamsFor lists the API servers as a node of room's load balancer
// tries them: its own room's first, then the others in order.
func (cp *controlPlane) upstreamsFor(room string) []apiUpstream {
	var own, others []apiUpstream
	for _, s := range cp.servers {
		u := apiUpstream{name: s.name, addr: s.addr()}
		if s.room == room {
			own = append(own, u)
		} else {
			others = append(others, u)
		}
	}
	return append(own, others...)
}

func (cp *controlPlane) startEtcd(ctx context.Context) error {
	bin, err := toolPath(cp.tools, toolEtcd)
	if err != nil {
		return err
	}
	var initial []string
	for _, m := range cp.members {
		initial = append(initial, m.name+"="+m.peerURL)
	}
	for _, m := range cp.members {
		args := []string{
			"--name=" + m.name,
			"--data-dir=" + filepath.Join(cp.dir, m.name),
			"--listen-client-urls=" + m.clientURL,
			"--advertise-client-urls=" + m.clientURL,
			"--listen-peer-urls=" + m.peerURL,
			"--initial-advertise-peer-urls=" + m.peerURL,
			"--initial-cluster=" + strings.Join(initial, ","),
			"--initial-cluster-state=new",
			"--log-level=warn",
		}
		if !cp.opts.EtcdFsync {
			// A test cluster loses nothing worth an fsync.
			args = append(args, "--unsafe-no-fsync")
		}
		if m.proc, err = cp.procs.start(cp.dir, m.name, bin, args, nil); err != nil {
			return err
		}
	}
	// A member of several answers its health check only once they elected
	// a leader, so all must run before any is waited for.
	for _, m := range cp.members {
		if err := m.proc.waitFor(ctx, m.name+" health", func() error { return healthy(http.DefaultClient, m.clientURL+"/health") }); err != nil {
			return err
		}
	}
	return nil
}

// startAPIServers starts every API server and waits until each is ready.
func (cp *controlPlane) startAPIServers(ctx context.Context) error {
	for _, s := range cp.servers {
		if err := cp.startAPIServer(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

func (cp *controlPlane) startAPIServer(ctx context.Context, s *apiServer) error {
	bin, err := toolPath(cp.tools, toolAPIServer)
	if err != nil {
		return err
	}
	p := cp.pki
	s.frozen = false
	s.proc, err = cp.procs.start(cp.dir, s.name, bin, []string{
		"--etcd-servers=" + s.etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(s.port),
		"--cert-dir=" + filepath.Join(cp.dir, s.name),
		"--tls-cert-file=" + p.path("apiserver.crt"),
		"--tls-private-key-file=" + p.path("apiserver.key"),
		"--client-ca-file=" + p.path("ca.crt"),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + p.path("sa.pub"),
		"--service-account-signing-key-file=" + p.path("sa.key"),
		"--service-cluster-ip-range=10.96.0.0/16",
		"--authorization-mode=Node,RBAC",
		// On loopback there is no address to publish the kubernetes
		// Service endpoints on.
		"--endpoint-reconciler-type=none",
		"--allow-privileged=true",
		"--default-not-ready-toleration-seconds=" + strconv.Itoa(cp.opts.DefaultTolerationSeconds),
		"--default-unreachable-toleration-seconds=" + strconv.Itoa(cp.opts.DefaultTolerationSeconds),
		"--profiling=false",
		"-v=1",
	}, nil)
	if err != nil {
		return err
	}
	if s == cp.primary() {
		cp.api = s.proc
	}
	client, err := cp.clientOf(s)
	if err != nil {
		return err
	}
	return s.proc.waitFor(ctx, s.name+" readiness", func() error {
		body, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err != nil {
			return fmt.Errorf("%v: %s", err, body)
		}
		return nil
	})
}

func (cp *controlPlane) startControllerManager(ctx context.Context) error {
	bin, err := toolPath(cp.tools, toolController)
	if err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	kubeconfig := filepath.Join(cp.dir, "kube-controller-manager.kubeconfig")
	p := cp.pki
	cp.kcm, err = cp.procs.start(cp.dir, "kube-controller-manager", bin, []string{
		"--kubeconfig=" + kubeconfig,
		"--authentication-kubeconfig=" + kubeconfig,
		"--authorization-kubeconfig=" + kubeconfig,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--controllers=*",
		"--use-service-account-credentials=true",
		"--service-account-private-key-file=" + p.path("sa.key"),
		"--root-ca-file=" + p.path("ca.crt"),
		"--cluster-signing-cert-file=" + p.path("ca.crt"),
		"--cluster-signing-key-file=" + p.path("ca.key"),
		"--leader-elect=false",
		"--node-monitor-grace-period=" + cp.opts.NodeMonitorGracePeriod.String(),
		"--node-monitor-period=" + cp.opts.NodeMonitorPeriod.String(),
		"--kube-api-qps=" + strconv.Itoa(cp.opts.ControllerManagerQPS),
		"--kube-api-burst=" + strconv.Itoa(2*cp.opts.ControllerManagerQPS),
		// Keep every file the cluster writes in its directory.
		"--flex-volume-plugin-dir=" + filepath.Join(cp.dir, "flexvolume"),
		"-v=1",
	}, nil)
	if err != nil {
		return err
	}
	return cp.kcm.waitFor(ctx, "kube-controller-manager health", func() error {
		return httpsOK("https://127.0.0.1:" + strconv.Itoa(port) + "/healthz")
	})
}

func (cp *controlPlane) client() (kubernetes.Interface, error) {
	return cp.clientOf(cp.primary())
}

// clientOf is a cluster-admin client of one API server.
func (cp *controlPlane) clientOf(s *apiServer) (kubernetes.Interface, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", cp.adminKubeconfig())
	if err != nil {
		return nil, fmt.Errorf("failed to load admin kubeconfig: %w", err)
	}
	cfg.Host = "https://" + s.addr()
	cfg.QPS, cfg.Burst = 200, 400
	return kubernetes.NewForConfig(cfg)
}

// processes returns the control plane's processes that were started.
func (cp *controlPlane) processes() []*process {
	var out []*process
	for _, m := range cp.members {
		out = append(out, m.proc)
	}
	for _, s := range cp.servers {
		out = append(out, s.proc)
	}
	out = append(out, cp.kcm, cp.scheduler)
	return slices.DeleteFunc(out, func(p *process) bool { return p == nil })
}

func (cp *controlPlane) stop() {
	procs := []*process{cp.scheduler, cp.kcm}
	for _, s := range cp.servers {
		procs = append(procs, s.proc)
	}
	for _, m := range cp.members {
		procs = append(procs, m.proc)
	}
	for _, p := range procs {
		if p != nil {
			p.stop(5 * time.Second)
		}
	}
}
