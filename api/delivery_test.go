package api_test

import (
	"crypto/hmac"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"go.temporal.io/sdk/client"

	"github.com/stegvis/stegvis/activities"
	"github.com/stegvis/stegvis/auth"
	"github.com/stegvis/stegvis/store"
	"github.com/stegvis/stegvis/workflows"
)

const webhookSecret = "test-secret"

// mailbox is what a real SMTP server (github.com/emersion/go-smtp) received.
type mailbox struct {
	mu   sync.Mutex
	msgs []mail
}

type mail struct {
	From string
	To   []string
	Data string
}

func (m *mailbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{box: m}, nil }

type session struct {
	box *mailbox
	cur mail
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error { s.cur.From = from; return nil }
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.To = append(s.cur.To, to)
	return nil
}
func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.Data = string(b)
	s.box.mu.Lock()
	s.box.msgs = append(s.box.msgs, s.cur)
	s.box.mu.Unlock()
	return nil
}
func (s *session) Reset()        { s.cur = mail{} }
func (s *session) Logout() error { return nil }

func (m *mailbox) to(addr string) []mail {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []mail
	for _, msg := range m.msgs {
		for _, to := range msg.To {
			if to == addr {
				out = append(out, msg)
			}
		}
	}
	return out
}

func startSMTP() (string, func(), error) {
	env.mail = &mailbox{}
	srv := smtp.NewServer(env.mail)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	go func() { _ = srv.Serve(ln) }()
	return ln.Addr().String(), func() { _ = srv.Close() }, nil
}

// webhookInbox is the municipality's system receiving signed webhooks.
type webhookInbox struct {
	mu       sync.Mutex
	received []activities.DeliveryInfo
	badSigs  int
	failNext int // answer this many requests with 503, as a system that is down
	failed   int
}

func (w *webhookInbox) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.failNext > 0 {
		w.failNext--
		w.failed++
		rw.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	if !hmac.Equal([]byte(r.Header.Get(activities.SignatureHeader)), []byte(activities.Sign(webhookSecret, body))) {
		w.badSigs++
		rw.WriteHeader(http.StatusUnauthorized)
		return
	}
	var d activities.DeliveryInfo
	_ = json.Unmarshal(body, &d)
	w.received = append(w.received, d)
}

func (w *webhookInbox) forParticipant(id string) ([]activities.DeliveryInfo, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []activities.DeliveryInfo
	for _, d := range w.received {
		if d.ParticipantID == id {
			out = append(out, d)
		}
	}
	return out, w.badSigs
}

func TestEscalationsGoOutByEmailAndSignedWebhookAtOnce(t *testing.T) {
	u := "dlv-" + participant("u")
	call(t, "PUT", "/v1/units/"+u, `{"name":"Leverans"}`)
	lead := "tl-" + u
	call(t, "PUT", "/v1/staff/"+lead, fmt.Sprintf(`{"name":"Karin Lund","email":"%s@kommun.test","unitId":%q,"role":"team_lead"}`, lead, u))
	orgUnit(t, u, "g-"+u)
	p := participant("dlv")
	env.webhook.mu.Lock()
	env.webhook.failNext, env.webhook.failed = 2, 0 // the receiving system is down at first
	env.webhook.mu.Unlock()
	call(t, "POST", "/v1/participants", fmt.Sprintf(`{"participantId":%q,"programId":"jobbgaranti","unit":%q,"referredAt":%q,"guideId":%q}`,
		p, u, time.Now().AddDate(0, 0, -30).Format(time.DateOnly), "g-"+u))

	var mails []mail
	var hooks []activities.DeliveryInfo
	var bad int
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		mails = env.mail.to(lead + "@kommun.test")
		hooks, bad = env.webhook.forParticipant(p)
		// Level 1 of the first meeting, the mapping and the plan go to the team lead;
		// the webhook gets every escalation (level 2 too).
		if len(mails) >= 3 && len(hooks) >= 5 {
			break
		}
	}
	if len(mails) != 3 {
		t.Fatalf("emails to the team lead: %d", len(mails))
	}
	for _, m := range mails {
		if !strings.Contains(m.Data, "Subject: stegvis:") || !strings.Contains(m.Data, p) || m.From != "stegvis@kommun.test" {
			t.Errorf("email: %+v", m)
		}
	}
	if len(hooks) != 5 || bad != 0 {
		t.Fatalf("webhooks: %d (bad signatures %d)", len(hooks), bad)
	}
	env.webhook.mu.Lock()
	failed := env.webhook.failed
	env.webhook.mu.Unlock()
	if failed != 2 {
		t.Fatalf("the webhook should have been retried after 2 failures, failed %d", failed)
	}
	for _, h := range hooks {
		if h.Kind != "escalation" {
			t.Errorf("a reminder went out at once: %+v", h)
		}
	}
	// The activity records the delivery after the webhook has answered: give it a moment.
	var sent int
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		err := env.store.Pool.QueryRow(t.Context(), `SELECT count(*) FROM notifications WHERE participant_id = $1 AND webhook_sent_at IS NOT NULL`, p).Scan(&sent)
		if err == nil && sent == 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery recorded for %d notifications: %v", sent, err)
		}
	}
}

