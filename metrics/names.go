package metrics

// BusinessMetricNames is the contract between the code that defines stegvis's own
// metrics and what reads them: the alert rules (deploy/prometheus/stegvis-rules.yaml) and
// the Grafana dashboard (deploy/grafana/stegvis.json) may use only these stegvis_ names,
// and TestEveryRegisteredBusinessMetricIsInTheContract holds each name defined in this
// package to the list. A histogram's _bucket, _sum and _count series and a counter's
// name with _total are written out as they appear on /metrics.
var BusinessMetricNames = []string{
	// The read model (business.go): worked out from PostgreSQL by a collector.
	"stegvis_journeys",                        // gauge {program, unit, phase}
	"stegvis_deadlines_open",                  // gauge {kind, level}
	"stegvis_deadlines_overdue",               // gauge {kind, level}
	"stegvis_read_model_metrics_errors_total", // counter: the read-model query failed

	// Notices and their delivery.
	"stegvis_notifications_written_total",               // counter {kind}
	"stegvis_deliveries_sent_total",                     // counter {channel}
	"stegvis_delivery_failures_total",                   // counter {channel, class}
	"stegvis_journal_write_failures_total",              // counter {class}
	"stegvis_notice_lateness_seconds_bucket",            // histogram: written minus planned time
	"stegvis_notice_lateness_seconds_sum",               //
	"stegvis_notice_lateness_seconds_count",             //
	"stegvis_self_check_findings",                       // gauge {kind}
	"stegvis_self_check_last_run_timestamp_seconds",     // gauge
	"stegvis_self_check_last_success_timestamp_seconds", // gauge

	// Input.
	"stegvis_import_rows_total",      // counter {outcome}
	"stegvis_input_rejections_total", // counter {reason}

	// The HTTP API (metrics.go).
	"stegvis_http_request_duration_seconds_bucket", // histogram {method, route, status}
	"stegvis_http_request_duration_seconds_sum",
	"stegvis_http_request_duration_seconds_count",
}

// NoticeLatenessBuckets are the buckets of stegvis_notice_lateness_seconds. The alert on
// notices later than 15 minutes reads the 900 s bucket, so 900 must stay one of them.
var NoticeLatenessBuckets = []float64{1, 5, 15, 60, 300, 900, 3600, 21600}

// TemporalSDKMetricNames are the Temporal Go SDK's metrics that the rules and the
// dashboard use, as the SDK emits them through TemporalHandler: its names
// (go.temporal.io/sdk internal/common/metrics/constants.go) with the Prometheus naming
// scope's suffixes (_total for counters, _seconds for timers), and timers reported as
// summaries (tally's default), so a latency has quantile series, _sum and _count.
var TemporalSDKMetricNames = []string{
	"temporal_workflow_task_schedule_to_start_latency_seconds",
	"temporal_workflow_task_schedule_to_start_latency_seconds_count",
	"temporal_workflow_task_schedule_to_start_latency_seconds_sum",
	"temporal_activity_schedule_to_start_latency_seconds",
	"temporal_activity_schedule_to_start_latency_seconds_count",
	"temporal_activity_schedule_to_start_latency_seconds_sum",
	"temporal_worker_task_slots_available",
	"temporal_activity_execution_failed_total",
	"temporal_workflow_task_execution_failed_total",
	"temporal_request_failure_total",
	"temporal_long_request_failure_total",
}
