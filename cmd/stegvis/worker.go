package main

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"
	"github.com/rs/zerolog"

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
		wt   config.WorkerTuning
		hc   config.HTTP
		dlv  config.Delivery
		kc   config.Keys
		rc   config.Retention
		mc   config.Metrics
		sc   config.SelfCheck
	)
	fs := newFlagSet("worker")
	logc.Register(fs, logging.FormatJSON)
	db.Register(fs)
	dlv.Register(fs)
	tc.Register(fs)
	wc.Register(fs)
	wt.Register(fs)
	kc.Register(fs)
	rc.Register(fs)
	mc.Register(fs)
	sc.Register(fs)
	fs.DurationVar(&hc.ShutdownTimeout, "shutdown-timeout", 20*time.Second, "how long to let in-flight requests and tasks finish on shutdown")
	return &ffcli.Command{
		Name:       "worker",
		ShortUsage: "stegvis worker [flags]",
		ShortHelp:  "run journey workflows and activities against a Temporal cluster",
		FlagSet:    fs,
		Options:    envOptions,
		Exec: func(ctx context.Context, _ []string) error {
			var (
				log     zerolog.Logger
				polling bool
			)
			// On SIGTERM the worker stops polling, lets running activities finish within
			// SHUTDOWN_TIMEOUT (Temporal retries the rest elsewhere), then closes its
			// metrics listener, the Temporal client and the database pool.
			err := func() error {
				p, err := startClusterProcess(ctx, logc, db, tc, kc, mc)
				if err != nil {
					return err
				}
				defer p.Close()
				log = p.log
				st, reg := p.store, p.metrics
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
					// Up until the worker has stopped, so that a scrape sees the end; a
					// scrape still running a moment later is cut off.
					defer func() {
						sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
						defer cancel()
						if srv.Shutdown(sctx) != nil {
							_ = srv.Close()
						}
					}()
				}
				if err := ensureDigest(ctx, c, dlv); err != nil {
					return err
				}
				acts := activitiesFor(st, dlv)
				acts.Metrics = reg.NewSideEffects()
				if err := withRetention(ctx, c, tc.Namespace, st, acts, rc); err != nil {
					return err
				}
				if err := withSelfCheck(ctx, c, acts, newChecker(st, c, tc.Namespace, sc), sc); err != nil {
					return err
				}
				log.Info().Str("temporal", tc.Address).Str("namespace", tc.Namespace).Msg("worker polling")
				polling = true
				return worker.Run(log.WithContext(ctx), c, acts, worker.Options(worker.Tuning{MaxPollers: wt.MaxPollers, StopTimeout: hc.ShutdownTimeout}))
			}()
			if !polling {
				return stoppedWhileStarting(ctx, "worker", err)
			}
			if err != nil {
				return err
			}
			logStopped(ctx, log, "worker stopped polling: running activities finished or were handed back to Temporal; metrics listener, Temporal client and database pool closed")
			return nil
		},
	}
}