func TestTheDailyDigestSendsEachGuideOneEmailWithTheirDay(t *testing.T) {
	u := "dig-" + participant("u")
	call(t, "PUT", "/v1/units/"+u, `{"name":"Digest"}`)
	guide := "g-" + u
	call(t, "PUT", "/v1/staff/"+guide, fmt.Sprintf(`{"name":"Anna Berg","email":"%s@kommun.test","unitId":%q,"role":"guide"}`, guide, u))
	a, b := participant("dg"), participant("dg")
	for _, p := range []string{a, b} {
		call(t, "POST", "/v1/participants", fmt.Sprintf(`{"participantId":%q,"programId":"jobbgaranti","unit":%q,"referredAt":%q,"guideId":%q}`,
			p, u, time.Now().AddDate(0, 0, -30).Format(time.DateOnly), guide))
		caughtUp(t, p)
	}
	c := env.temporal.GetDefaultClient()
	// Twice: the second call updates the existing schedule.
	for range 2 {
		if err := workflows.EnsureDigestSchedule(t.Context(), c, 7, 30); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.ScheduleClient().GetHandle(t.Context(), workflows.DigestScheduleID).Trigger(t.Context(), client.ScheduleTriggerOptions{}); err != nil {
		t.Fatal(err)
	}
	var mails []mail
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if mails = env.mail.to(guide + "@kommun.test"); len(mails) > 0 {
			break
		}
	}
	if len(mails) != 1 {
		t.Fatalf("digests to the guide: %d", len(mails))
	}
	// Both participants' first meeting, mapping and plan are overdue: six lines, one email.
	m := mails[0].Data
	if !strings.Contains(m, "Subject: stegvis: 6 overdue") || !strings.Contains(m, a) || !strings.Contains(m, b) {
		t.Fatalf("digest:\n%s", m)
	}
}

// An escalation whose recipient's address cannot be used (a line break in it, saved
// before addresses were checked) fails for good at once: the inbox shows the failure,
// the webhook still goes out, and an admin marks it handled, audited.
func TestAPermanentDeliveryFailureShowsInTheInboxAndAnAdminMarksItHandled(t *testing.T) {
	u := "dlf-" + participant("u")
	call(t, "PUT", "/v1/units/"+u, `{"name":"Leverans"}`)
	lead := "tl-" + u
	// Straight into the store: the API refuses such an address.
	if err := env.store.UpsertStaff(t.Context(), store.Staff{StaffID: lead, Name: "Karin Lund", Email: lead + "@kommun.test\r\nBcc: x@kommun.test",
		UnitID: u, Role: "team_lead", Active: true}); err != nil {
		t.Fatal(err)
	}
	guide, manager := "g-"+u, "um-"+u
	for _, st := range []store.Staff{
		{StaffID: guide, Name: "Anna Berg", Email: guide + "@kommun.test", UnitID: u, Role: "guide", ReportsTo: lead, Active: true},
		{StaffID: manager, Name: "Maria Holm", Email: manager + "@kommun.test", UnitID: u, Role: "unit_manager", Active: true},
	} {
		if err := env.store.UpsertStaff(t.Context(), st); err != nil {
			t.Fatal(err)
		}
	}
	p := participant("dlf")
	if r := call(t, "POST", "/v1/participants", fmt.Sprintf(`{"participantId":%q,"programId":"demo","unit":%q,"referredAt":%q,"guideId":%q}`,
		p, u, time.Now().Add(-10*time.Minute).Format(time.RFC3339), guide)); r.status != http.StatusCreated {
		t.Fatalf("refer: %d %s", r.status, r.body)
	}

	// The demo plan's first escalation goes to the team lead.
	var item store.InboxItem
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		r := call(t, "GET", "/v1/notifications", "", as(t, lead, auth.TeamLead)...)
		var inbox struct {
			Notifications []store.InboxItem `json:"notifications"`
		}
		r.decode(t, &inbox)
		if len(inbox.Notifications) == 1 && inbox.Notifications[0].DeliveryFailed {
			item = inbox.Notifications[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the team lead's inbox shows no failed delivery: %s", r.body)
		}
	}
	if item.DeliveryFailedAt == nil || item.DeliveryFailure != "email: the recipient's address contains a line break; fix it in the org chart" {
		t.Fatalf("failure recorded as %+v", item)
	}
	if len(env.mail.to(lead+"@kommun.test")) != 0 {
		t.Fatal("an email went out to the broken address")
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var sent bool
		if err := env.store.Pool.QueryRow(t.Context(), `SELECT webhook_sent_at IS NOT NULL FROM notifications WHERE number = $1`, item.Number).Scan(&sent); err == nil && sent {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the webhook was not sent for the notification whose email failed")
		}
	}

	path := fmt.Sprintf("/v1/admin/deliveries/%d/handled", item.Number)
	if r := call(t, "POST", path, "", as(t, lead, auth.TeamLead)...); r.status != http.StatusForbidden {
		t.Fatalf("a team lead marking it handled: %d %s", r.status, r.body)
	}
	r := call(t, "POST", path, "", as(t, "admin-eva", auth.Admin)...)
	var handled store.InboxItem
	r.decode(t, &handled)
	if r.status != http.StatusOK || handled.DeliveryHandledBy != "admin-eva" || handled.DeliveryHandledAt == nil || !handled.DeliveryFailed {
		t.Fatalf("mark handled: %d %s", r.status, r.body)
	}
	r = call(t, "POST", path, "", as(t, "admin-olle", auth.Admin)...)
	var again store.InboxItem
	r.decode(t, &again)
	if r.status != http.StatusOK || again.DeliveryHandledBy != "admin-eva" || !again.DeliveryHandledAt.Equal(*handled.DeliveryHandledAt) {
		t.Fatalf("marking it again should keep the first: %d %s", r.status, r.body)
	}
	if r := call(t, "POST", "/v1/admin/deliveries/999999999/handled", "", as(t, "admin-eva", auth.Admin)...); r.status != http.StatusNotFound {
		t.Fatalf("unknown notification: %d %s", r.status, r.body)
	}
	if r := call(t, "POST", "/v1/admin/deliveries/x/handled", "", as(t, "admin-eva", auth.Admin)...); r.status != http.StatusBadRequest {
		t.Fatalf("bad number: %d %s", r.status, r.body)
	}
	// The second escalation reached the unit manager: nothing to handle.
	var levelTwo int64
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		err := env.store.Pool.QueryRow(t.Context(), `SELECT number FROM notifications WHERE participant_id = $1 AND level = 2 AND recipient_id = $2`,
			p, manager).Scan(&levelTwo)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no second escalation to %s: %v", manager, err)
		}
	}
	r = call(t, "POST", fmt.Sprintf("/v1/admin/deliveries/%d/handled", levelTwo), "", as(t, "admin-eva", auth.Admin)...)
	if r.status != http.StatusConflict || !strings.Contains(r.apiError(t).Message, "no delivery failure") {
		t.Fatalf("a notification without a failure: %d %s", r.status, r.body)
	}
	entries, err := env.store.AuditFor(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	var audited int
	for _, e := range entries {
		if e.Action == "POST /v1/admin/deliveries/:number/handled" && e.Actor == "admin-eva" && e.Outcome == "allowed" {
			audited++
		}
	}
	if audited != 1 {
		t.Fatalf("marking handled audited %d times for admin-eva: %+v", audited, entries)
	}
}

