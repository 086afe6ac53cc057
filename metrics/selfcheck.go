package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The daily self-check's gauges. They are read from the database with the read model's
// counts (the findings not yet resolved, and when the recording run last ran), so every
// process (api, worker, dev) serves the same values whichever worker ran the check.
var (
	selfCheckFindingsDesc = prometheus.NewDesc("stegvis_self_check_findings",
		"Problems the last recording self-check found and that are not resolved, by kind (0 when none).",
		[]string{"kind"}, nil)
	selfCheckLastRunDesc = prometheus.NewDesc("stegvis_self_check_last_run_timestamp_seconds",
		"When the recording self-check (the daily run, stegvis check --notify) last ran, successful or not (Unix time).",
		nil, nil)
	selfCheckLastSuccessDesc = prometheus.NewDesc("stegvis_self_check_last_success_timestamp_seconds",
		"When the recording self-check last ran to the end (Unix time).",
		nil, nil)
)

// SelfCheckCounts is what the database says of the self-check.
type SelfCheckCounts struct {
	// Findings counts the unresolved findings by kind; kinds without any are absent.
	Findings    map[string]int
	LastRun     *time.Time
	LastSuccess *time.Time
}

func describeSelfCheck(ch chan<- *prometheus.Desc) {
	ch <- selfCheckFindingsDesc
	ch <- selfCheckLastRunDesc
	ch <- selfCheckLastSuccessDesc
}

// collectSelfCheck serves every kind, 0 when it has no finding, so that an alert on a
// kind sees a series before its first finding.
func collectSelfCheck(ch chan<- prometheus.Metric, kinds []string, c SelfCheckCounts) {
	for _, k := range kinds {
		ch <- prometheus.MustNewConstMetric(selfCheckFindingsDesc, prometheus.GaugeValue, float64(c.Findings[k]), k)
	}
	if c.LastRun != nil {
		ch <- prometheus.MustNewConstMetric(selfCheckLastRunDesc, prometheus.GaugeValue, float64(c.LastRun.Unix()))
	}
	if c.LastSuccess != nil {
		ch <- prometheus.MustNewConstMetric(selfCheckLastSuccessDesc, prometheus.GaugeValue, float64(c.LastSuccess.Unix()))
	}
}
