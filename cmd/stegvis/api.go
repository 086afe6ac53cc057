package main

import (
	"context"

	"github.com/peterbourgon/ff/v3/ffcli"
	"github.com/rs/zerolog"
	"go.temporal.io/sdk/client"

	"github.com/stegvis/stegvis/api"
	"github.com/stegvis/stegvis/config"
	"github.com/stegvis/stegvis/logging"
	"github.com/stegvis/stegvis/program"
	"github.com/stegvis/stegvis/web"
)

func apiCommand() *ffcli.Command {
	var (
		logc config.Log
		db   config.Database
		tc   config.Temporal
		hc   config.HTTP
		pc   config.Programs
		kc   config.Keys
		mc   config.Metrics
		ac   config.Auth
		sc   config.SelfCheck
	)
	fs := newFlagSet("api")
	logc.Register(fs, logging.FormatJSON)
	db.Register(fs)
	tc.Register(fs)
	pc.Register(fs)
	kc.Register(fs)
	ac.Register(fs)
	sc.RegisterGrace(fs)
	hc.Register(fs, ":8080")
	mc.Register(fs)
	hc.RegisterShutdownDelay(fs)
	return &ffcli.Command{
		Name:       "api",
		ShortUsage: "stegvis api [flags]",
		ShortHelp:  "serve the HTTP API against a Temporal cluster",
		FlagSet:    fs,
		Options:    envOptions,
		Exec: func(ctx context.Context, _ []string) error {
			var (
				log     zerolog.Logger
				serving bool
			)
			// On SIGTERM: /readyz answers 503 at once, requests are still served for
			// SHUTDOWN_DELAY, then the listener closes and in-flight requests get up to
			// SHUTDOWN_TIMEOUT; the Temporal client and the database pool close after
			// the last of them.
			err := func() error {
				programs, err := program.Load(pc.Dir)
				if err != nil {
					return err
				}
				login, err := webLogin(ctx, ac, ac.PublicURL)
				if err != nil {
					return err
				}
				v, err := verifier(ctx, ac)
				if err != nil {
					return err
				}
				p, err := startClusterProcess(ctx, logc, db, tc, kc, mc)
				if err != nil {
					return err
				}
				defer p.Close()
				log = p.log
				// Lazy: the API starts while Temporal is still coming up, and /readyz says so.
				c, err := client.NewLazyClient(p.client)
				if err != nil {
					return err
				}
				defer c.Close()
				h := api.NewRouter(api.Deps{Temporal: c, DB: p.store, Log: p.log, Metrics: p.metrics, Programs: programs, Namespace: tc.Namespace,
					Auth: v, Keys: p.keys, RateLimit: ac.RateLimit, RateBurst: ac.RateBurst, CodecOrigins: ac.Origins(),
					SelfCheck: newChecker(p.store, c, tc.Namespace, sc)})
				if err := web.Mount(h, web.Options{API: h, Verify: v, SecureCookie: ac.SecureCookie, OIDC: login}); err != nil {
					return err
				}
				serving = true
				return api.Serve(ctx, hc.Addr, h, api.Shutdown{Delay: hc.ShutdownDelay, Timeout: hc.ShutdownTimeout}, p.log)
			}()
			if !serving {
				return stoppedWhileStarting(ctx, "api", err)
			}
			if err != nil {
				return err
			}
			logStopped(ctx, log, "api stopped: every in-flight request finished; Temporal client and database pool closed")
			return nil
		},
	}
}
