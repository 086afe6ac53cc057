package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/server/temporaltest"

	"github.com/stegvis/stegvis/activities"
	"github.com/stegvis/stegvis/metrics"
	"github.com/stegvis/stegvis/program"
	"github.com/stegvis/stegvis/store"
	"github.com/stegvis/stegvis/store/storetest"
	"github.com/stegvis/stegvis/worker"
	"github.com/stegvis/stegvis/workflows"
)

// TestSideEffectFaultsNeverStopTheClock drives journeys on the demo programme (a plan
// due 3 minutes after the referral: a reminder at 2, "due" at 3, escalations to the
// team lead at 4 and to the unit manager at 5) through each fault a side effect can
// meet, all at once, on a real Temporal server, real PostgreSQL, a real SMTP server and
// a real HTTP webhook receiver. Each journey's referral is backdated so that its
// notices fall where its fault is (minutes from the start of the journeys, T0):
//
//	fault-smtp     referred T0-3:30  due -0:30  esc 0:30, 1:30   SMTP down 0:15–2:15
//	fault-550      referred T0-2:15  due  0:45  esc 1:45, 2:45   the team lead's address answers 550
//	fault-webhook  referred T0-2:45  due  0:15  esc 1:15, 2:15   its first webhook answers 500
//	fault-nul      referred T0-1:00  due  2:00  esc 3:00, 4:00   a NUL in the referral's unit
//	fault-nulplan  referred T0-1:00  (a plan with a NUL recorded at once: no notices)
//	fault-pg       referred T0       due  3:00  esc 4:00, 5:00   PostgreSQL stopped 3:30–4:30
//
// PostgreSQL is really stopped for that minute (pg_ctl stop -m fast, then pg_ctl start
// on the same port and data), on a server of the test's own (storetest.NewServer): the
// system PostgreSQL serves other tests at the same time and stays up. The whole store
// (the worker's, the org chart, the assertions) is on that server, and the test reads
// nothing from it while it is down.
//
// It proves that every notice is written once and on time: within a minute of its
// planned time (or of the journey's start, for one planned before it), and one
// planned during the PostgreSQL outage within a minute after the outage; that
// deliveries are made once each, after the fault has passed, or recorded as failed
// for good when they cannot succeed; and that read-model writes PostgreSQL refuses are
// recorded and do not stop the journey.
func TestSideEffectFaultsNeverStopTheClock(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about six minutes")
	}
	ctx := context.Background()
	pg := storetest.NewServer(t) // a PostgreSQL of the test's own, to stop and start
	st, err := store.Open(ctx, pg.URL("stegvis"), true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)

	mail := &faultMailbox{reject: map[string]bool{"tl-550@kommun.test": true}}
	smtpAddr := mail.listen(t, "127.0.0.1:0")
	t.Cleanup(mail.close)
	hooks := &faultWebhook{failFirst: map[string]bool{"fault-webhook/1": true}}
	hookSrv := httptest.NewServer(hooks)
	t.Cleanup(hookSrv.Close)

	// The org chart: each journey's unit has a team lead and a unit manager with email.
	for _, u := range []string{"smtp", "550", "webhook", "nul", "nulplan", "pg"} {
		unit := "u-" + u
		if err := st.UpsertUnit(ctx, store.Unit{UnitID: unit, Name: "Unit " + u, Active: true}); err != nil {
			t.Fatal(err)
		}
		for _, role := range []string{"team_lead", "unit_manager"} {
			id := map[string]string{"team_lead": "tl-", "unit_manager": "um-"}[role] + u
			if err := st.UpsertStaff(ctx, store.Staff{StaffID: id, Name: "Staff " + id, Email: id + "@kommun.test", UnitID: unit, Role: role, Active: true}); err != nil {
				t.Fatal(err)
			}
		}
	}

	reg := metrics.New()
	acts := &activities.Activities{Notifications: st, Journal: st, Directory: st, Delivery: &activities.Delivery{
		Store:   st,
		Mail:    activities.Mail{Addr: smtpAddr, From: "stegvis@kommun.test"},
		Webhook: activities.Webhook{URL: hookSrv.URL, Secret: "s", Client: &http.Client{Timeout: 10 * time.Second}},
	}, Metrics: reg.NewSideEffects()}
	ts := temporaltest.NewServer(temporaltest.WithT(t))
	w := ts.NewWorker(workflows.TaskQueue, func(r sdkworker.Registry) { worker.Register(r, acts) })
	t.Cleanup(w.Stop)
	c := ts.GetDefaultClient()

	demo, ok := program.Lookup("demo")
	if !ok {
		t.Fatal("no demo programme")
	}
	t0 := time.Now()
	started := map[string]time.Time{}
	start := func(p, unit string, referredAgo time.Duration) {
		in := workflows.JourneyInput{Program: demo, Start: workflows.StartJourney{
			ParticipantID: p, ProgramID: "demo", Unit: unit, ReferredAt: t0.Add(-referredAgo), GuideID: "g-" + p}}
		started[p] = time.Now()
		if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.JourneyWorkflowID(p), TaskQueue: workflows.TaskQueue},
			workflows.JourneyWorkflowType, in); err != nil {
			t.Fatal(err)
		}
	}
	start("fault-smtp", "u-smtp", 3*time.Minute+30*time.Second)
	start("fault-550", "u-550", 2*time.Minute+15*time.Second)
	start("fault-webhook", "u-webhook", 2*time.Minute+45*time.Second)
	// Free text that slipped past validation: started with the SDK, not through the API.
	start("fault-nul", "u-nul\x00x", time.Minute)
	start("fault-nulplan", "u-nulplan", time.Minute)
	start("fault-pg", "u-pg", 0)
	planRejected := false
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: workflows.JourneyWorkflowID("fault-nulplan"),
		UpdateName: workflows.UpdateRecordPlan, WaitForStage: client.WorkflowUpdateStageCompleted,
		Args: []any{workflows.Plan{SignedAt: t0.Add(-time.Second), MainActivity: "work training\x00x",
			WeeklySchedule: []workflows.ScheduleSlot{{Day: "monday", From: "09:00", To: "12:00"}},
			SubGoals:       []string{"write a CV"}, FollowUpAt: t0.AddDate(0, 0, 14)}}})
	if err == nil {
		err = h.Get(ctx, nil)
	}
	if err != nil {
		// Validation inside the workflow refusing it is as good: nothing is stuck.
		if !strings.Contains(err.Error(), "mainActivity") {
			t.Fatalf("record a plan with a NUL: %v", err)
		}
		planRejected = true
		t.Logf("the journey refused the plan with a NUL itself: %v", err)
	}

	// The faults, on the clock.
	var (
		mu                 sync.Mutex
		smtpBackAt         time.Time
		pgDownAt, pgBackAt time.Time
		faults             sync.WaitGroup
		smtpDownAt         time.Time
		at                 = func(d time.Duration) { time.Sleep(time.Until(t0.Add(d))) }
	)
	faults.Add(2)
	go func() {
		defer faults.Done()
		at(15 * time.Second)
		mail.close()
		mu.Lock()
		smtpDownAt = time.Now()
		mu.Unlock()
		at(2*time.Minute + 15*time.Second)
		mail.listen(t, smtpAddr) // the same port
		mu.Lock()
		smtpBackAt = time.Now()
		mu.Unlock()
	}()
	go func() {
		defer faults.Done()
		at(3*time.Minute + 30*time.Second)
		if err := pg.Stop(); err != nil {
			t.Errorf("stop PostgreSQL: %v", err)
		}
		mu.Lock()
		pgDownAt = time.Now()
		mu.Unlock()
		at(4*time.Minute + 30*time.Second)
		if err := pg.Start(); err != nil {
			t.Errorf("start PostgreSQL again: %v", err)
		}
		mu.Lock()
		pgBackAt = time.Now()
		mu.Unlock()
	}()

	// What each journey must write, worked out by hand from the table above: the demo
	// plan's reminder, due notice and two escalations, less a reminder that a later
	// notice already overtook when the journey started.
	all := []string{"plan/reminder/0", "plan/due/0", "plan/escalation/1", "plan/escalation/2"}
	expected := map[string][]string{
		"fault-smtp":    all[1:], // the reminder at T0-1:30 is overtaken by the due notice at T0-0:30
		"fault-550":     all,
		"fault-webhook": all,
		"fault-nul":     all,
		"fault-pg":      all,
		"fault-nulplan": nil, // the plan is met
	}

	faults.Wait() // PostgreSQL is back: the test reads it from here on
	// Wait for the last notice (5:00) and the deliveries after it.
	done := func() (bool, string) {
		var missing, undelivered int
		for p, want := range expected {
			var n int
			if err := st.Pool.QueryRow(ctx, `SELECT count(*) FROM notifications WHERE participant_id = $1`, p).Scan(&n); err != nil {
				return false, err.Error()
			}
			missing += len(want) - n
		}
		err := st.Pool.QueryRow(ctx, `SELECT count(*) FROM notifications WHERE kind = 'escalation'
			AND (webhook_sent_at IS NULL OR (email_sent_at IS NULL AND delivery_failed_at IS NULL AND recipient_id IS NOT NULL))`).Scan(&undelivered)
		if err != nil {
			return false, err.Error()
		}
		return missing <= 0 && undelivered == 0, fmt.Sprintf("%d notices missing, %d escalations undelivered", missing, undelivered)
	}
	for limit := t0.Add(8 * time.Minute); ; time.Sleep(time.Second) {
		ok, why := done()
		if ok {
			break
		}
		if time.Now().After(limit) {
			t.Fatalf("8 minutes after the start: %s", why)
		}
	}
	t.Logf("SMTP down %s–%s, PostgreSQL stopped %s–%s (from T0)", smtpDownAt.Sub(t0).Round(time.Second), smtpBackAt.Sub(t0).Round(time.Second),
		pgDownAt.Sub(t0).Round(time.Second), pgBackAt.Sub(t0).Round(time.Second))

	// Every notice once, on time.
	const tolerance = time.Minute
	type row struct {
		id, participant, key, recipient, failure string
		planned, created                         time.Time
		emailAt, webhookAt, failedAt             *time.Time
		unit                                     string
	}
	rows, err := st.Pool.Query(ctx, `SELECT id, participant_id, deadline_id || '/' || kind || '/' || level, coalesce(recipient_id, ''),
		coalesce(delivery_failure, ''), planned_at, created_at, email_sent_at, webhook_sent_at, delivery_failed_at, unit
		FROM notifications ORDER BY participant_id, planned_at`)
	if err != nil {
		t.Fatal(err)
	}
	var got []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.participant, &r.key, &r.recipient, &r.failure, &r.planned, &r.created, &r.emailAt, &r.webhookAt, &r.failedAt, &r.unit); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	byKey := map[string]row{}
	ids := map[string]bool{}
	for _, r := range got {
		k := r.participant + " " + r.key
		if _, dup := byKey[k]; dup {
			t.Errorf("%s written twice", k)
		}
		if ids[r.id] {
			t.Errorf("notification %s written twice", r.id)
		}
		byKey[k], ids[r.id] = r, true
		due := r.planned
		if s := started[r.participant]; due.Before(s) {
			due = s // planned before the journey started: written when it starts
		}
		if !r.planned.Before(pgDownAt) && !r.planned.After(pgBackAt) {
			due = pgBackAt // planned while PostgreSQL was stopped: written once it is back
		}
		t.Logf("%-14s %-18s planned T0%+4.0fs written T0%+4.0fs", r.participant, r.key, r.planned.Sub(t0).Seconds(), r.created.Sub(t0).Seconds())
		if r.created.Before(r.planned.Add(-2*time.Second)) || r.created.After(due.Add(tolerance)) {
			t.Errorf("%s planned %s (T0%+v) was written at T0%+v; expected by T0%+v",
				k, r.planned.Format(time.TimeOnly), r.planned.Sub(t0).Round(time.Second), r.created.Sub(t0).Round(time.Second), due.Add(tolerance).Sub(t0).Round(time.Second))
		}
	}
	for p, want := range expected {
		for _, k := range want {
			if _, ok := byKey[p+" "+k]; !ok {
				t.Errorf("%s %s was never written", p, k)
			}
		}
		var n int
		for _, r := range got {
			if r.participant == p {
				n++
			}
		}
		if n != len(want) {
			t.Errorf("%s: %d notices written, want %d", p, n, len(want))
		}
	}

	// SMTP 550: recorded on the notification as failed for good, no personal data; the
	// webhook went out all the same, and the next level was delivered by email.
	bad := byKey["fault-550 plan/escalation/1"]
	if bad.failedAt == nil || !strings.HasPrefix(bad.failure, "email: SMTP 550") || bad.emailAt != nil || bad.webhookAt == nil {
		t.Errorf("the 550 should be recorded on the notification with the webhook still sent: %+v", bad)
	}
	if strings.Contains(bad.failure, "@") {
		t.Errorf("the recorded failure holds an address: %q", bad.failure)
	}
	if n := len(mail.to("tl-550@kommun.test")); n != 0 {
		t.Errorf("the refused address got %d emails", n)
	}
	if r := byKey["fault-550 plan/escalation/2"]; r.emailAt == nil || r.failedAt != nil || len(mail.to("um-550@kommun.test")) != 1 {
		t.Errorf("the unit manager's escalation after the 550 should be emailed once: %+v, %d emails", r, len(mail.to("um-550@kommun.test")))
	}

	// SMTP down for two minutes: both escalations emailed once, after it was back.
	for _, to := range []string{"tl-smtp@kommun.test", "um-smtp@kommun.test"} {
		got := mail.to(to)
		if len(got) != 1 {
			t.Errorf("%s got %d emails, want 1", to, len(got))
			continue
		}
		if got[0].at.Before(smtpBackAt) {
			t.Errorf("%s got an email at T0%+v while the server was down", to, got[0].at.Sub(t0))
		}
	}

	// The webhook: every escalation delivered once; the one that got a 500 was retried.
	var escalations int
	for _, r := range got {
		if !strings.Contains(r.key, "escalation") {
			continue
		}
		escalations++
		if n := hooks.delivered(r.id); n != 1 || r.webhookAt == nil {
			t.Errorf("%s %s: webhook delivered %d times (recorded: %v)", r.participant, r.key, n, r.webhookAt != nil)
		}
	}
	if escalations != 10 {
		t.Errorf("%d escalations written, want 10", escalations)
	}
	if n := hooks.failures("fault-webhook/1"); n != 1 {
		t.Errorf("the webhook answered 500 %d times, want 1", n)
	}
	// Every email once: nobody got the same notice twice.
	for _, m := range mail.all() {
		if n := len(mail.matching(m.to, m.subject)); n != 1 {
			t.Errorf("%s got %q %d times", m.to, m.subject, n)
		}
	}

	// The NUL: recorded as a journal write failure, and the read model kept up with the
	// text cleaned (the journey's unit without the NUL, its plan at escalation level 2).
	var failures int
	if err := st.Pool.QueryRow(ctx, `SELECT count(*) FROM journal_write_failures
		WHERE participant_id = 'fault-nul' AND reason LIKE '%SQLSTATE 22%' AND reason NOT LIKE '%u-nul%'`).Scan(&failures); err != nil {
		t.Fatal(err)
	}
	if failures == 0 {
		t.Error("the NUL in fault-nul's unit was not recorded in journal_write_failures")
	}
	var unit string
	var level int
	if err := st.Pool.QueryRow(ctx, `SELECT p.unit, d.escalation_level FROM participants p JOIN deadlines d USING (participant_id)
		WHERE p.participant_id = 'fault-nul' AND d.deadline_id = 'plan'`).Scan(&unit, &level); err != nil {
		t.Fatalf("fault-nul in the read model: %v", err)
	}
	if unit != "u-nulx" || level != 2 {
		t.Errorf("fault-nul in the read model: unit %q, escalation level %d; want u-nulx, 2", unit, level)
	}
	for _, r := range got {
		if r.participant == "fault-nul" && r.unit != "u-nulx" {
			t.Errorf("fault-nul's %s written with unit %q", r.key, r.unit)
		}
	}
	if !planRejected {
		var phase string
		var planFailures int
		if err := st.Pool.QueryRow(ctx, `SELECT phase FROM participants WHERE participant_id = 'fault-nulplan'`).Scan(&phase); err != nil || phase != "active" {
			t.Errorf("fault-nulplan in the read model: phase %q (%v); want active", phase, err)
		}
		if err := st.Pool.QueryRow(ctx, `SELECT count(*) FROM journal_write_failures WHERE participant_id = 'fault-nulplan'`).Scan(&planFailures); err != nil || planFailures == 0 {
			t.Errorf("the NUL in fault-nulplan's plan was not recorded (%d, %v)", planFailures, err)
		}
	}

	// And the metrics saw it.
	want := map[string]float64{
		`stegvis_delivery_failures_total{channel="email",class="permanent"}`:   1,
		`stegvis_journal_write_failures_total{class="permanent"}`:              1,
		`stegvis_notifications_written_total{kind="escalation"}`:               10,
		`stegvis_delivery_failures_total{channel="webhook",class="permanent"}`: 0,
	}
	for name, min := range want {
		v, ok := gathered(t, reg, name)
		if !ok || v < min || (min == 0 && v != 0) {
			t.Errorf("%s = %v (present %v), want %v", name, v, ok, min)
		}
	}
}

