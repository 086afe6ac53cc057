package web_test

// Browser tests: Chromium (headless, driven by chromedp) against the real service in
// process: PostgreSQL, an in-process Temporal server with the journey worker, the API
// and the pages, wired as `stegvis dev` wires them. People sign in by clicking their
// dev-user button on the sign-in page, as a demo user would.
//
// Every test saves full-page screenshots of its key steps in
// $BROWSER_ARTIFACTS/<test>/ (default: <repo>/test-artifacts/browser/<test>/), and
// one more of the page it was on when it failed.
//
// The environment starts once, on the first browser test that runs, and TestMain
// tears it down; tests that do not call browser() never start it.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/server/temporaltest"

	"github.com/stegvis/stegvis/activities"
	"github.com/stegvis/stegvis/api"
	"github.com/stegvis/stegvis/auth"
	"github.com/stegvis/stegvis/calendar"
	"github.com/stegvis/stegvis/logging"
	"github.com/stegvis/stegvis/metrics"
	"github.com/stegvis/stegvis/protect"
	"github.com/stegvis/stegvis/store"
	"github.com/stegvis/stegvis/store/storetest"
	"github.com/stegvis/stegvis/web"
	"github.com/stegvis/stegvis/worker"
	"github.com/stegvis/stegvis/workflows"
)

// TestMain only tears down what the first browser test started (nothing, when none ran).
func TestMain(m *testing.M) {
	code := m.Run()
	env.stop()
	os.Exit(code)
}

// The waits are generous: the machines that run this have two cores and start
// Temporal, PostgreSQL and Chromium side by side with other packages' tests. A test
// fails on them only when something hangs, never because it was slow.
const (
	setupTimeout   = 3 * time.Minute // the environment
	browserTimeout = 4 * time.Minute // one test's whole browser session
)

// env is the service the browser tests share, and the people in its org chart.
var env environment

type environment struct {
	once     sync.Once
	err      error // why it could not start
	base     string
	issuer   *auth.DevIssuer
	temporal *temporaltest.TestServer
	store    *store.Store
	logs     *syncBuffer
	system   string // the case system's token: starts journeys
	admin    string // an administrator's token: the org chart
	alloc    context.Context
	org      orgChart
	cleanup  []func() // run in reverse order by stop
}

// orgChart: unit U, whose guides A and B report to a team lead under a unit manager,
// and unit D with a manager, a team lead and two guides, for the dashboard.
type orgChart struct {
	U, D                              string
	GuideA, GuideB, LeadU             string
	ManagerU                          string
	ManagerD, LeadD, GuideD1, GuideD2 string
}

