package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/peterbourgon/ff/v3"
	"github.com/rs/zerolog"
	"go.temporal.io/sdk/client"

	"github.com/stegvis/stegvis/activities"
	"github.com/stegvis/stegvis/auth"
	"github.com/stegvis/stegvis/config"
	"github.com/stegvis/stegvis/logging"
	"github.com/stegvis/stegvis/metrics"
	"github.com/stegvis/stegvis/protect"
	"github.com/stegvis/stegvis/selfcheck"
	"github.com/stegvis/stegvis/store"
	"github.com/stegvis/stegvis/temporalconn"
	"github.com/stegvis/stegvis/web"
	"github.com/stegvis/stegvis/worker"
	"github.com/stegvis/stegvis/workflows"
)

// envOptions makes every flag readable from the environment variable of the same name.
var envOptions = []ff.Option{ff.WithEnvVars()}

func newFlagSet(name string) *flag.FlagSet {
	return flag.NewFlagSet("stegvis "+name, flag.ContinueOnError)
}

func newLogger(c config.Log) (zerolog.Logger, error) {
	return logging.New(os.Stderr, c.Level, c.Format)
}

func openStore(ctx context.Context, c config.Database) (*store.Store, error) {
	return store.Open(ctx, c.URL, c.Migrate)
}

// clusterProcess is what api and worker share: a logger, the database, a metrics
// registry and the options for a client of an external Temporal cluster.
type clusterProcess struct {
	log     zerolog.Logger
	store   *store.Store
	metrics *metrics.Registry
	client  client.Options
	keys    *protect.Keyring
}

func startClusterProcess(ctx context.Context, logc config.Log, db config.Database, tc config.Temporal, kc config.Keys, mc config.Metrics) (*clusterProcess, error) {
	log, err := newLogger(logc)
	if err != nil {
		return nil, err
	}
	keys, err := protect.ParseKeys(kc.EncryptionKeys)
	if err != nil {
		return nil, err
	}
	st, err := openStore(ctx, db)
	if err != nil {
		return nil, err
	}
	reg := newMetrics(st, mc, log)
	opts, err := temporalconn.Options(tc, log, reg.TemporalHandler())
	if err != nil {
		st.Close()
		_ = reg.Close()
		return nil, err
	}
	// Every payload is encrypted before it reaches Temporal: plans and notes are free text.
	opts.DataConverter = protect.DataConverter(keys)
	return &clusterProcess{log: log, store: st, metrics: reg, client: opts, keys: keys}, nil
}

// newMetrics is a process's registry, with the read model's business metrics: api, worker
// and dev each serve them on /metrics.
func newMetrics(st *store.Store, mc config.Metrics, log zerolog.Logger) *metrics.Registry {
	reg := metrics.New()
	reg.RegisterReadModel(st, metrics.ReadModelOptions{Refresh: mc.Refresh, Log: &log, SelfCheckKinds: selfcheck.KindNames()})
	return reg
}

func (p *clusterProcess) Close() {
	_ = p.metrics.Close()
	p.store.Close()
}

// stoppedWhileStarting makes a stop signal that arrived before the process was up
// (while it waited for PostgreSQL or Temporal, say) a clean stop: err is whatever the
// interrupted step returned, and is only reported.
func stoppedWhileStarting(ctx context.Context, name string, err error) error {
	sig, _, ok := stopRequested(ctx)
	if err == nil || !ok {
		return err
	}
	fmt.Fprintf(os.Stderr, "stegvis %s: %s while starting; stopped (%v)\n", name, sig, err)
	return nil
}

// logStopped is the last line of a clean shutdown, with how long it took from the
// signal.
func logStopped(ctx context.Context, log zerolog.Logger, msg string) {
	e := log.Info()
	if sig, at, ok := stopRequested(ctx); ok {
		e = e.Str("signal", sig).Dur("duration", time.Since(at))
	}
	e.Msg(msg)
}

// activitiesFor wires the journey's activities to the database and the delivery
// channels.
func activitiesFor(st *store.Store, d config.Delivery) *activities.Activities {
	return &activities.Activities{Notifications: st, Journal: st, Directory: st, Digests: st, Delivery: &activities.Delivery{
		Store:   st,
		Mail:    activities.Mail{Addr: d.SMTPAddr, From: d.SMTPFrom, Username: d.SMTPUsername, Password: d.SMTPPassword},
		Webhook: activities.Webhook{URL: d.WebhookURL, Secret: d.WebhookSecret},
	}}
}

