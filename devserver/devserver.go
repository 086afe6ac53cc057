// Package devserver runs a Temporal server and its Web UI inside the stegvis process,
// persisted to a SQLite file, for `stegvis dev` on a laptop. Only the dev subcommand
// imports it, so the api and worker binaries' code paths never touch the server.
package devserver

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uiserveroptions "github.com/temporalio/ui-server/v2/server/server_options"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
)

const (
	clusterName = "active"
	storeName   = "default"
	visStore    = "visibility"
	// DBFile is the name of the SQLite file under the data directory.
	DBFile = "temporal.db"
	// VisibilityFile holds the visibility records of a data directory created since
	// issue 7: SQLite takes one connection per file, so a file of their own lets
	// visibility writes run beside history writes. Older data directories keep both
	// in DBFile.
	VisibilityFile = "visibility.db"
)

// NamespaceCacheRefresh is how often the embedded server's services reload namespaces,
// and with them the search attributes stegvis registers at start.
const NamespaceCacheRefresh = time.Second

// Options configure the embedded server.
type Options struct {
	DataDir   string // the SQLite file lives here; created if missing
	IP        string // bind address of the frontend and the UI
	Port      int    // frontend gRPC port
	UIPort    int    // Web UI port; 0 disables the UI
	Namespace string
	Log       zerolog.Logger
	// CodecEndpoint is the codec server the UI asks to decrypt payloads (stegvis's /codec).
	CodecEndpoint string
	// PostgresURL, when set, persists to PostgreSQL instead of SQLite: the database it
	// names and one beside it with "_visibility" appended, created and brought to the
	// server's schema version with Temporal's own SQL schema tool. The production shape's
	// persistence, on one machine.
	PostgresURL string
}

// Server is a running embedded Temporal server.
type Server struct {
	server  temporal.Server
	ui      *uiserver.Server
	uiErr   chan error
	quiet   *atomic.Bool
	Address string // host:port of the frontend, for SDK clients
	UIURL   string // empty when the UI is disabled
}

// Start starts the server and, unless disabled, the Web UI. Journeys survive a
// restart: everything is in DataDir/temporal.db.
func Start(o Options) (*Server, error) {
	if err := os.MkdirAll(o.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("create data directory %s: %w", o.DataDir, err)
	}
	for _, p := range []int{o.Port, o.UIPort} {
		if p == 0 {
			continue
		}
		if err := portFree(o.IP, p); err != nil {
			return nil, err
		}
	}
	var st stores
	var err error
	if o.PostgresURL != "" {
		st, err = postgresStores(o.PostgresURL, o.Log)
	} else {
		st, err = sqliteStores(o.DataDir, o.Namespace)
	}
	if err != nil {
		return nil, err
	}
	conf, err := serverConfig(o, st)
	if err != nil {
		return nil, err
	}
	lvl := o.Log.GetLevel()
	if lvl < zerolog.WarnLevel && lvl != zerolog.DebugLevel && lvl != zerolog.TraceLevel {
		// The server is chatty at info; its warnings and errors are what a developer needs.
		lvl = zerolog.WarnLevel
	}
	logger := serverLogger{l: o.Log.With().Str("component", "temporal-server").Logger().Level(lvl), quiet: &atomic.Bool{}}
	dyn := dynamicconfig.StaticClient{
		// New search attributes reach every service within a second (default 10 s).
		dynamicconfig.NamespaceCacheRefreshInterval.Key():                NamespaceCacheRefresh,
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key():                 8096,
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,
	}
	srv, err := temporal.NewServer(
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(staticHosts(conf)),
		temporal.WithLogger(logger),
		temporal.WithDynamicConfigClient(dyn),
	)
	if err != nil {
		return nil, fmt.Errorf("build embedded Temporal server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("start embedded Temporal server: %w", err)
	}
	s := &Server{server: srv, quiet: logger.quiet, Address: net.JoinHostPort(o.IP, strconv.Itoa(o.Port))}
	if st.register {
		if err := registerNamespace(s.Address, o.Namespace); err != nil {
			s.Stop()
			return nil, err
		}
	}
	if o.UIPort != 0 {
		s.ui = uiserver.NewServer(uiserveroptions.WithConfigProvider(&uiconfig.Config{
			Host:                o.IP,
			Port:                o.UIPort,
			TemporalGRPCAddress: s.Address,
			EnableUI:            true,
			DefaultNamespace:    o.Namespace,
			DisableNewsFetch:    true, // municipal networks are often closed
			HideLogs:            true,
			CORS:                uiconfig.CORS{CookieInsecure: true},
			Codec: uiconfig.Codec{Endpoint: o.CodecEndpoint,
				DefaultErrorMessage: "Payloads are encrypted. The codec server decrypts them for admins only: see the README, \"Reading payloads in the Temporal UI\"."},
		}))
		s.uiErr = make(chan error, 1)
		go func() { s.uiErr <- s.ui.Start() }()
		uiAddr := net.JoinHostPort(o.IP, strconv.Itoa(o.UIPort))
		if err := waitListening(uiAddr, s.uiErr); err != nil {
			s.Stop()
			return nil, fmt.Errorf("start the Temporal Web UI on %s: %w", uiAddr, err)
		}
		s.UIURL = fmt.Sprintf("http://%s/namespaces/%s/workflows", uiAddr, o.Namespace)
	}
	return s, nil
}

// waitListening waits until addr accepts connections, so that the URL printed for it
// works when it is printed; the UI server starts in its own goroutine.
func waitListening(addr string, failed <-chan error) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			return c.Close()
		}
		select {
		case err := <-failed:
			return err
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("it did not listen within 30s")
		}
	}
}