func (e *environment) stop() {
	for i := len(e.cleanup) - 1; i >= 0; i-- {
		e.cleanup[i]()
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// trouble is the last n lines written, less the requests that succeeded.
func (s *syncBuffer) trouble(n int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var lines []string
	for _, l := range strings.Split(strings.TrimRight(s.b.String(), "\n"), "\n") {
		var e struct {
			Message string `json:"message"`
			Status  int    `json:"status"`
		}
		if json.Unmarshal([]byte(l), &e) == nil && e.Message == "request" && e.Status < 400 {
			continue
		}
		lines = append(lines, l)
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// chromium is the browser binary: $CHROMIUM, else Debian's.
func chromium() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// needChromium skips the test when there is no Chromium, except on CI, where .ci/run
// installs it and its absence is a failure.
func needChromium(t *testing.T) string {
	t.Helper()
	p := chromium()
	if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("no Chromium at %s: .ci/run installs it (apt-get install chromium) before make test; "+
			"install it, or set CHROMIUM to the browser's path", p)
	}
	t.Skipf("no Chromium at %s; install it with: sudo apt-get update && sudo apt-get install -y chromium "+
		"(or set CHROMIUM to the browser's path)", p)
	return ""
}

// start brings up PostgreSQL, Temporal with the worker, the API and the pages, seeds
// the org chart, and prepares the browser's allocator. It runs once.
func start(chromiumPath string) (err error) {
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	defer func() {
		// temporaltest panics when the server cannot start.
		if r := recover(); r != nil {
			err = fmt.Errorf("starting the environment: %v", r)
		}
	}()

	st, drop, err := storetest.ForMain(ctx)
	if err != nil {
		return fmt.Errorf("PostgreSQL for the browser tests (is it running? see README): %w", err)
	}
	env.cleanup = append(env.cleanup, drop)
	env.store = st
	env.logs = &syncBuffer{}
	log, err := logging.New(env.logs, "info", logging.FormatJSON)
	if err != nil {
		return err
	}
	if env.issuer, err = auth.NewDevIssuer("https://idp.test", ""); err != nil {
		return fmt.Errorf("token issuer: %w", err)
	}
	if env.system, err = env.issuer.Mint("bw-case-system", 24*time.Hour, auth.System); err != nil {
		return err
	}
	if env.admin, err = env.issuer.Mint("bw-admin", 24*time.Hour, auth.Admin); err != nil {
		return err
	}
	keys, err := protect.ParseKeys("t1:" + protect.GenerateKey())
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}

	// Temporal in process; every client and the worker encrypt payloads, as in production.
	env.temporal = temporaltest.NewServer(temporaltest.WithBaseClientOptions(client.Options{
		DataConverter: protect.DataConverter(keys), Logger: logging.SDK(log)}))
	env.cleanup = append(env.cleanup, env.temporal.Stop)
	acts := &activities.Activities{Notifications: st, Journal: st, Directory: st, Digests: st}
	env.temporal.NewWorkerWithOptions(workflows.TaskQueue, func(r sdkworker.Registry) {
		worker.Register(r, acts)
	}, sdkworker.Options{}) // stopped by env.temporal.Stop
	reg := metrics.New()
	c := env.temporal.NewClientWithOptions(client.Options{MetricsHandler: reg.TemporalHandler(), DataConverter: protect.DataConverter(keys)})
	ns := env.temporal.GetDefaultNamespace()
	if err := workflows.RegisterSearchAttributes(ctx, c, ns, 0); err != nil {
		return fmt.Errorf("search attributes: %w", err)
	}

	// The API, and the pages on the same router, as stegvis dev serves them.
	verifier := env.issuer.Verifier()
	router := api.NewRouter(api.Deps{Temporal: c, DB: st, Log: log, Metrics: reg, Namespace: ns,
		Auth: verifier, Keys: keys, RateLimit: 1000, RateBurst: 1000})
	stamp := fmt.Sprintf("%d", time.Now().UnixNano()%1_000_000)
	o := orgChart{U: "bw-u-" + stamp, D: "bw-d-" + stamp,
		GuideA: "bw-ga-" + stamp, GuideB: "bw-gb-" + stamp, LeadU: "bw-tl-" + stamp, ManagerU: "bw-um-" + stamp,
		ManagerD: "bw-umd-" + stamp, LeadD: "bw-tld-" + stamp, GuideD1: "bw-gd1-" + stamp, GuideD2: "bw-gd2-" + stamp}
	env.org = o
	var users []auth.DevUser
	for _, u := range []auth.DevUser{
		{ID: o.GuideA, Role: auth.Guide}, {ID: o.GuideB, Role: auth.Guide}, {ID: o.LeadU, Role: auth.TeamLead},
		{ID: o.ManagerU, Role: auth.UnitManager}, {ID: o.ManagerD, Role: auth.UnitManager},
	} {
		if u.Token, err = env.issuer.Mint(u.ID, 24*time.Hour, u.Role); err != nil {
			return err
		}
		users = append(users, u)
	}
	if err := web.Mount(router, web.Options{API: router, Verify: verifier, DevUsers: users}); err != nil {
		return fmt.Errorf("web.Mount: %w", err)
	}
	srv := httptest.NewServer(router)
	env.cleanup = append(env.cleanup, srv.Close)
	env.base = srv.URL

	// The org chart, through the API as an administrator would load it.
	for _, unit := range []string{o.U, o.D} {
		if status, body := request(ctx, env.admin, "PUT", "/v1/units/"+unit, "application/json", `{"name":"Arbetsmarknad `+unit+`"}`); status != http.StatusOK {
			return fmt.Errorf("PUT unit %s: %d %s", unit, status, body)
		}
	}
	staff := "staff_id,name,email,unit_id,role,reports_to\n" +
		o.ManagerU + ",Olof Ek,," + o.U + ",unit_manager,\n" +
		o.LeadU + ",Karin Lund,," + o.U + ",team_lead," + o.ManagerU + "\n" +
		o.GuideA + ",Anna Berg,," + o.U + ",guide," + o.LeadU + "\n" +
		o.GuideB + ",Bo Dahl,," + o.U + ",guide," + o.LeadU + "\n" +
		o.ManagerD + ",Maria Sund,," + o.D + ",unit_manager,\n" +
		o.LeadD + ",Erik Holm,," + o.D + ",team_lead," + o.ManagerD + "\n" +
		o.GuideD1 + ",Lena Ström,," + o.D + ",guide," + o.LeadD + "\n" +
		o.GuideD2 + ",Nils Ros,," + o.D + ",guide," + o.LeadD + "\n"
	if status, body := request(ctx, env.admin, "POST", "/v1/staff/import", "text/csv", staff); status != http.StatusOK {
		return fmt.Errorf("staff import: %d %s", status, body)
	}

	// The browser: each test gets its own Chromium process (own profile, own cookies).
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.WindowSize(1280, 900),
	)
	env.cleanup = append(env.cleanup, cancelAlloc)
	env.alloc = alloc
	return nil
}

// request calls the API with token and returns the status and body.
func request(ctx context.Context, token, method, path, contentType, body string) (int, []byte) {
	var rdr io.Reader
	if body != "" {
		rdr = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, env.base+path, rdr)
	if err != nil {
		return 0, []byte(err.Error())
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// call is request in a test, JSON in and out; out may be nil.
func call(t *testing.T, token, method, path, body string, out any) int {
	t.Helper()
	ct := ""
	if body != "" {
		ct = "application/json"
	}
	status, b := request(t.Context(), token, method, path, ct, body)
	if out != nil && status < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
	return status
}

// tokenFor mints a token for one of the org chart's people, for API checks.
func tokenFor(t *testing.T, subject string, role auth.Role) string {
	t.Helper()
	tok, err := env.issuer.Mint(subject, time.Hour, role)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

var seq struct {
	sync.Mutex
	n int
}

// participantID is a fresh pseudonymous id, so tests never share a journey.
func participantID(prefix string) string {
	seq.Lock()
	defer seq.Unlock()
	seq.n++
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano()%1_000_000, seq.n)
}

func stockholmToday() string { return time.Now().In(calendar.Stockholm).Format(time.DateOnly) }

// startJourney starts a journey as the case system does and waits until the read
// model (which "my day" and the lists read) has caught up with it.
func startJourney(t *testing.T, id, programID, unit, referredAt, guide string) workflows.JourneyView {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"participantId": id, "programId": programID, "unit": unit,
		"referredAt": referredAt, "guideId": guide})
	var j workflows.JourneyView
	if status := call(t, env.system, "POST", "/v1/participants", string(body), &j); status != http.StatusCreated {
		t.Fatalf("start %s: %d", id, status)
	}
	caughtUp(t, id)
	return j
}

// journey reads a journey through the API as the case system.
func journey(t *testing.T, id string) workflows.JourneyView {
	t.Helper()
	var j workflows.JourneyView
	if status := call(t, env.system, "GET", "/v1/participants/"+id, "", &j); status != http.StatusOK {
		t.Fatalf("GET /v1/participants/%s: %d", id, status)
	}
	return j
}

// caughtUp waits until the journey's events have all reached the read model.
func caughtUp(t *testing.T, id string) {
	t.Helper()
	c := env.temporal.GetDefaultClient()
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		v, err := c.QueryWorkflow(t.Context(), workflows.JourneyWorkflowID(id), "", workflows.QueryState)
		if err != nil {
			continue
		}
		var s workflows.JourneyState
		if v.Get(&s) != nil || len(s.Outbox) > 0 {
			continue
		}
		var seq int64
		if env.store.Pool.QueryRow(t.Context(), `SELECT seq FROM participants WHERE participant_id = $1`, id).Scan(&seq) == nil && seq == s.EventSeq {
			return
		}
	}
	t.Fatalf("the read model never caught up with %s", id)
}

