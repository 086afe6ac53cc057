package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// SelfCheck is what the daily self-check reports: its findings by kind, and when it
// last ran and last ran to the end. Each process (api, worker, dev) has its own
// registry, so the gauges are those of the process that ran the check.
type SelfCheck struct {
	Findings    *prometheus.GaugeVec
	LastRun     prometheus.Gauge
	LastSuccess prometheus.Gauge
	kinds       []string
}

// NewSelfCheck registers the self-check's gauges, with every kind at 0, so that an
// alert on a kind sees a series before the first finding of it.
func (r *Registry) NewSelfCheck(kinds []string) *SelfCheck {
	m := &SelfCheck{
		Findings: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "stegvis_self_check_findings",
			Help: "Problems the last successful self-check found, by kind (0 when none).",
		}, []string{"kind"}),
		LastRun: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "stegvis_self_check_last_run_timestamp_seconds",
			Help: "When the self-check last ran, successful or not (Unix time).",
		}),
		LastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "stegvis_self_check_last_success_timestamp_seconds",
			Help: "When the self-check last ran to the end (Unix time).",
		}),
		kinds: append([]string(nil), kinds...),
	}
	for _, k := range kinds {
		m.Findings.WithLabelValues(k).Set(0)
	}
	r.MustRegister(m.Findings, m.LastRun, m.LastSuccess)
	return m
}

// Observe records a run that ended at at: its counts by kind when it succeeded (kinds
// it does not name are 0), only the run's time when it failed. A nil SelfCheck
// records nothing.
func (m *SelfCheck) Observe(at time.Time, counts map[string]int, ok bool) {
	if m == nil {
		return
	}
	m.LastRun.Set(float64(at.Unix()))
	if !ok {
		return
	}
	m.LastSuccess.Set(float64(at.Unix()))
	for _, k := range m.kinds {
		m.Findings.WithLabelValues(k).Set(float64(counts[k]))
	}
}