// UIErr reports the Web UI's failure, if it fails; nil channel when disabled.
func (s *Server) UIErr() <-chan error { return s.uiErr }

// Stop stops the UI and the server.
func (s *Server) Stop() {
	s.quiet.Store(true)
	if s.ui != nil {
		s.ui.Stop()
	}
	_ = s.server.Stop() // the process is exiting; the server logs its own errors
}

func portFree(ip string, port int) error {
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("port %d on %s is taken (another stegvis dev or Temporal server running?): stop it or pick another with --temporal-port / --ui-port", port, ip)
	}
	return ln.Close()
}

// Temporal's internal ports (the frontend's HTTP port, history, matching, worker) are
// picked between 10000 and 12000: below Linux's ephemeral range (32768–60999), where
// every outgoing connection on the machine takes its local port, so that nothing takes
// the port between this check and the server binding it. That happened in CI ("bind:
// address already in use") while other tests held hundreds of connections. The range
// is apart from the e2e (12000–20000) and smoke (20000–32000) tests' ports.
const (
	internalPortMin = 10000
	internalPortMax = 12000
)

// internalPorts picks n distinct free ports for the server's internal services.
func internalPorts(ip string, n int) ([]int, error) {
	var out []int
	for range 2000 {
		if len(out) == n {
			return out, nil
		}
		p := internalPortMin + rand.IntN(internalPortMax-internalPortMin)
		if slices.Contains(out, p) {
			continue
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(p)))
		if err != nil {
			continue
		}
		_ = ln.Close()
		out = append(out, p)
	}
	return nil, fmt.Errorf("no %d free ports between %d and %d on %s for Temporal's internal services", n, internalPortMin, internalPortMax, ip)
}

// stores is where the server persists.
type stores struct {
	main, visibility *config.SQL
	shards           int32
	// register: the namespace is registered through the frontend once it runs (the
	// SQLite schema package writes it straight into the file instead).
	register bool
}

