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
