package metrics

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// JourneyCount is how many participants' latest journeys are in one programme, unit and
// phase.
type JourneyCount struct {
	Program, Unit, Phase string
	N                    int
}

// DeadlineCount is how many open deadlines of one kind are at one escalation level, and
// how many of those are past their due time.
type DeadlineCount struct {
	Kind          string
	Level         int
	Open, Overdue int
}

// ReadModelCounts is what the read model says about all journeys at one moment.
type ReadModelCounts struct {
	Journeys  []JourneyCount
	Deadlines []DeadlineCount
	SelfCheck SelfCheckCounts
}

// ReadModel works the counts out (store.Store does, from PostgreSQL).
type ReadModel interface {
	ReadModelCounts(ctx context.Context, now time.Time) (ReadModelCounts, error)
}

// ReadModelOptions tune the read-model collector. Zero values take the defaults.
type ReadModelOptions struct {
	// Refresh is how long counts are served before the next scrape asks again (30 s): a
	// scrape every few seconds, from several Prometheus servers, must not become a
	// query each.
	Refresh time.Duration
	// Timeout bounds one query (5 s): a scrape must not hang on a slow database.
	Timeout time.Duration
	// Log, if set, gets a line for each failed query.
	Log *zerolog.Logger
	// Now is the clock (time.Now); tests set it.
	Now func() time.Time
	// SelfCheckKinds are the kinds of self-check finding, each served (0 when none).
	SelfCheckKinds []string
}

var (
	journeysDesc = prometheus.NewDesc("stegvis_journeys",
		"Participants' latest journeys in the read model, by programme, unit and phase (exited included until retention deletes them).",
		[]string{"program", "unit", "phase"}, nil)
	deadlinesOpenDesc = prometheus.NewDesc("stegvis_deadlines_open",
		"Open deadlines in the read model, by deadline kind and escalation level (0: no escalation yet).",
		[]string{"kind", "level"}, nil)
	deadlinesOverdueDesc = prometheus.NewDesc("stegvis_deadlines_overdue",
		"Open deadlines whose due time has passed, by deadline kind and escalation level; 0 where a kind and level has open deadlines but none overdue.",
		[]string{"kind", "level"}, nil)
)

// readModelCollector serves the read model's counts, asking the database at most once
// per Refresh. A failed query is counted and the last counts are served again, so that a
// slow or stopped database never fails the scrape of the process's other metrics.
type readModelCollector struct {
	src    ReadModel
	opts   ReadModelOptions
	errors prometheus.Counter

	mu      sync.Mutex
	counts  ReadModelCounts
	askedAt time.Time // of the last query, successful or not
	have    bool      // a query has succeeded
}

// RegisterReadModel adds the read-model gauges (stegvis_journeys, stegvis_deadlines_open,
// stegvis_deadlines_overdue, stegvis_self_check_*) and
// stegvis_read_model_metrics_errors_total to the registry.
func (r *Registry) RegisterReadModel(src ReadModel, opts ReadModelOptions) {
	r.MustRegister(NewReadModelCollector(src, opts))
}

// NewReadModelCollector returns the collector RegisterReadModel registers.
func NewReadModelCollector(src ReadModel, opts ReadModelOptions) prometheus.Collector {
	if opts.Refresh <= 0 {
		opts.Refresh = 30 * time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &readModelCollector{src: src, opts: opts, errors: prometheus.NewCounter(prometheus.CounterOpts{
		Name: "stegvis_read_model_metrics_errors_total",
		Help: "Queries of the read model for stegvis_journeys and stegvis_deadlines_* that failed; the gauges then show the last counts read.",
	})}
}

func (c *readModelCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- journeysDesc
	ch <- deadlinesOpenDesc
	ch <- deadlinesOverdueDesc
	describeSelfCheck(ch)
	c.errors.Describe(ch)
}

func (c *readModelCollector) Collect(ch chan<- prometheus.Metric) {
	counts, ok := c.current()
	if ok {
		for _, j := range counts.Journeys {
			ch <- prometheus.MustNewConstMetric(journeysDesc, prometheus.GaugeValue, float64(j.N), j.Program, j.Unit, j.Phase)
		}
		for _, d := range counts.Deadlines {
			level := strconv.Itoa(d.Level)
			ch <- prometheus.MustNewConstMetric(deadlinesOpenDesc, prometheus.GaugeValue, float64(d.Open), d.Kind, level)
			ch <- prometheus.MustNewConstMetric(deadlinesOverdueDesc, prometheus.GaugeValue, float64(d.Overdue), d.Kind, level)
		}
		collectSelfCheck(ch, c.opts.SelfCheckKinds, counts.SelfCheck)
	}
	c.errors.Collect(ch)
}

// current returns the counts to serve, asking the database first when the last answer
// is older than Refresh. ok is false until a query has succeeded: no gauges rather than
// zeros that look like an empty programme.
func (c *readModelCollector) current() (ReadModelCounts, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.opts.Now()
	if !c.askedAt.IsZero() && now.Sub(c.askedAt) < c.opts.Refresh {
		return c.counts, c.have
	}
	// A failed query also waits out Refresh: a database that is down is asked again
	// every 30 s, not on every scrape.
	c.askedAt = now
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.Timeout)
	defer cancel()
	counts, err := c.src.ReadModelCounts(ctx, now)
	if err != nil {
		c.errors.Inc()
		if c.opts.Log != nil {
			c.opts.Log.Warn().Err(err).Msg("read-model metrics: the query failed; /metrics serves the last counts (see stegvis_read_model_metrics_errors_total)")
		}
		return c.counts, c.have
	}
	c.counts, c.have = counts, true
	return c.counts, true
}
