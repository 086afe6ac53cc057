package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// SideEffects counts what the journey's side effects did: notifications written,
// deliveries sent and failed, read-model writes that failed, and how late notices were
// written. It implements activities.SideEffectMetrics. Labels are fixed, small sets;
// never a participant or staff id.
type SideEffects struct {
	written          *prometheus.CounterVec
	sent             *prometheus.CounterVec
	deliveryFailures *prometheus.CounterVec
	journalFailures  *prometheus.CounterVec
	lateness         prometheus.Histogram
}

// NewSideEffects registers the side-effect metrics.
func (r *Registry) NewSideEffects() *SideEffects {
	m := &SideEffects{
		written: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stegvis_notifications_written_total",
			Help: "Notifications written to the inbox, by kind (reminder, due, escalation, attendance).",
		}, []string{"kind"}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stegvis_deliveries_sent_total",
			Help: "Notifications delivered, by channel (email, webhook).",
		}, []string{"channel"}),
		deliveryFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stegvis_delivery_failures_total",
			Help: "Failed delivery attempts, by channel and class: transient ones are retried, permanent ones are recorded on the notification for an admin.",
		}, []string{"channel", "class"}),
		journalFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stegvis_journal_write_failures_total",
			Help: "Failed read-model writes (journey events and notifications), by class: transient ones are retried, permanent ones are recorded in journal_write_failures.",
		}, []string{"class"}),
		lateness: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "stegvis_notice_lateness_seconds",
			Help:    "When a notice was written minus when it was planned.",
			Buckets: NoticeLatenessBuckets, // the alert on late notices reads le="900"
		}),
	}
	r.MustRegister(m.written, m.sent, m.deliveryFailures, m.journalFailures, m.lateness)
	// Every label value present from the start, so that rates and alerts see 0, not nothing.
	for _, k := range []string{"reminder", "due", "escalation", "attendance"} {
		m.written.WithLabelValues(k)
	}
	for _, ch := range []string{"email", "webhook"} {
		m.sent.WithLabelValues(ch)
		for _, c := range []string{"permanent", "transient"} {
			m.deliveryFailures.WithLabelValues(ch, c)
		}
	}
	for _, c := range []string{"permanent", "transient"} {
		m.journalFailures.WithLabelValues(c)
	}
	return m
}

// NotificationWritten counts a written notice and how late it was.
func (m *SideEffects) NotificationWritten(kind string, lateness time.Duration) {
	if m == nil {
		return
	}
	m.written.WithLabelValues(kind).Inc()
	m.lateness.Observe(max(lateness, 0).Seconds())
}

// DeliverySent counts a delivery by a channel.
func (m *SideEffects) DeliverySent(channel string) {
	if m == nil {
		return
	}
	m.sent.WithLabelValues(channel).Inc()
}

// DeliveryFailed counts a failed delivery attempt.
func (m *SideEffects) DeliveryFailed(channel, class string) {
	if m == nil {
		return
	}
	m.deliveryFailures.WithLabelValues(channel, class).Inc()
}

// JournalWriteFailed counts a failed read-model write.
func (m *SideEffects) JournalWriteFailed(class string) {
	if m == nil {
		return
	}
	m.journalFailures.WithLabelValues(class).Inc()
}
