package main

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"golang.org/x/sync/errgroup"

	"github.com/stegvis/stegvis/api"
	"github.com/stegvis/stegvis/auth"
	"github.com/stegvis/stegvis/config"
	"github.com/stegvis/stegvis/devserver"
	"github.com/stegvis/stegvis/logging"
	"github.com/stegvis/stegvis/program"
	"github.com/stegvis/stegvis/protect"
	"github.com/stegvis/stegvis/web"
	"github.com/stegvis/stegvis/worker"
	"github.com/stegvis/stegvis/workflows"
)

func devCommand(out *os.File) *ffcli.Command {
	var (
		logc config.Log
		db   config.Database
		hc   config.HTTP
		dlv  config.Delivery
		pc   config.Programs
		dc   config.Dev
		kc   config.Keys
		ac   config.Auth
		rc   config.Retention
		mc   config.Metrics
		sc   config.SelfCheck
		// temporalOnly runs the embedded Temporal server alone, for separate stegvis
		// api and worker processes: the production shape on one machine.
		temporalOnly bool
	)
	fs := newFlagSet("dev")
	logc.Register(fs, logging.FormatConsole)
	db.Register(fs)
	dlv.Register(fs)
	pc.Register(fs)
	hc.Register(fs, "127.0.0.1:8080")
	dc.Register(fs)
	kc.Register(fs)
	ac.Register(fs)
	rc.Register(fs)
	mc.Register(fs)
	sc.Register(fs)
	fs.BoolVar(&temporalOnly, "temporal-only", false, "run only the embedded Temporal server (and its Web UI unless --ui-port 0) for separate stegvis api and worker processes: "+
		"no worker, no API, no stegvis database")
	return &ffcli.Command{
		Name:       "dev",
		ShortUsage: "stegvis dev [flags]",
		ShortHelp:  "run everything in one process: Temporal (SQLite under --data-dir, or PostgreSQL with --temporal-db postgres), its Web UI, the worker and the API",
		FlagSet:    fs,
		Options:    envOptions,
		Exec: func(ctx context.Context, _ []string) error {
			if temporalOnly {
				return runTemporalOnly(ctx, out, logc, dc)
			}
			return runDev(ctx, out, logc, db, hc, dc, pc, dlv, kc, ac, rc, mc, sc)
		},
	}
}