// artifacts is where screenshots go: $BROWSER_ARTIFACTS, else
// <repo>/test-artifacts/browser (git ignores /test-artifacts/).
func artifacts(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("BROWSER_ARTIFACTS"); d != "" {
		abs, err := filepath.Abs(d)
		if err != nil {
			t.Fatal(err)
		}
		return abs
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "test-artifacts", "browser")
		}
		if filepath.Dir(d) == d {
			return filepath.Join(dir, "test-artifacts", "browser")
		}
	}
}

// session is one test's browser: its own Chromium, and where its screenshots go.
type session struct {
	t    *testing.T
	ctx  context.Context
	dir  string
	shot int
}

// browser starts the environment if need be and opens a browser for t.
func browser(t *testing.T) *session {
	t.Helper()
	path := needChromium(t)
	env.once.Do(func() { env.err = start(path) })
	if env.err != nil {
		t.Fatal(env.err)
	}
	s := &session{t: t, dir: filepath.Join(artifacts(t), t.Name())}
	if err := os.RemoveAll(s.dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		t.Fatalf("screenshot folder: %v", err)
	}

	// chromedp reports protocol trouble through Errorf; keep it in the test's log,
	// but never after the test has ended.
	var mu sync.Mutex
	ended := false
	logf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if !ended {
			t.Logf("chromedp: "+format, args...)
		}
	}
	ctx, cancelTab := chromedp.NewContext(env.alloc, chromedp.WithErrorf(logf))
	ctx, cancelTime := context.WithTimeout(ctx, browserTimeout)
	t.Cleanup(func() {
		cancelTime()
		cancelTab() // closes the browser and removes its profile
		mu.Lock()
		ended = true
		mu.Unlock()
	})
	s.ctx = ctx
	if err := chromedp.Run(ctx); err != nil { // starts Chromium
		t.Fatalf("starting %s: %v", chromium(), err)
	}
	t.Cleanup(func() {
		// Runs before the browser closes: the page as it was when the test failed.
		if t.Failed() {
			s.screenshot("failed")
			t.Logf("the service's last log lines (less successful requests):\n%s", env.logs.trouble(30))
		}
		t.Logf("screenshots: %s", s.dir)
	})
	return s
}