// gathered reads one sample from a registry, by its name and labels as Prometheus
// writes them.
func gathered(t *testing.T, reg *metrics.Registry, sample string) (float64, bool) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			name := f.GetName()
			if len(labels) > 0 {
				name += "{" + strings.Join(labels, ",") + "}"
			}
			if name == sample {
				return m.GetCounter().GetValue(), true
			}
		}
	}
	return 0, false
}

// faultMailbox is a real SMTP server (github.com/emersion/go-smtp) that can be taken
// down and brought back on the same port, and that refuses some recipients with 550.
type faultMailbox struct {
	reject map[string]bool
	mu     sync.Mutex
	srv    *smtp.Server
	msgs   []faultMail
}

type faultMail struct {
	to, subject string
	at          time.Time
}

func (m *faultMailbox) listen(t *testing.T, addr string) string {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Errorf("SMTP listen on %s: %v", addr, err)
		return ""
	}
	srv := smtp.NewServer(m)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	m.mu.Lock()
	m.srv = srv
	m.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
	return ln.Addr().String()
}

func (m *faultMailbox) close() {
	m.mu.Lock()
	srv := m.srv
	m.srv = nil
	m.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

func (m *faultMailbox) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &faultSession{box: m}, nil
}

func (m *faultMailbox) to(addr string) []faultMail {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []faultMail
	for _, msg := range m.msgs {
		if msg.to == addr {
			out = append(out, msg)
		}
	}
	return out
}

