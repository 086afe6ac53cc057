package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"golang.org/x/sync/errgroup"

	"github.com/stegvis/stegvis/api"
	"github.com/stegvis/stegvis/config"
	"github.com/stegvis/stegvis/devserver"
	"github.com/stegvis/stegvis/logging"
	"github.com/stegvis/stegvis/metrics"
	"github.com/stegvis/stegvis/program"
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
	)
	fs := newFlagSet("dev")
	logc.Register(fs, logging.FormatConsole)
	db.Register(fs)
	dlv.Register(fs)
	pc.Register(fs)
	hc.Register(fs, "127.0.0.1:8080")
	dc.Register(fs)
	return &ffcli.Command{
		Name:       "dev",
		ShortUsage: "stegvis dev [flags]",
		ShortHelp:  "run everything in one process: Temporal (SQLite under --data-dir), its Web UI, the worker and the API",
		FlagSet:    fs,
		Options:    envOptions,
		Exec: func(ctx context.Context, _ []string) error {
			return runDev(ctx, out, logc, db, hc, dc, pc, dlv)
		},
	}
}

func runDev(ctx context.Context, out *os.File, logc config.Log, db config.Database, hc config.HTTP, dc config.Dev, pc config.Programs, dlv config.Delivery) error {
	log, err := newLogger(logc)
	if err != nil {
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
	ln, err := net.Listen("tcp", hc.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (set HTTP_ADDR or --http-addr to a free address)", hc.Addr, err)
	}

	const namespace = "default"
	ts, err := devserver.Start(devserver.Options{
		DataDir: dc.DataDir, IP: dc.TemporalIP, Port: dc.TemporalPort, UIPort: dc.UIPort,
		Namespace: namespace, Log: log,
	})
	if err != nil {
		ln.Close()
		return err
	}
	defer ts.Stop()

	reg := metrics.New()
	defer reg.Close()
	c, err := client.DialContext(ctx, client.Options{
		HostPort: ts.Address, Namespace: namespace,
		Logger: logging.SDK(log), MetricsHandler: reg.TemporalHandler(),
	})
	if err != nil {
		ln.Close()
		return fmt.Errorf("connect to the embedded Temporal server at %s: %w", ts.Address, err)
	}
	defer c.Close()

	// The banner comes first: the listener is open, so a client that reads it and
	// calls at once waits in the accept queue until the API serves.
	if err := workflows.RegisterSearchAttributes(ctx, c, namespace); err != nil {
		ln.Close()
		return err
	}
	if err := ensureDigest(ctx, c, dlv); err != nil {
		ln.Close()
		return err
	}
	banner(out, ln.Addr().(*net.TCPAddr), ts, dc)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return worker.Run(gctx, c, activitiesFor(st, dlv), sdkworker.Options{WorkerStopTimeout: hc.ShutdownTimeout})
	})
	g.Go(func() error {
		h := api.NewRouter(api.Deps{Temporal: c, DB: st, Log: log, Metrics: reg, Programs: programs, Namespace: namespace})
		return api.ServeListener(gctx, ln, h, hc.ShutdownTimeout, log)
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

func banner(out *os.File, apiAddr *net.TCPAddr, ts *devserver.Server, dc config.Dev) {
	host := apiAddr.IP.String()
	if apiAddr.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	base := "http://" + net.JoinHostPort(host, strconv.Itoa(apiAddr.Port))
	fmt.Fprintf(out, "\nstegvis is running (%s)\n", time.Now().Format(time.DateTime))
	fmt.Fprintf(out, "  API          %s/v1   (OpenAPI: %s/openapi.yaml)\n", base, base)
	fmt.Fprintf(out, "  ready?       %s/readyz\n", base)
	if ts.UIURL != "" {
		fmt.Fprintf(out, "  Temporal UI  %s\n", ts.UIURL)
	}
	fmt.Fprintf(out, "  Temporal     %s (namespace default), data in %s\n", ts.Address, dc.DataDir)
	fmt.Fprintf(out, "Press Ctrl+C to stop; journeys survive a restart.\n\n")
}