// An admin resolves a participant's failed read-model writes: they leave the
// self-check, the resolution is audited, and a second call finds nothing to resolve.
func TestAnAdminResolvesAParticipantsJournalWriteFailures(t *testing.T) {
	ctx := t.Context()
	p := "jwf-" + fmt.Sprint(time.Now().UnixNano())
	if _, err := env.store.Pool.Exec(ctx, `INSERT INTO journal_write_failures (participant_id, journey_id, first_seq, last_seq, reason)
		VALUES ($1, 'run-1', 3, 4, 'SQLSTATE 22021'), ($1, 'run-1', 7, 7, 'SQLSTATE 22021'), ('jwf-someone-else', 'run-2', 1, 1, 'SQLSTATE 22021')`, p); err != nil {
		t.Fatal(err)
	}
	path := "/v1/admin/journal-failures/" + p + "/resolved"
	if r := call(t, "POST", path, "", as(t, "um-x", auth.UnitManager)...); r.status != http.StatusForbidden {
		t.Fatalf("a unit manager resolving: %d %s", r.status, r.body)
	}
	r := call(t, "POST", path, "", as(t, "admin-eva", auth.Admin)...)
	var got struct {
		ParticipantID string `json:"participantId"`
		Resolved      int    `json:"resolved"`
	}
	r.decode(t, &got)
	if r.status != http.StatusOK || got.ParticipantID != p || got.Resolved != 2 {
		t.Fatalf("resolve: %d %s", r.status, r.body)
	}
	var open int
	if err := env.store.Pool.QueryRow(ctx, `SELECT count(*) FROM journal_write_failures WHERE participant_id = ANY($1) AND resolved_at IS NULL`,
		[]string{p, "jwf-someone-else"}).Scan(&open); err != nil || open != 1 {
		t.Fatalf("unresolved after resolving %s: %d (want only the other participant's 1), %v", p, open, err)
	}
	if r := call(t, "POST", path, "", as(t, "admin-eva", auth.Admin)...); r.status != http.StatusNotFound ||
		!strings.Contains(r.apiError(t).Message, "no unresolved journal write failures") {
		t.Fatalf("resolving again: %d %s", r.status, r.body)
	}
	entries, err := env.store.AuditFor(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	var audited int
	for _, e := range entries {
		if e.Action == "POST /v1/admin/journal-failures/:id/resolved" && e.Actor == "admin-eva" && e.Outcome == "allowed" {
			audited++
		}
	}
	if audited != 1 {
		t.Fatalf("resolving audited %d times: %+v", audited, entries)
	}
}