// sqliteStores points the server at SQLite files in WAL mode, which on this class of
// machine triples workflow starts per second against the default rollback journal
// (../shared/TEMPORAL-NOTES.md). The schema and namespace are created on first start.
// The plugin allows one connection per file, so more history shards would only queue
// on it: one shard.
func sqliteStores(dir, namespace string) (stores, error) {
	_, mainErr := os.Stat(filepath.Join(dir, DBFile))
	_, visErr := os.Stat(filepath.Join(dir, VisibilityFile))
	main, err := sqliteFile(filepath.Join(dir, DBFile), namespace)
	if err != nil {
		return stores{}, err
	}
	st := stores{main: main, visibility: main, shards: 1}
	if fresh := errors.Is(mainErr, os.ErrNotExist); fresh || visErr == nil {
		if st.visibility, err = sqliteFile(filepath.Join(dir, VisibilityFile), namespace); err != nil {
			return stores{}, err
		}
	}
	return st, nil
}

func sqliteFile(file, namespace string) (*config.SQL, error) {
	conf := &config.SQL{
		PluginName:   sqliteplugin.PluginName,
		DatabaseName: file,
		ConnectAttributes: map[string]string{
			"mode":         "rwc",
			"journal_mode": "wal",
			"synchronous":  "normal",
			"busy_timeout": "10000",
		},
	}
	if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
		if err := sqliteschema.SetupSchema(conf); err != nil {
			return nil, fmt.Errorf("create Temporal schema in %s: %w", file, err)
		}
	}
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, namespace, false, nil)
	if err != nil {
		return nil, fmt.Errorf("namespace %s: %w", namespace, err)
	}
	if err := sqliteschema.CreateNamespaces(conf, ns); err != nil {
		return nil, fmt.Errorf("create namespace %s in %s: %w", namespace, file, err)
	}
	return conf, nil
}

func serverConfig(o Options, st stores) (*config.Config, error) {
	// The frontend's HTTP port, then history, matching and worker.
	ports, err := internalPorts(o.IP, 4)
	if err != nil {
		return nil, err
	}
	httpPort := ports[0]
	var conf config.Config
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = o.IP
	conf.Persistence.DefaultStore = storeName
	conf.Persistence.VisibilityStore = visStore
	conf.Persistence.NumHistoryShards = st.shards
	conf.Persistence.DataStores = map[string]config.DataStore{storeName: {SQL: st.main}, visStore: {SQL: st.visibility}}
	frontend := net.JoinHostPort(o.IP, strconv.Itoa(o.Port))
	conf.ClusterMetadata = &cluster.Config{
		EnableGlobalNamespace:    false,
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {
				Enabled:                true,
				InitialFailoverVersion: 1,
				RPCAddress:             frontend,
				HTTPAddress:            net.JoinHostPort(o.IP, strconv.Itoa(httpPort)),
				// Fixed, so that the SQLite file's cluster metadata matches on every start.
				ClusterID: "5e6f1c7a-3b2d-4c1e-9a8f-7d6c5b4a3e21",
			},
		},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	conf.Services = map[string]config.Service{}
	for i, name := range []string{"frontend", "history", "matching", "worker"} {
		var svc config.Service
		svc.RPC.BindOnIP = o.IP
		if name == "frontend" {
			svc.RPC.GRPCPort = o.Port
			svc.RPC.HTTPPort = httpPort
		} else {
			svc.RPC.GRPCPort = ports[i]
		}
		conf.Services[name] = svc
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = frontend
	return &conf, nil
}

func staticHosts(conf *config.Config) map[primitives.ServiceName]static.Hosts {
	host := func(name string) static.Hosts {
		svc := conf.Services[name]
		return static.SingleLocalHost(net.JoinHostPort(svc.RPC.BindOnIP, strconv.Itoa(svc.RPC.GRPCPort)))
	}
	return map[primitives.ServiceName]static.Hosts{
		primitives.FrontendService: host("frontend"),
		primitives.HistoryService:  host("history"),
		primitives.MatchingService: host("matching"),
		primitives.WorkerService:   host("worker"),
	}
}
