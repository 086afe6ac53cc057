package main

import (
	"context"
	"flag"
	"os"

	"github.com/peterbourgon/ff/v3"
	"github.com/rs/zerolog"
	"go.temporal.io/sdk/client"

	"github.com/stegvis/stegvis/activities"
	"github.com/stegvis/stegvis/config"
	"github.com/stegvis/stegvis/logging"
	"github.com/stegvis/stegvis/metrics"
	"github.com/stegvis/stegvis/store"
	"github.com/stegvis/stegvis/temporalconn"
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
}

func startClusterProcess(ctx context.Context, logc config.Log, db config.Database, tc config.Temporal) (*clusterProcess, error) {
	log, err := newLogger(logc)
	if err != nil {
		return nil, err
	}
	st, err := openStore(ctx, db)
	if err != nil {
		return nil, err
	}
	reg := metrics.New()
	opts, err := temporalconn.Options(tc, log, reg.TemporalHandler())
	if err != nil {
		st.Close()
		_ = reg.Close()
		return nil, err
	}
	return &clusterProcess{log: log, store: st, metrics: reg, client: opts}, nil
}

func (p *clusterProcess) Close() {
	_ = p.metrics.Close()
	p.store.Close()
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

// ensureDigest creates or updates the daily digest schedule when a time is set.
func ensureDigest(ctx context.Context, c client.Client, d config.Delivery) error {
	hour, minute, ok, err := d.DigestClock()
	if err != nil || !ok {
		return err
	}
	return workflows.EnsureDigestSchedule(ctx, c, hour, minute)
}