func runDev(ctx context.Context, out *os.File, logc config.Log, db config.Database, hc config.HTTP, dc config.Dev, pc config.Programs, dlv config.Delivery,
	kc config.Keys, ac config.Auth, rc config.Retention, mc config.Metrics, sc config.SelfCheck) error {
	log, err := newLogger(logc)
	if err != nil {
		return err
	}
	if err := dc.Validate(); err != nil {
		return err
	}
	programs, err := program.Load(pc.Dir)
	if err != nil {
		return err
	}
	// PostgreSQL first: when it is missing, say so within seconds, before anything starts.
	st, err := openStore(ctx, db)
	if err != nil {
		return err
	}
	defer st.Close()
	keys, err := devKeys(kc, dc.DataDir)
	if err != nil {
		return err
	}
	if err := seedDevOrgChart(ctx, st); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", hc.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (set HTTP_ADDR or --http-addr to a free address)", hc.Addr, err)
	}
	base := baseURL(ln.Addr().(*net.TCPAddr))
	// Tokens: the configured identity provider, or dev's own issuer, which serves its
	// keys at /dev/jwks.json like any provider (a separate stegvis api can use it).
	iss, err := auth.NewDevIssuer(base+"/dev", filepath.Join(dc.DataDir, "dev-signing-key.pem"))
	if err != nil {
		ln.Close()
		return err
	}
	v := iss.Verifier()
	if ac.OIDCIssuer != "" {
		if v, err = verifier(ctx, ac); err != nil {
			ln.Close()
			return err
		}
	}
	// Signing in at that provider, when it knows stegvis as a client; it sends people
	// back to dev's own address unless PUBLIC_URL says otherwise.
	login, err := webLogin(ctx, ac, cmp.Or(ac.PublicURL, base))
	if err != nil {
		ln.Close()
		return err
	}

	const namespace = "default"
	opts := devserver.Options{
		DataDir: dc.DataDir, IP: dc.TemporalIP, Port: dc.TemporalPort, UIPort: dc.UIPort,
		Namespace: namespace, Log: log, CodecEndpoint: base + "/codec",
	}
	if dc.TemporalDB == "postgres" {
		opts.PostgresURL = dc.TemporalURL
	}
	ts, err := devserver.Start(opts)
	if err != nil {
		ln.Close()
		return err
	}
	defer ts.Stop()

	// One registry for the embedded worker and the API: dev's /metrics serves everything.
	reg := newMetrics(st, mc, log)
	defer reg.Close()
	c, err := client.DialContext(ctx, client.Options{
		HostPort: ts.Address, Namespace: namespace,
		Logger: logging.SDK(log), MetricsHandler: reg.TemporalHandler(), DataConverter: protect.DataConverter(keys),
	})
	if err != nil {
		ln.Close()
		return fmt.Errorf("connect to the embedded Temporal server at %s: %w", ts.Address, err)
	}
	defer c.Close()

	// The banner comes first: the listener is open, so a client that reads it and
	// calls at once waits in the accept queue until the API serves.
	if err := workflows.RegisterSearchAttributes(ctx, c, namespace, 2*devserver.NamespaceCacheRefresh); err != nil {
		ln.Close()
		return err
	}
	if err := ensureDigest(ctx, c, dlv); err != nil {
		ln.Close()
		return err
	}
	acts := activitiesFor(st, dlv)
	acts.Metrics = reg.NewSideEffects()
	if err := withRetention(ctx, c, namespace, st, acts, rc); err != nil {
		ln.Close()
		return err
	}
	checker := newChecker(st, c, namespace, sc)
	if err := withSelfCheck(ctx, c, acts, checker, sc); err != nil {
		ln.Close()
		return err
	}
	banner(out, base, ts, dc, ac.OIDCIssuer == "")
	users, err := mintDevTokens(ctx, iss, dc.DataDir, out)
	if err != nil {
		ln.Close()
		return err
	}
	fmt.Fprintf(out, "Press Ctrl+C to stop; journeys survive a restart.\n\n")
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return worker.Run(gctx, c, acts, sdkworker.Options{WorkerStopTimeout: hc.ShutdownTimeout})
	})
	g.Go(func() error {
		origins := ac.Origins()
		if ts.UIURL != "" {
			origins = append(origins, "http://"+net.JoinHostPort(dc.TemporalIP, strconv.Itoa(dc.UIPort)))
		}
		h := api.NewRouter(api.Deps{Temporal: c, DB: st, Log: log, Metrics: reg, Programs: programs, Namespace: namespace,
			Auth: v, Keys: keys, RateLimit: ac.RateLimit, RateBurst: ac.RateBurst, CodecOrigins: origins, SelfCheck: checker})
		// The pages offer the demo users only when dev is its own issuer.
		wo := web.Options{API: h, Verify: v, OIDC: login}
		if ac.OIDCIssuer == "" {
			wo.DevUsers = users
		}
		if err := web.Mount(h, wo); err != nil {
			return err
		}
		mux := http.NewServeMux()
		mux.Handle("/dev/jwks.json", iss.JWKSHandler())
		mux.Handle("/", h)
		return api.ServeListener(gctx, ln, mux, hc.ShutdownTimeout, log)
	})
	if ch := ts.UIErr(); ch != nil {
		g.Go(func() error {
			select {
			case err := <-ch:
				if err != nil {
					return fmt.Errorf("the Temporal Web UI stopped: %w", err)
				}
			case <-gctx.Done():
			}
			return nil
		})
	}
	err = g.Wait()
	log.Info().Msg("stopped")
	return err
}

