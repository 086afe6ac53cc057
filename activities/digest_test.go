package activities_test

import (
	"context"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"

	"github.com/stegvis/stegvis/activities"
)

// digestMail is a real SMTP server (github.com/emersion/go-smtp) that refuses some
// recipients for good, as a mail server does for a mailbox that is gone.
type digestMail struct {
	mu     sync.Mutex
	refuse map[string]bool
	got    []string // recipients whose message was accepted
}

func (m *digestMail) NewSession(*smtp.Conn) (smtp.Session, error) { return &digestSession{m: m}, nil }

type digestSession struct {
	m  *digestMail
	to []string
}

func (s *digestSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *digestSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.m.refuse[to] {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "mailbox unavailable"}
	}
	s.to = append(s.to, to)
	return nil
}
func (s *digestSession) Data(r io.Reader) error {
	if _, err := io.ReadAll(r); err != nil {
		return err
	}
	s.m.mu.Lock()
	s.m.got = append(s.m.got, s.to...)
	s.m.mu.Unlock()
	return nil
}
func (s *digestSession) Reset()        { s.to = nil }
func (s *digestSession) Logout() error { return nil }

func (m *digestMail) received() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.got)
}

// digestList is the day's digests, and which reminders were marked as carried.
type digestList struct {
	mu     sync.Mutex
	list   []activities.Digest
	marked []int64
}

func (d *digestList) Digests(context.Context, time.Time) ([]activities.Digest, error) {
	return d.list, nil
}
func (d *digestList) MarkDigested(_ context.Context, numbers []int64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.marked = append(d.marked, numbers...)
	return nil
}

func digestFor(staff, email string, reminder int64) activities.Digest {
	return activities.Digest{StaffID: staff, Email: email,
		Deadlines: []activities.DigestItem{{ParticipantID: "p-" + staff, DeadlineID: "plan", DueDate: "2026-12-04", Overdue: true}},
		Reminders: []activities.DigestItem{{ParticipantID: "p-" + staff, DeadlineID: "plan", DueDate: "2026-12-04", Number: reminder}}}
}

func startDigestMail(t *testing.T, m *digestMail) string {
	t.Helper()
	srv := smtp.NewServer(m)
	srv.Domain = "localhost"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// One person's address (a mailbox gone, a line break saved before addresses were
// checked) used to fail the whole morning's run: everyone after them got no digest, and
// everyone before them got it again on every retry.
func TestOneUnusableAddressDoesNotHoldBackTheOthersDigests(t *testing.T) {
	mail := &digestMail{refuse: map[string]bool{"gone@kommun.test": true}}
	addr := startDigestMail(t, mail)
	store := &digestList{list: []activities.Digest{
		digestFor("g-anna", "anna@kommun.test", 1),
		digestFor("g-gone", "gone@kommun.test", 2),
		digestFor("g-crlf", "crlf@kommun.test\r\nBcc: x@kommun.test", 3),
		digestFor("g-karim", "karim@kommun.test", 4),
	}}
	acts := &activities.Activities{Digests: store, Delivery: &activities.Delivery{Mail: activities.Mail{Addr: addr, From: "stegvis@kommun.test"}}}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivityWithOptions(acts.SendDigests, activity.RegisterOptions{Name: activities.SendDigestsName})
	v, err := env.ExecuteActivity(activities.SendDigestsName, time.Date(2026, 12, 4, 7, 30, 0, 0, time.UTC))
	if err != nil {
		t.Fatalf("the run failed for one person's address: %v", err)
	}
	var res activities.DigestResult
	if err := v.Get(&res); err != nil {
		t.Fatal(err)
	}
	if res.Sent != 2 || res.Failed != 2 {
		t.Errorf("result %+v, want 2 sent and 2 refused for good", res)
	}
	if got := mail.received(); !slices.Equal(got, []string{"anna@kommun.test", "karim@kommun.test"}) {
		t.Errorf("digests received by %v, want anna and karim", got)
	}
	// The refused ones' reminders wait for tomorrow's digest.
	if !slices.Equal(store.marked, []int64{1, 4}) {
		t.Errorf("reminders marked as carried: %v, want 1 and 4", store.marked)
	}
}

// A retry after the mail server went away goes on after those who already had theirs.
func TestARetriedDigestRunSendsNobodyTheirDigestTwice(t *testing.T) {
	mail := &digestMail{}
	addr := startDigestMail(t, mail)
	store := &digestList{list: []activities.Digest{digestFor("g-anna", "anna@kommun.test", 1), digestFor("g-karim", "karim@kommun.test", 2)}}
	acts := &activities.Activities{Digests: store, Delivery: &activities.Delivery{Mail: activities.Mail{Addr: addr, From: "stegvis@kommun.test"}}}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivityWithOptions(acts.SendDigests, activity.RegisterOptions{Name: activities.SendDigestsName})
	// What the failed attempt's heartbeat carried: g-anna had hers.
	env.SetHeartbeatDetails(map[string]any{"handled": []string{"g-anna"}, "sent": 1})
	v, err := env.ExecuteActivity(activities.SendDigestsName, time.Date(2026, 12, 4, 7, 30, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	var res activities.DigestResult
	if err := v.Get(&res); err != nil {
		t.Fatal(err)
	}
	if got := mail.received(); !slices.Equal(got, []string{"karim@kommun.test"}) || res.Sent != 2 {
		t.Errorf("the retry sent to %v (result %+v), want only karim, 2 sent in all", got, res)
	}
}

// A mail server that is down fails the run for Temporal to retry, saying what kind of
// failure it was without the server's words (which may quote an address).
func TestADigestRunFailsForRetryWhenTheMailServerIsDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	store := &digestList{list: []activities.Digest{digestFor("g-anna", "anna@kommun.test", 1)}}
	acts := &activities.Activities{Digests: store, Delivery: &activities.Delivery{Mail: activities.Mail{Addr: addr, From: "stegvis@kommun.test"}}}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivityWithOptions(acts.SendDigests, activity.RegisterOptions{Name: activities.SendDigestsName})
	_, err = env.ExecuteActivity(activities.SendDigestsName, time.Date(2026, 12, 4, 7, 30, 0, 0, time.UTC))
	if err == nil || !strings.Contains(err.Error(), "network error") || strings.Contains(err.Error(), "anna@") {
		t.Fatalf("a run with the mail server down: %v, want a retryable network error without the address", err)
	}
	var nothing []int64
	if !slices.Equal(store.marked, nothing) {
		t.Errorf("reminders marked as carried while nothing was sent: %v", store.marked)
	}
}