// withRetention gives the activities what the retention run needs, and creates or
// updates its daily schedule unless retention is off.
func withRetention(ctx context.Context, c client.Client, namespace string, st *store.Store, acts *activities.Activities, rc config.Retention) error {
	acts.Retention = st
	acts.Temporal = worker.NewJourneyDeleter(c, namespace)
	if rc.AfterExit == "" {
		return nil
	}
	t, err := time.Parse("15:04", rc.Time)
	if err != nil {
		return fmt.Errorf("RETENTION_TIME %q: write a time of day as HH:MM, for example 03:00", rc.Time)
	}
	if err := workflows.EnsureRetentionSchedule(ctx, c, t.Hour(), t.Minute(), rc.AfterExit); err != nil {
		return fmt.Errorf("RETENTION_AFTER_EXIT: %w", err)
	}
	return nil
}

// ensureDigest creates or updates the daily digest schedule when a time is set.
func ensureDigest(ctx context.Context, c client.Client, d config.Delivery) error {
	hour, minute, ok, err := d.DigestClock()
	if err != nil || !ok {
		return err
	}
	return workflows.EnsureDigestSchedule(ctx, c, hour, minute)
}

// devKeys is ENCRYPTION_KEYS, or for dev a key ring kept in the data directory so
// that a laptop needs no setup and its journeys stay readable across restarts.
func devKeys(kc config.Keys, dataDir string) (*protect.Keyring, error) {
	if kc.EncryptionKeys != "" {
		return protect.ParseKeys(kc.EncryptionKeys)
	}
	file := filepath.Join(dataDir, "encryption-keys")
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		b = []byte("dev1:" + protect.GenerateKey())
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, err
		}
		err = os.WriteFile(file, b, 0o600)
	}
	if err != nil {
		return nil, err
	}
	return protect.ParseKeys(strings.TrimSpace(string(b)))
}

// verifier is the API's token check: the configured identity provider.
func verifier(ctx context.Context, ac config.Auth) (auth.Verifier, error) {
	if ac.OIDCIssuer == "" {
		return nil, errors.New("OIDC_ISSUER is not set: the API accepts only tokens from your identity provider; set OIDC_ISSUER (and OIDC_JWKS_URL or OIDC_AUDIENCE as needed, see the README)")
	}
	return auth.NewOIDC(ctx, auth.Config{Issuer: ac.OIDCIssuer, JWKSURL: ac.OIDCJWKSURL, Audience: ac.OIDCAudience,
		UserClaim: ac.UserClaim, RolesClaim: ac.RolesClaim, RolePrefix: ac.RolePrefix})
}

// webLogin is signing in to the pages at the identity provider, when OIDC_CLIENT_ID
// is set (nil otherwise). publicURL is where people reach stegvis.
func webLogin(ctx context.Context, ac config.Auth, publicURL string) (*web.OIDCLogin, error) {
	if ac.ClientID == "" {
		return nil, nil
	}
	if ac.OIDCIssuer == "" {
		return nil, errors.New("OIDC_CLIENT_ID is set but OIDC_ISSUER is not: set OIDC_ISSUER to your identity provider")
	}
	if publicURL == "" {
		return nil, errors.New("OIDC_CLIENT_ID is set but PUBLIC_URL is not: set PUBLIC_URL to the address people reach stegvis at (https://stegvis.kommun.se); the identity provider sends them back to PUBLIC_URL/login/callback")
	}
	if ac.OIDCAudience != "" && ac.OIDCAudience != ac.ClientID {
		return nil, fmt.Errorf("OIDC_AUDIENCE (%s) is not OIDC_CLIENT_ID (%s): the ID tokens of signing in are issued to the client id, so set OIDC_AUDIENCE to it", ac.OIDCAudience, ac.ClientID)
	}
	return web.NewOIDCLogin(ctx, ac.OIDCIssuer, ac.ClientID, ac.ClientSecret, publicURL)
}

// newChecker is the self-check of a process. Its metrics are read from the database
// by every process's read-model collector (newMetrics).
func newChecker(st *store.Store, c client.Client, namespace string, sc config.SelfCheck) *selfcheck.Checker {
	return &selfcheck.Checker{Store: st, Temporal: c, Namespace: namespace, Grace: sc.Grace}
}

// withSelfCheck gives the activities the self-check and creates or updates its daily
// schedule unless SELF_CHECK_TIME is empty.
func withSelfCheck(ctx context.Context, c client.Client, acts *activities.Activities, checker *selfcheck.Checker, sc config.SelfCheck) error {
	acts.SelfCheck = checker
	hour, minute, ok, err := sc.Clock()
	if err != nil || !ok {
		return err
	}
	if err := workflows.EnsureSelfCheckSchedule(ctx, c, hour, minute); err != nil {
		return fmt.Errorf("SELF_CHECK_TIME: %w", err)
	}
	return nil
}