// run runs actions in the browser; an error fails the test.
func (s *session) run(what string, actions ...chromedp.Action) {
	s.t.Helper()
	if err := chromedp.Run(s.ctx, actions...); err != nil {
		s.t.Fatalf("%s: %v", what, err)
	}
}

// navigation runs actions that load a page (a link, a form, an address) and
// returns the status of the page that was loaded, after redirects.
func (s *session) navigation(what string, actions ...chromedp.Action) int {
	s.t.Helper()
	resp, err := chromedp.RunResponse(s.ctx, actions...)
	if err != nil {
		s.t.Fatalf("%s: %v", what, err)
	}
	if resp == nil {
		s.t.Fatalf("%s: no page was loaded", what)
	}
	return int(resp.Status)
}

// screenshot saves the whole page as <dir>/NN-name.png. A failure to save one is
// logged, not fatal: the screenshots document a test, they are not what it checks.
func (s *session) screenshot(name string) {
	s.t.Helper()
	var png []byte
	if err := chromedp.Run(s.ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		s.t.Logf("screenshot %s: %v", name, err)
		return
	}
	s.shot++
	file := filepath.Join(s.dir, fmt.Sprintf("%02d-%s.png", s.shot, name))
	if err := os.WriteFile(file, png, 0o644); err != nil {
		s.t.Logf("screenshot %s: %v", name, err)
	}
}

// signIn opens the site, which sends a signed-out person to the sign-in page, and
// clicks user's dev-user button; it ends on the page the site leads them to.
func (s *session) signIn(user string) {
	s.t.Helper()
	button := `button[name="devUser"][value="` + user + `"]`
	if status := s.navigation("open the site", chromedp.Navigate(env.base+"/")); status != http.StatusOK {
		s.t.Fatalf("the sign-in page answered %d", status)
	}
	s.run("the sign-in page", chromedp.WaitVisible(button, chromedp.ByQuery))
	s.screenshot("sign-in")
	if status := s.navigation("sign in as "+user, chromedp.Click(button, chromedp.ByQuery)); status != http.StatusOK {
		s.t.Fatalf("signing in as %s led to a page with status %d", user, status)
	}
	s.run("signed in", chromedp.WaitVisible(`form[action="/logout"]`, chromedp.ByQuery))
}

// exists reports whether selector matches anything in the page as it is now.
func (s *session) exists(selector string) bool {
	s.t.Helper()
	var found bool
	s.run("look for "+selector, chromedp.Evaluate(fmt.Sprintf(`document.querySelector(%s) !== null`, jsString(selector)), &found))
	return found
}