// runTemporalOnly runs the embedded Temporal server, and its Web UI unless --ui-port
// is 0, with stegvis's search attributes registered, until the process is told to stop:
// a cluster for `stegvis api` and `stegvis worker` processes started separately (the
// end-to-end test of issue 8 runs them so). It opens no stegvis database, so
// DATABASE_URL is not needed. The UI has no codec server here: payloads show sealed.
func runTemporalOnly(ctx context.Context, out *os.File, logc config.Log, dc config.Dev) error {
	log, err := newLogger(logc)
	if err != nil {
		return err
	}
	if err := dc.Validate(); err != nil {
		return err
	}
	const namespace = "default"
	opts := devserver.Options{DataDir: dc.DataDir, IP: dc.TemporalIP, Port: dc.TemporalPort, UIPort: dc.UIPort, Namespace: namespace, Log: log}
	if dc.TemporalDB == "postgres" {
		opts.PostgresURL = dc.TemporalURL
	}
	ts, err := devserver.Start(opts)
	if err != nil {
		return err
	}
	defer ts.Stop()
	c, err := client.DialContext(ctx, client.Options{HostPort: ts.Address, Namespace: namespace, Logger: logging.SDK(log)})
	if err != nil {
		return fmt.Errorf("connect to the embedded Temporal server at %s: %w", ts.Address, err)
	}
	defer c.Close()
	if err := workflows.RegisterSearchAttributes(ctx, c, namespace, 2*devserver.NamespaceCacheRefresh); err != nil {
		return err
	}
	where := "data in " + dc.DataDir
	if dc.TemporalDB == "postgres" {
		where = "persisted to PostgreSQL " + redactURL(dc.TemporalURL)
	}
	fmt.Fprintf(out, "\nTemporal server is running (%s), without a stegvis worker or API\n", time.Now().Format(time.DateTime))
	fmt.Fprintf(out, "  Temporal     %s (namespace %s), %s\n", ts.Address, namespace, where)
	if ts.UIURL != "" {
		fmt.Fprintf(out, "  Temporal UI  %s\n", ts.UIURL)
	}
	fmt.Fprintf(out, "  Run stegvis api and stegvis worker with TEMPORAL_ADDRESS=%s TEMPORAL_NAMESPACE=%s\n", ts.Address, namespace)
	fmt.Fprintf(out, "Press Ctrl+C to stop; journeys survive a restart.\n\n")
	select {
	case <-ctx.Done():
	case err := <-ts.UIErr(): // a nil channel when the UI is off: never ready
		if err != nil {
			return fmt.Errorf("the Temporal Web UI stopped: %w", err)
		}
		<-ctx.Done()
	}
	log.Info().Msg("Temporal server stopping")
	return nil
}

// redactURL hides a password in a database URL that is printed.
func redactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return "(unparsable URL)"
}

func baseURL(apiAddr *net.TCPAddr) string {
	host := apiAddr.IP.String()
	if apiAddr.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(apiAddr.Port))
}

func banner(out *os.File, base string, ts *devserver.Server, dc config.Dev, demoUsers bool) {
	fmt.Fprintf(out, "\nstegvis is running (%s)\n", time.Now().Format(time.DateTime))
	how := "sign in with your identity provider"
	if demoUsers {
		how = "sign in as a demo user"
	}
	fmt.Fprintf(out, "  Web pages    %s/   (%s)\n", base, how)
	fmt.Fprintf(out, "  API          %s/v1   (OpenAPI: %s/openapi.yaml)\n", base, base)
	fmt.Fprintf(out, "  ready?       %s/readyz\n", base)
	if ts.UIURL != "" {
		fmt.Fprintf(out, "  Temporal UI  %s\n", ts.UIURL)
	}
	where := "data in " + dc.DataDir
	if dc.TemporalDB == "postgres" {
		where = "persisted to PostgreSQL " + redactURL(dc.TemporalURL)
	}
	fmt.Fprintf(out, "  Temporal     %s (namespace default), %s\n", ts.Address, where)
}
