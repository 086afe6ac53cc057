package main

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/stegvis/stegvis/config"
	"github.com/stegvis/stegvis/logging"
	"github.com/stegvis/stegvis/temporalconn"
	"github.com/stegvis/stegvis/worker"
)

func workerCommand() *ffcli.Command {
	var (
		logc config.Log
		db   config.Database
		tc   config.Temporal
		wc   config.Worker
		hc   config.HTTP
		dlv  config.Delivery
		kc   config.Keys
		rc   config.Retention
	)
	fs := newFlagSet("worker")
	logc.Register(fs, logging.FormatJSON)
	db.Register(fs)
	dlv.Register(fs)
	tc.Register(fs)
	wc.Register(fs)
	kc.Register(fs)
	rc.Register(fs)
	fs.DurationVar(&hc.ShutdownTimeout, "shutdown-timeout", 20*time.Second, "how long to let in-flight requests and tasks finish on shutdown")
	return &ffcli.Command{
		Name:       "worker",
		ShortUsage: "stegvis worker [flags]",
		ShortHelp:  "run journey workflows and activities against a Temporal cluster",
		FlagSet:    fs,
		Options:    envOptions,
		Exec: func(ctx context.Context, _ []string) error {
			p, err := startClusterProcess(ctx, logc, db, tc, kc)
			if err != nil {
				return err
			}
			defer p.Close()
			log, st, reg := p.log, p.store, p.metrics
			c, err := temporalconn.Dial(ctx, p.client, log)
			if err != nil {
				return err
			}
			defer c.Close()
			if wc.MetricsAddr != "" {
				mux := http.NewServeMux()
				mux.Handle("/metrics", reg.Handler())
				mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
				srv := &http.Server{Addr: wc.MetricsAddr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
				go func() {
					if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
						log.Error().Err(err).Str("addr", wc.MetricsAddr).Msg("worker metrics listener failed; set METRICS_ADDR")
					}
				}()
				defer srv.Close()
			}
			if err := ensureDigest(ctx, c, dlv); err != nil {
				return err
			}
			acts := activitiesFor(st, dlv)
			if err := withRetention(ctx, c, tc.Namespace, st, acts, rc); err != nil {
				return err
			}
			log.Info().Str("temporal", tc.Address).Str("namespace", tc.Namespace).Msg("worker polling")
			return worker.Run(ctx, c, acts, sdkworker.Options{WorkerStopTimeout: hc.ShutdownTimeout})
		},
	}
}
