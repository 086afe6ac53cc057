package metrics

import "github.com/prometheus/client_golang/prometheus"

// Input counts what the API refused and how the rows of a caseload import fared.
// A nil *Input records nothing.
type Input struct {
	// ImportRows is stegvis_import_rows_total{outcome}: started, already_there or
	// rejected, counted on requests the importer marks with its header.
	ImportRows *prometheus.CounterVec
	// Rejections is stegvis_input_rejections_total{reason}: control_character,
	// invalid_utf8, invalid_id, invalid_email, invalid_value (a staff member's name or
	// role) or unknown_id (an id the org chart lacks).
	Rejections *prometheus.CounterVec
}

// Import row outcomes.
const (
	ImportStarted      = "started"
	ImportAlreadyThere = "already_there"
	ImportRejected     = "rejected"
)

// NewInput registers the input counters.
func (r *Registry) NewInput() *Input {
	in := &Input{
		ImportRows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stegvis_import_rows_total",
			Help: "Rows of a caseload import (stegvis import) by outcome: started, already_there or rejected.",
		}, []string{"outcome"}),
		Rejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stegvis_input_rejections_total",
			Help: "Requests the API refused for their input, by reason: control_character, invalid_utf8, invalid_id, invalid_email, invalid_value, unknown_id.",
		}, []string{"reason"}),
	}
	for _, o := range []string{ImportStarted, ImportAlreadyThere, ImportRejected} {
		in.ImportRows.WithLabelValues(o)
	}
	for _, reason := range []string{"control_character", "invalid_utf8", "invalid_id", "invalid_email", "invalid_value", "unknown_id"} {
		in.Rejections.WithLabelValues(reason)
	}
	r.MustRegister(in.ImportRows, in.Rejections)
	return in
}

// ImportRow counts one import row's outcome.
func (in *Input) ImportRow(outcome string) {
	if in != nil {
		in.ImportRows.WithLabelValues(outcome).Inc()
	}
}

// Rejected counts one refused request by reason.
func (in *Input) Rejected(reason string) {
	if in != nil {
		in.Rejections.WithLabelValues(reason).Inc()
	}
}