func (m *faultMailbox) matching(to, subject string) []faultMail {
	var out []faultMail
	for _, msg := range m.to(to) {
		if msg.subject == subject {
			out = append(out, msg)
		}
	}
	return out
}

func (m *faultMailbox) all() []faultMail {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]faultMail(nil), m.msgs...)
}

type faultSession struct {
	box *faultMailbox
	to  []string
}

func (s *faultSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *faultSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.box.reject[to] {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "mailbox " + to + " unavailable"}
	}
	s.to = append(s.to, to)
	return nil
}
func (s *faultSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	var subject string
	for _, line := range strings.Split(string(b), "\r\n") {
		if v, ok := strings.CutPrefix(line, "Subject: "); ok {
			subject = v
			break
		}
	}
	s.box.mu.Lock()
	defer s.box.mu.Unlock()
	for _, to := range s.to {
		s.box.msgs = append(s.box.msgs, faultMail{to: to, subject: subject, at: time.Now()})
	}
	return nil
}
func (s *faultSession) Reset()        { s.to = nil }
func (s *faultSession) Logout() error { return nil }

// faultWebhook receives webhooks; it answers 500 to the first request for each
// "<participant>/<level>" in failFirst, then 200.
type faultWebhook struct {
	mu        sync.Mutex
	failFirst map[string]bool
	failed    map[string]int
	ok        map[string]int // by notification id
}

func (h *faultWebhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var d activities.DeliveryInfo
	if err := json.NewDecoder(r.Body).Decode(&d); err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	key := fmt.Sprintf("%s/%d", d.ParticipantID, d.Level)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failed == nil {
		h.failed, h.ok = map[string]int{}, map[string]int{}
	}
	if h.failFirst[key] && h.failed[key] == 0 {
		h.failed[key]++
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	h.ok[d.ID]++
}

func (h *faultWebhook) delivered(id string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ok[id]
}

func (h *faultWebhook) failures(key string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.failed[key]
}