// attr is an attribute of the first element selector matches ("" when it has none).
func (s *session) attr(selector, name string) string {
	s.t.Helper()
	var v string
	s.run("read "+name+" of "+selector, chromedp.Evaluate(
		fmt.Sprintf(`(document.querySelector(%s) || {getAttribute: () => null}).getAttribute(%s) || ""`, jsString(selector), jsString(name)), &v))
	return v
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// stockholmMinute is t as a datetime-local input takes it, in Stockholm time.
func stockholmMinute(t time.Time) string { return t.In(calendar.Stockholm).Format("2006-01-02T15:04") }

// fillMeeting opens the meeting form and fills it in.
func (s *session) fillMeeting(kind, outcome, occurredAt, note string) {
	s.t.Helper()
	s.run("open the meeting form",
		chromedp.Click(`#form-meetings > summary`, chromedp.ByQuery),
		chromedp.WaitVisible(`#meetings-kind`, chromedp.ByQuery),
		chromedp.SetValue(`#meetings-kind`, kind, chromedp.ByQuery),
		chromedp.Click(`#form-meetings input[name="outcome"][value="`+outcome+`"]`, chromedp.ByQuery),
		chromedp.SetValue(`#meetings-occurredAt`, occurredAt, chromedp.ByQuery),
	)
	if note != "" {
		s.run("write the note", chromedp.SendKeys(`#meetings-note`, note, chromedp.ByQuery))
	}
}

func deadlineIDs(ds []workflows.DeadlineView) []string {
	var ids []string
	for _, d := range ds {
		ids = append(ids, d.ID+"="+string(d.Kind))
	}
	return ids
}

func hasDeadline(ds []workflows.DeadlineView, id string) bool {
	for _, d := range ds {
		if d.ID == id {
			return true
		}
	}
	return false
}

// TestBrowserGuideRecordsAMeetingAndTheDeadlineMoves: a guide starts the day on "my
// day", opens a new participant, records the first meeting as held, and sees the
// first-meeting deadline leave the open deadlines.
func TestBrowserGuideRecordsAMeetingAndTheDeadlineMoves(t *testing.T) {
	b := browser(t)
	id := participantID("bw-meet")
	j := startJourney(t, id, "jobbgaranti", env.org.U, stockholmToday(), env.org.GuideA)
	if !hasDeadline(j.Deadlines, string(workflows.DeadlineFirstMeeting)) {
		t.Fatalf("a new jobbgaranti journey has no open first_meeting deadline: %v", deadlineIDs(j.Deadlines))
	}

	b.signIn(env.org.GuideA)
	link := `a[href="/participants/` + id + `"]`
	b.run("my day lists the new participant", chromedp.WaitVisible(link, chromedp.ByQuery))
	b.screenshot("my-day")

	if status := b.navigation("open the participant", chromedp.Click(link, chromedp.ByQuery)); status != http.StatusOK {
		t.Fatalf("the participant page answered %d", status)
	}
	row := `#deadlines tr[data-deadline="first_meeting"]`
	b.run("the participant page shows the open first-meeting deadline", chromedp.WaitVisible(row, chromedp.ByQuery))
	b.screenshot("participant-before")

	b.fillMeeting(string(workflows.MeetingFirst), string(workflows.OutcomeHeld), stockholmMinute(time.Now()), "")
	b.screenshot("meeting-form-filled")
	if status := b.navigation("save the meeting", chromedp.Click(`#form-meetings button[type="submit"]`, chromedp.ByQuery)); status != http.StatusOK {
		t.Fatalf("saving the meeting led to a page with status %d", status)
	}
	var notice string
	b.run("the page says the meeting is recorded",
		chromedp.WaitVisible(`p.notice[role="status"]`, chromedp.ByQuery),
		chromedp.WaitReady(`#timeline`, chromedp.ByQuery), // the whole page is there
		chromedp.Text(`p.notice[role="status"]`, &notice, chromedp.ByQuery),
	)
	b.screenshot("meeting-recorded")
	if strings.TrimSpace(notice) == "" || strings.Contains(notice, "Recorded_") {
		t.Errorf("the notice is %q, want the catalogue's text for a recorded meeting", notice)
	}
	if b.exists(row) {
		t.Errorf("the first-meeting deadline is still among the open deadlines after the meeting was recorded")
	}
	if !b.exists(`#deadlines tr[data-deadline]`) {
		t.Errorf("no open deadlines left at all; the plan and the mapping should still be open")
	}
	if b.attr(`#form-meetings`, "open") != "" || b.exists(`#form-meetings [aria-invalid="true"]`) {
		t.Errorf("the meeting form is still open, or shows errors, after a successful save")
	}

	// The API tells the same: the deadline was met.
	j = journey(t, id)
	if hasDeadline(j.Deadlines, "first_meeting") || !hasDeadline(j.Completed, "first_meeting") {
		t.Fatalf("through the API: open %v, completed %v; want first_meeting completed", deadlineIDs(j.Deadlines), deadlineIDs(j.Completed))
	}
	for _, d := range j.Completed {
		if d.ID == "first_meeting" && (d.Status != workflows.StatusMet || d.MetAt == nil) {
			t.Fatalf("first_meeting completed as %s (met at %v), want met", d.Status, d.MetAt)
		}
	}
	if j.Meetings.Held != 1 {
		t.Fatalf("meetings held: %d, want 1", j.Meetings.Held)
	}
}

// TestBrowserAFutureNoShowIsRejectedNextToTheField: a no-show dated tomorrow is
// refused; the message sits next to the time field, the field says it is invalid and
// points at the message, what was typed stays, and the journey is untouched.
func TestBrowserAFutureNoShowIsRejectedNextToTheField(t *testing.T) {
	b := browser(t)
	id := participantID("bw-noshow")
	startJourney(t, id, "jobbgaranti", env.org.U, stockholmToday(), env.org.GuideA)
	before := journey(t, id)

	b.signIn(env.org.GuideA)
	if status := b.navigation("open the participant", chromedp.Navigate(env.base+"/participants/"+id)); status != http.StatusOK {
		t.Fatalf("the participant page answered %d", status)
	}
	b.run("the participant page", chromedp.WaitVisible(`#form-meetings > summary`, chromedp.ByQuery))
	tomorrow := stockholmMinute(time.Now().Add(24 * time.Hour))
	note := "Kom inte, ringde två gånger"
	b.fillMeeting(string(workflows.MeetingFirst), string(workflows.OutcomeNoShow), tomorrow, note)
	b.screenshot("no-show-tomorrow-filled")
	status := b.navigation("save the meeting", chromedp.Click(`#form-meetings button[type="submit"]`, chromedp.ByQuery))
	if status != http.StatusUnprocessableEntity {
		t.Fatalf("saving a no-show dated tomorrow answered %d, want 422", status)
	}
	errSel := `#meetings-occurredAt-error`
	var message string
	b.run("the error next to the time field",
		chromedp.WaitVisible(errSel, chromedp.ByQuery),
		chromedp.WaitReady(`#timeline`, chromedp.ByQuery),
		chromedp.Text(errSel, &message, chromedp.ByQuery),
	)
	b.screenshot("no-show-rejected")

	// The message is the API's own rule for the same meeting sent straight to it, in
	// the page's language (Swedish by default) from the message catalogue.
	var apiErr struct {
		Error struct {
			Fields []struct{ Field, Message, Rule string } `json:"fields"`
		} `json:"error"`
	}
	body, _ := json.Marshal(map[string]string{"kind": "first_meeting", "outcome": "no_show", "note": note,
		"occurredAt": time.Now().Add(24 * time.Hour).Truncate(time.Minute).Format(time.RFC3339)})
	st, raw := request(t.Context(), tokenFor(t, env.org.GuideA, auth.Guide), "POST", "/v1/participants/"+id+"/meetings", "application/json", string(body))
	if st != http.StatusUnprocessableEntity || json.Unmarshal(raw, &apiErr) != nil {
		t.Fatalf("the API answered the same meeting with %d %s, want 422", st, raw)
	}
	rule := ""
	for _, f := range apiErr.Error.Fields {
		if f.Field == "occurredAt" {
			rule = f.Rule
		}
	}
	const swedish = "ligger i framtiden; registrera det när det har hänt"
	if rule != "lies in the future; record it when it has happened" || strings.TrimSpace(message) != swedish {
		t.Errorf("the page says %q next to the time field; the API's rule is %q, whose Swedish is %q", message, rule, swedish)
	}

	input := `#meetings-occurredAt`
	if got := b.attr(input, "aria-invalid"); got != "true" {
		t.Errorf("the time field has aria-invalid=%q, want true", got)
	}
	if got := b.attr(input, "aria-describedby"); got != "meetings-occurredAt-error" {
		t.Errorf("the time field's aria-describedby is %q, want meetings-occurredAt-error", got)
	}
	if !b.exists(`details#form-meetings[open]`) {
		t.Errorf("the meeting form is closed after a rejection; it should stay open on the error")
	}
	var kind, occurredAt, typedNote, outcome string
	b.run("read back what was typed",
		chromedp.Value(`#meetings-kind`, &kind, chromedp.ByQuery),
		chromedp.Value(input, &occurredAt, chromedp.ByQuery),
		chromedp.Value(`#meetings-note`, &typedNote, chromedp.ByQuery),
		chromedp.Evaluate(`(document.querySelector('#form-meetings input[name="outcome"]:checked') || {}).value || ""`, &outcome),
	)
	if kind != "first_meeting" || outcome != "no_show" || occurredAt != tomorrow || typedNote != note {
		t.Errorf("after the rejection the form holds kind %q, outcome %q, time %q, note %q; want what was typed: %q, %q, %q, %q",
			kind, outcome, occurredAt, typedNote, "first_meeting", "no_show", tomorrow, note)
	}
	if !b.exists(`#deadlines tr[data-deadline="first_meeting"]`) {
		t.Errorf("the first-meeting deadline left the page although nothing was recorded")
	}

	// Nothing changed in the journey.
	after := journey(t, id)
	if len(after.Timeline) != len(before.Timeline) || after.Meetings != before.Meetings ||
		strings.Join(deadlineIDs(after.Deadlines), ",") != strings.Join(deadlineIDs(before.Deadlines), ",") ||
		len(after.Completed) != len(before.Completed) {
		t.Fatalf("the journey changed after a rejected meeting:\nbefore: %d events, %+v, open %v\nafter:  %d events, %+v, open %v",
			len(before.Timeline), before.Meetings, deadlineIDs(before.Deadlines), len(after.Timeline), after.Meetings, deadlineIDs(after.Deadlines))
	}
}

// TestBrowserAGuideCannotOpenAnotherGuidesParticipant: guide B types the address of
// guide A's participant and gets the API's 403, with nothing of the journey shown.
func TestBrowserAGuideCannotOpenAnotherGuidesParticipant(t *testing.T) {
	b := browser(t)
	id := participantID("bw-other")
	startJourney(t, id, "jobbgaranti", env.org.U, stockholmToday(), env.org.GuideA)

	b.signIn(env.org.GuideB)
	b.run("guide B's day", chromedp.WaitReady(`main`, chromedp.ByQuery))
	if b.exists(`a[href="/participants/` + id + `"]`) {
		t.Errorf("guide B's day lists guide A's participant")
	}
	b.screenshot("guide-b-day")

	status := b.navigation("open guide A's participant", chromedp.Navigate(env.base+"/participants/"+id))
	var message string
	b.run("the error page",
		chromedp.WaitVisible(`p.error[role="alert"]`, chromedp.ByQuery),
		chromedp.Text(`p.error[role="alert"]`, &message, chromedp.ByQuery),
	)
	b.screenshot("forbidden")
	if status != http.StatusForbidden {
		t.Errorf("the page answered %d, want 403", status)
	}
	if !strings.Contains(message, "Du får inte se eller ändra det här") {
		t.Errorf("the page says %q, want the refusal in Swedish", message)
	}
	for _, sel := range []string{`#timeline`, `#deadlines`, `#h-summary`, `#h-plan`, `#h-mapping`, `#phase`, `details.form`, `form[action^="/participants/"]`} {
		if b.exists(sel) {
			t.Errorf("the refused page shows %s of the participant", sel)
		}
	}
	var text string
	b.run("read the page", chromedp.Text(`main`, &text, chromedp.ByQuery))
	for _, leak := range []string{env.org.GuideA, "Anna Berg"} {
		if strings.Contains(text, leak) {
			t.Errorf("the refused page names %q:\n%s", leak, text)
		}
	}
}
