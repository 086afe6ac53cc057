// Package metrics exposes Prometheus metrics: the HTTP API's latencies and the Temporal
// SDK's own metrics, from one registry.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"
)

// Registry holds a process's metrics.
type Registry struct {
	*prometheus.Registry
	closeScope func() error
}

// New returns a registry with the Go runtime and process collectors.
func New() *Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return &Registry{Registry: reg}
}

// Handler serves the registry in the Prometheus text format.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.Registry, promhttp.HandlerOpts{Registry: r.Registry})
}

// TemporalHandler returns a metrics handler for the Temporal SDK that reports into this
// registry (temporal_request, temporal_workflow_task_execution_latency, ...).
func (r *Registry) TemporalHandler() client.MetricsHandler {
	reporter := tallyprom.NewReporter(tallyprom.Options{Registerer: r.Registry})
	scope, closer := tally.NewRootScope(tally.ScopeOptions{
		CachedReporter:  reporter,
		Separator:       tallyprom.DefaultSeparator,
		SanitizeOptions: &sanitize,
	}, time.Second)
	r.closeScope = closer.Close
	return sdktally.NewMetricsHandler(sdktally.NewPrometheusNamingScope(scope))
}

// Close flushes and stops the SDK metrics scope.
func (r *Registry) Close() error {
	if r.closeScope != nil {
		return r.closeScope()
	}
	return nil
}

// sanitize keeps metric names and labels within Prometheus's alphabet.
var sanitize = tally.SanitizeOptions{
	NameCharacters:       tally.ValidCharacters{Ranges: tally.AlphanumericRange, Characters: tally.UnderscoreCharacters},
	KeyCharacters:        tally.ValidCharacters{Ranges: tally.AlphanumericRange, Characters: tally.UnderscoreCharacters},
	ValueCharacters:      tally.ValidCharacters{Ranges: tally.AlphanumericRange, Characters: tally.UnderscoreCharacters},
	ReplacementCharacter: tally.DefaultReplacementCharacter,
}

// HTTP measures the API.
type HTTP struct {
	Duration *prometheus.HistogramVec
}

// NewHTTP registers the API's request histogram.
func (r *Registry) NewHTTP() *HTTP {
	h := &HTTP{Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "stegvis_http_request_duration_seconds",
		Help:    "Latency of HTTP API requests, by method, route template and status code.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"method", "route", "status"})}
	r.MustRegister(h.Duration)
	return h
}
