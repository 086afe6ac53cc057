package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/rs/zerolog"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/server/temporaltest"

	"github.com/stegvis/stegvis/activities"
	"github.com/stegvis/stegvis/api"
	"github.com/stegvis/stegvis/auth"
	"github.com/stegvis/stegvis/calendar"
	"github.com/stegvis/stegvis/importer"
	"github.com/stegvis/stegvis/logging"
	"github.com/stegvis/stegvis/metrics"
	"github.com/stegvis/stegvis/program"
	"github.com/stegvis/stegvis/protect"
	"github.com/stegvis/stegvis/selfcheck"
	"github.com/stegvis/stegvis/store"
	"github.com/stegvis/stegvis/store/storetest"
	"github.com/stegvis/stegvis/worker"
	"github.com/stegvis/stegvis/workflows"
)

// env is one real Temporal server (in process), one worker, one real PostgreSQL
// database and the API, shared by the tests of this package.
var env struct {
	mail     *mailbox
	webhook  *webhookInbox
	temporal *temporaltest.TestServer
	store    *store.Store
	http     *httptest.Server
	logs     *syncBuffer
	spec     routers.Router
	issuer   *auth.DevIssuer
	keys     *protect.Keyring
	deps     api.Deps // what env.http serves, for tests that build a variant
}

// The token every call sends unless it names its own: the case system with admin
// rights too, so that tests about something else need not care who asks.
var defaultToken string

// token mints a token for a user with roles.
func token(t testing.TB, subject string, roles ...auth.Role) string {
	t.Helper()
	tok, err := env.issuer.Mint(subject, time.Hour, roles...)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// as is the header pair that sends a request as subject with roles.
func as(t testing.TB, subject string, roles ...auth.Role) []string {
	return []string{"Authorization", "Bearer " + token(t, subject, roles...)}
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

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx := context.Background()
	st, drop, err := storetest.ForMain(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "PostgreSQL for the API tests:", err)
		return 1
	}
	defer drop()
	env.store = st
	if err := seedOrgChart(ctx, st); err != nil {
		fmt.Fprintln(os.Stderr, "org chart for the API tests:", err)
		return 1
	}
	env.logs = &syncBuffer{}
	log, _ := logging.New(env.logs, "info", logging.FormatJSON)

	if env.issuer, err = auth.NewDevIssuer("https://idp.kommun.test", ""); err != nil {
		fmt.Fprintln(os.Stderr, "token issuer:", err)
		return 1
	}
	if defaultToken, err = env.issuer.Mint("ekb-system", 24*time.Hour, auth.System, auth.Admin); err != nil {
		fmt.Fprintln(os.Stderr, "token:", err)
		return 1
	}
	if env.keys, err = protect.ParseKeys("t1:" + protect.GenerateKey()); err != nil {
		fmt.Fprintln(os.Stderr, "keys:", err)
		return 1
	}
	// Every client and the worker encrypt payloads, as in production.
	// The worker's SDK logs go to the same buffer, so that the no-plaintext test reads them.
	env.temporal = temporaltest.NewServer(temporaltest.WithBaseClientOptions(client.Options{
		DataConverter: protect.DataConverter(env.keys), Logger: logging.SDK(log)}))
	defer env.temporal.Stop()
	smtpAddr, stopSMTP, err := startSMTP()
	if err != nil {
		fmt.Fprintln(os.Stderr, "SMTP server for the tests:", err)
		return 1
	}
	defer stopSMTP()
	env.webhook = &webhookInbox{}
	hook := httptest.NewServer(env.webhook)
	defer hook.Close()
	acts := &activities.Activities{Notifications: st, Journal: st, Directory: st, Digests: st, Delivery: &activities.Delivery{
		Store:   st,
		Mail:    activities.Mail{Addr: smtpAddr, From: "stegvis@kommun.test"},
		Webhook: activities.Webhook{URL: hook.URL, Secret: webhookSecret},
	}}
	w := env.temporal.NewWorkerWithOptions(workflows.TaskQueue, func(r sdkworker.Registry) {
		worker.Register(r, acts)
	}, sdkworker.Options{})
	defer w.Stop()

	reg := metrics.New()
	c := env.temporal.NewClientWithOptions(client.Options{MetricsHandler: reg.TemporalHandler(), DataConverter: protect.DataConverter(env.keys)})
	defer c.Close()
	if err := workflows.RegisterSearchAttributes(ctx, c, env.temporal.GetDefaultNamespace(), 0); err != nil {
		fmt.Fprintln(os.Stderr, "search attributes:", err)
		return 1
	}
	checker := &selfcheck.Checker{Store: st, Temporal: c, Namespace: env.temporal.GetDefaultNamespace()}
	env.deps = api.Deps{Temporal: c, DB: st, Log: log, Metrics: reg, Namespace: env.temporal.GetDefaultNamespace(),
		Auth: env.issuer.Verifier(), Keys: env.keys, RateLimit: 1000, RateBurst: 1000, SelfCheck: checker}
	env.http = httptest.NewServer(api.NewRouter(env.deps))
	defer env.http.Close()

	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPISpec())
	if err != nil {
		fmt.Fprintln(os.Stderr, "openapi.yaml:", err)
		return 1
	}
	if err := doc.Validate(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "openapi.yaml is not valid OpenAPI 3:", err)
		return 1
	}
	doc.Servers = openapi3.Servers{{URL: env.http.URL}}
	if env.spec, err = legacy.NewRouter(doc); err != nil {
		fmt.Fprintln(os.Stderr, "openapi router:", err)
		return 1
	}
	return m.Run()
}

// response is an API answer, already checked against the OpenAPI document.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (r response) apiError(t *testing.T) api.APIError {
	t.Helper()
	var e api.ErrorBody
	r.decode(t, &e)
	if e.Error.Code == "" || e.Error.Message == "" || e.Error.RequestID == "" {
		t.Fatalf("error body lacks code, message or request id: %s", r.body)
	}
	return e.Error
}

// call sends a request and checks the response against openapi.yaml: its status is
// documented for the operation and its body matches the schema.
func call(t *testing.T, method, path, body string, headers ...string) response {
	t.Helper()
	var rdr io.Reader
	if body != "" {
		rdr = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, env.http.URL+path, rdr)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+defaultToken)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, header: resp.Header, body: b}

	route, params, err := env.spec.FindRoute(req)
	if err != nil {
		if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed {
			return r // an undocumented path; the body is still an Error
		}
		t.Fatalf("%s %s is not in openapi.yaml: %v", method, path, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{IncludeResponseStatus: true}},
		Status:  resp.StatusCode,
		Header:  resp.Header,
		Body:    io.NopCloser(bytes.NewReader(b)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Fatalf("%s %s answered %d with a body openapi.yaml does not allow: %v\n%s", method, path, resp.StatusCode, err, b)
	}
	return r
}

// rawCall sends a request with the default token and no OpenAPI check.
func rawCall(method, url, contentType string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer "+defaultToken)
	return http.DefaultClient.Do(req)
}

var seq struct {
	sync.Mutex
	n int
}

// participant returns a fresh pseudonymous id, so tests never share a journey.
func participant(prefix string) string {
	seq.Lock()
	defer seq.Unlock()
	seq.n++
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano()%1_000_000, seq.n)
}

func today() string { return time.Now().In(calendar.Stockholm).Format(time.DateOnly) }

// recent is d ago, but not before today's midnight in Stockholm: journeys referred
// today() must not get events before their referral when a test runs just after
// midnight.
func recent(d time.Duration) time.Time {
	now := time.Now().In(calendar.Stockholm)
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, calendar.Stockholm)
	if t := now.Add(-d); t.After(midnight) {
		return t
	}
	return midnight
}

// The org chart the tests' referrals name unless a test makes a unit of its own: the
// demo organisation's unit and people, and a second unit to transfer to.
var (
	testUnits = []store.Unit{{UnitID: "arbetsmarknad", Name: "Arbetsmarknadsenheten", Active: true},
		{UnitID: "vuxenutbildning", Name: "Vuxenutbildningen", Active: true}}
	testStaff = []store.Staff{
		{StaffID: "g-anna", Name: "Anna", UnitID: "arbetsmarknad", Role: "guide", Active: true},
		{StaffID: "g-karim", Name: "Karim", UnitID: "arbetsmarknad", Role: "guide", Active: true},
		{StaffID: "g-bo", Name: "Bo", UnitID: "arbetsmarknad", Role: "guide", Active: true},
		{StaffID: "g-cecilia", Name: "Cecilia", UnitID: "arbetsmarknad", Role: "guide", Active: true},
		{StaffID: "g-vux", Name: "Vera", UnitID: "vuxenutbildning", Role: "guide", Active: true},
		{StaffID: "cw-dina", Name: "Dina", UnitID: "arbetsmarknad", Role: "case_worker", Active: true},
	}
)

func seedOrgChart(ctx context.Context, st *store.Store) error {
	for _, u := range testUnits {
		if err := st.UpsertUnit(ctx, u); err != nil {
			return err
		}
	}
	return st.UpsertStaffBatch(ctx, testStaff)
}

// orgUnit puts a unit of a test's own in the org chart, with guides, so that its
// referrals name what exists.
func orgUnit(t *testing.T, unit string, guides ...string) {
	t.Helper()
	ctx := context.Background()
	if err := env.store.UpsertUnit(ctx, store.Unit{UnitID: unit, Name: "Enhet " + unit, Active: true}); err != nil {
		t.Fatal(err)
	}
	for _, g := range guides {
		if err := env.store.UpsertStaff(ctx, store.Staff{StaffID: g, Name: "Guide " + g, UnitID: unit, Role: "guide", Active: true}); err != nil {
			t.Fatal(err)
		}
	}
}

func startBody(id, programID, referred string) string {
	return fmt.Sprintf(`{"participantId":%q,"programId":%q,"unit":"arbetsmarknad","referredAt":%q,"guideId":"g-anna"}`, id, programID, referred)
}

func planBody(signed string) string {
	return fmt.Sprintf(`{"signedAt":%q,"mainActivity":"work training at the municipal depot",
		"weeklySchedule":[{"day":"monday","from":"09:00","to":"12:00"}],
		"subGoals":["write a CV"],"followUpAt":%q,"extras":["cv"]}`, signed, time.Now().AddDate(0, 0, 14).Format(time.DateOnly))
}

// deadlineOf finds a deadline of a journey by id, open or completed.
func deadlineOf(t *testing.T, j workflows.JourneyView, id string) workflows.DeadlineView {
	t.Helper()
	for _, d := range append(append([]workflows.DeadlineView{}, j.Deadlines...), j.Completed...) {
		if d.ID == id {
			return d
		}
	}
	t.Fatalf("journey has no deadline %s: %+v", id, j)
	return workflows.DeadlineView{}
}

func TestJourneyStartQueryPlanQuery(t *testing.T) {
	id := participant("p")
	r := call(t, "POST", "/v1/participants", startBody(id, "jobbgaranti", today()))
	if r.status != http.StatusCreated || r.header.Get("Location") != "/v1/participants/"+id {
		t.Fatalf("start: %d %s", r.status, r.body)
	}
	var j workflows.JourneyView
	r.decode(t, &j)
	if j.Phase != workflows.PhasePlanning || len(j.Deadlines) != 3 {
		t.Fatalf("after start: %s", r.body)
	}
	want := calendar.Swedish().AddWorkdays(time.Now(), 5).Format(time.DateOnly)
	if d := deadlineOf(t, j, "plan"); d.DueDate != want || d.Status != workflows.StatusUpcoming {
		t.Fatalf("plan deadline %s (%s), want %s upcoming", d.DueDate, d.Status, want)
	}

	r = call(t, "GET", "/v1/participants/"+id, "")
	if r.status != http.StatusOK {
		t.Fatalf("get: %d %s", r.status, r.body)
	}

	r = call(t, "POST", "/v1/participants/"+id+"/plan", planBody(recent(time.Minute).Format(time.RFC3339)))
	if r.status != http.StatusOK {
		t.Fatalf("plan: %d %s", r.status, r.body)
	}
	r.decode(t, &j)
	if d := deadlineOf(t, j, "plan"); j.Phase != workflows.PhaseActive || d.Status != workflows.StatusMet || !*d.OnTime {
		t.Fatalf("after the plan: %s", r.body)
	}
	deadlineOf(t, j, "first_follow_up")
	deadlineOf(t, j, "deepened_plan")

	r = call(t, "GET", "/v1/participants/"+id, "")
	r.decode(t, &j)
	if j.Plan == nil || j.Plan.MainActivity != "work training at the municipal depot" || deadlineOf(t, j, "plan").Status != workflows.StatusMet {
		t.Fatalf("read after the plan: %s", r.body)
	}
}

// The 201 of a start is computed by the API (workflows.Opened), not queried from the
// journey: it must be exactly what the journey itself then answers, for every shipped
// programme, with a guide and waiting for one.
func TestTheStartAnswerIsWhatTheJourneyThenSays(t *testing.T) {
	for _, prog := range []string{"jobbgaranti", "steg", "demo"} {
		for _, guide := range []string{"g-anna", ""} {
			id := participant("o")
			// Referred now: a backdated referral has notices already due, which the
			// journey sends after it has started (and the next read shows).
			body := fmt.Sprintf(`{"participantId":%q,"programId":%q,"unit":"arbetsmarknad","referredAt":%q,"guideId":%q}`,
				id, prog, time.Now().Format(time.RFC3339), guide)
			r := call(t, "POST", "/v1/participants", body)
			if r.status != http.StatusCreated {
				t.Fatalf("%s start: %d %s", prog, r.status, r.body)
			}
			var started, read workflows.JourneyView
			r.decode(t, &started)
			r = call(t, "GET", "/v1/participants/"+id, "")
			if r.status != http.StatusOK {
				t.Fatalf("%s get: %d %s", prog, r.status, r.body)
			}
			r.decode(t, &read)
			if len(started.Deadlines) == 0 {
				t.Fatalf("%s (guide %q): the start answered no deadlines: %+v", prog, guide, started)
			}
			started.AsOf, read.AsOf = time.Time{}, time.Time{}
			a, _ := json.Marshal(started)
			b, _ := json.Marshal(read)
			if string(a) != string(b) {
				t.Errorf("%s (guide %q): the start answered\n%s\nthe journey then says\n%s", prog, guide, a, b)
			}
		}
	}
}

func TestRepeatedStartReturnsTheJourneyAndAConflictingOneIs409(t *testing.T) {
	id := participant("p")
	body := startBody(id, "steg", today())
	if r := call(t, "POST", "/v1/participants", body); r.status != http.StatusCreated {
		t.Fatalf("first start: %d %s", r.status, r.body)
	}
	r := call(t, "POST", "/v1/participants", body)
	if r.status != http.StatusOK {
		t.Fatalf("same body again: %d %s", r.status, r.body)
	}
	var j workflows.JourneyView
	r.decode(t, &j)
	if j.ParticipantID != id || j.Program.ID != "steg" {
		t.Fatalf("repeat returned %s", r.body)
	}
	// The same instant written as a timestamp is the same request.
	midnight, _ := time.ParseInLocation(time.DateOnly, today(), calendar.Stockholm)
	if r := call(t, "POST", "/v1/participants", startBody(id, "steg", midnight.Format(time.RFC3339))); r.status != http.StatusOK {
		t.Fatalf("same instant as RFC 3339: %d %s", r.status, r.body)
	}
	r = call(t, "POST", "/v1/participants", startBody(id, "jobbgaranti", today()))
	if r.status != http.StatusConflict {
		t.Fatalf("different programme: %d %s", r.status, r.body)
	}
	if e := r.apiError(t); e.Code != api.CodeConflict || !strings.Contains(e.Message, "programId") {
		t.Fatalf("conflict message should name the field: %+v", e)
	}
}

func TestRejectionsSayWhatIsWrong(t *testing.T) {
	id := participant("p")
	if r := call(t, "POST", "/v1/participants", startBody(id, "jobbgaranti", today())); r.status != http.StatusCreated {
		t.Fatalf("start: %d %s", r.status, r.body)
	}
	future := time.Now().AddDate(0, 0, 3).Format(time.DateOnly)
	tests := []struct {
		name, method, path, body string
		status                   int
		code                     string
		mentions                 string
	}{
		{"malformed JSON", "POST", "/v1/participants", `{"participantId":`, 400, api.CodeInvalidJSON, "not valid JSON"},
		{"empty body", "POST", "/v1/participants", ``, 400, api.CodeInvalidJSON, "empty"},
		{"unknown field", "POST", "/v1/participants", `{"participantId":"x","programme":"steg"}`, 400, api.CodeInvalidJSON, `"programme"`},
		{"wrong type", "POST", "/v1/participants", `{"participantId":12}`, 400, api.CodeInvalidJSON, "participantId"},
		{"two JSON values", "POST", "/v1/participants", `{} {}`, 400, api.CodeInvalidJSON, "single JSON object"},
		{"malformed date", "POST", "/v1/participants", startBody(participant("p"), "steg", "23/11/2026"), 400, api.CodeInvalidDate, "referredAt"},
		{"missing fields", "POST", "/v1/participants", `{"participantId":"p-x"}`, 422, api.CodeValidationFailed, "programId"},
		{"referral in the future", "POST", "/v1/participants", startBody(participant("p"), "steg", future), 422, api.CodeValidationFailed, "future"},
		{"personnummer as id", "POST", "/v1/participants", startBody("19850101-1234", "steg", today()), 422, api.CodeValidationFailed, "personal identity number"},
		{"unknown programme", "POST", "/v1/participants", startBody(participant("p"), "nope", today()), 404, api.CodeProgramUnknown, "jobbgaranti"},
		{"unknown participant", "GET", "/v1/participants/nobody-here", "", 404, api.CodeParticipantUnknown, "POST /v1/participants"},
		{"personnummer in the path", "GET", "/v1/participants/198501011234", "", 400, api.CodeBadRequest, "personal identity number"},
		{"plan for unknown participant", "POST", "/v1/participants/nobody-here/plan", planBody(today()), 404, api.CodeParticipantUnknown, "nobody-here"},
		{"plan with a bad date", "POST", "/v1/participants/" + id + "/plan", planBody("tomorrow"), 400, api.CodeInvalidDate, "signedAt"},
		{"plan signed in the future", "POST", "/v1/participants/" + id + "/plan", planBody(future), 422, api.CodeValidationFailed, "signedAt"},
		{"plan without content", "POST", "/v1/participants/" + id + "/plan", `{"signedAt":"` + today() + `"}`, 422, api.CodeValidationFailed, "mainActivity"},
		{"unknown programme read", "GET", "/v1/programs/nope", "", 404, api.CodeProgramUnknown, "steg"},
		{"no such endpoint", "GET", "/v1/nothing", "", 404, api.CodeNotFound, "openapi.yaml"},
		{"wrong method", "DELETE", "/v1/participants/" + id, "", 405, api.CodeMethodNotAllowed, "DELETE"},
		{"huge body", "POST", "/v1/participants", `{"participantId":"` + strings.Repeat("x", 70_000) + `"}`, 413, api.CodeBodyTooLarge, "KiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, tt.method, tt.path, tt.body)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			e := r.apiError(t)
			if e.Code != tt.code || !strings.Contains(e.Message, tt.mentions) {
				t.Fatalf("got %s %q, want %s mentioning %q", e.Code, e.Message, tt.code, tt.mentions)
			}
			for _, leak := range []string{"goroutine", ".go:", "rpc error", "serviceerror", "SQLSTATE", "pgx"} {
				if strings.Contains(string(r.body), leak) {
					t.Fatalf("internals leak to the client (%q): %s", leak, r.body)
				}
			}
		})
	}
}

func TestARejectedPlanNamesEachFieldAndKeepsWhatWasRecorded(t *testing.T) {
	id := participant("p")
	call(t, "POST", "/v1/participants", startBody(id, "jobbgaranti", today()))
	r := call(t, "POST", "/v1/participants/"+id+"/plan",
		`{"signedAt":"`+today()+`","mainActivity":"x","weeklySchedule":[{"day":"mon","from":"9","to":"12:00"}],"subGoals":[],"followUpAt":"`+today()+`"}`)
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	fields := map[string]bool{}
	for _, f := range r.apiError(t).Fields {
		fields[f.Field] = true
	}
	for _, f := range []string{"weeklySchedule[0].day", "weeklySchedule[0].from", "subGoals", "followUpAt"} {
		if !fields[f] {
			t.Errorf("no field error for %s: %s", f, r.body)
		}
	}

	signed := recent(time.Hour).Format(time.RFC3339)
	if r := call(t, "POST", "/v1/participants/"+id+"/plan", planBody(signed)); r.status != http.StatusOK {
		t.Fatalf("valid plan: %d %s", r.status, r.body)
	}
	r = call(t, "POST", "/v1/participants/"+id+"/plan", planBody(today()))
	if r.status != http.StatusConflict {
		t.Fatalf("second plan: %d %s", r.status, r.body)
	}
	var j workflows.JourneyView
	call(t, "GET", "/v1/participants/"+id, "").decode(t, &j)
	if j.Plan == nil || j.Plan.SignedAt.Format(time.RFC3339) != signed {
		t.Fatalf("the first plan was lost or replaced: %+v", j.Plan)
	}
}

func TestIdempotencyKeyMakesARetriedPlanSafe(t *testing.T) {
	id := participant("p")
	call(t, "POST", "/v1/participants", startBody(id, "jobbgaranti", today()))
	body := planBody(recent(time.Minute).Format(time.RFC3339))
	key := "plan-" + id
	first := call(t, "POST", "/v1/participants/"+id+"/plan", body, "Idempotency-Key", key)
	again := call(t, "POST", "/v1/participants/"+id+"/plan", body, "Idempotency-Key", key)
	if first.status != http.StatusOK || again.status != http.StatusOK {
		t.Fatalf("first %d %s, retry %d %s", first.status, first.body, again.status, again.body)
	}
}

func TestImportedJourneyEscalatesOncePerLevelIntoPostgres(t *testing.T) {
	// Referred 30 days ago: the first meeting, mapping and plan deadlines passed long
	// ago. The journey catches up at once: one notification per escalation level of each
	// deadline, no stale reminders.
	id := participant("imp")
	referred := time.Now().AddDate(0, 0, -30).Format(time.DateOnly)
	if r := call(t, "POST", "/v1/participants", startBody(id, "jobbgaranti", referred)); r.status != http.StatusCreated {
		t.Fatalf("start: %d %s", r.status, r.body)
	}
	want := map[string]bool{
		"first_meeting/1": true, "first_meeting/2": true, "mapping/1": true, "plan/1": true, "plan/2": true,
	}
	var got []activities.Notification
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var err error
		if got, err = env.store.NotificationsFor(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		if len(got) >= len(want) {
			break
		}
	}
	time.Sleep(500 * time.Millisecond) // let any duplicate arrive before counting
	got, _ = env.store.NotificationsFor(context.Background(), id)
	seen := map[string]bool{}
	for _, n := range got {
		key := fmt.Sprintf("%s/%d", n.DeadlineID, n.Level)
		if n.Kind != "escalation" || !want[key] || seen[key] {
			t.Errorf("unexpected or repeated notification %s %s", key, n.Kind)
		}
		seen[key] = true
	}
	if len(seen) != len(want) {
		t.Fatalf("notifications in PostgreSQL: %v, want %v", seen, want)
	}
	var j workflows.JourneyView
	call(t, "GET", "/v1/participants/"+id, "").decode(t, &j)
	if d := deadlineOf(t, j, "plan"); d.Status != workflows.StatusOverdue || d.EscalationLevel != 2 {
		t.Fatalf("imported journey: %+v", d)
	}
}

func TestOperationalEndpoints(t *testing.T) {
	r := call(t, "GET", "/readyz", "")
	var ready api.ReadyBody
	r.decode(t, &ready)
	if r.status != http.StatusOK || ready.Checks["temporal"] != "ok" || ready.Checks["postgres"] != "ok" {
		t.Fatalf("readyz: %d %s", r.status, r.body)
	}
	if r := call(t, "GET", "/healthz", ""); r.status != http.StatusOK {
		t.Fatalf("healthz: %d", r.status)
	}
	call(t, "GET", "/v1/programs", "")
	r = call(t, "GET", "/metrics", "")
	for _, m := range []string{"stegvis_http_request_duration_seconds_bucket", "temporal_request", "go_goroutines"} {
		if !strings.Contains(string(r.body), m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	r = call(t, "GET", "/openapi.yaml", "")
	if !bytes.Equal(r.body, api.OpenAPISpec()) {
		t.Fatal("/openapi.yaml differs from the embedded document")
	}
}

func TestEveryAPILogLineCarriesARequestID(t *testing.T) {
	call(t, "GET", "/v1/participants/nobody-at-all", "", "X-Request-ID", "trace-me-42")
	lines := 0
	for _, line := range strings.Split(env.logs.String(), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %s", line)
		}
		if rec["component"] != nil {
			continue // the Temporal SDK's own lines, outside any request
		}
		lines++
		if id, _ := rec["request_id"].(string); id == "" {
			t.Errorf("API log line without request_id: %s", line)
		}
	}
	if lines == 0 || !strings.Contains(env.logs.String(), `"request_id":"trace-me-42"`) {
		t.Fatal("the caller's X-Request-ID was not logged")
	}
}

func TestOpenAPIDocumentsEveryRouteAndNothingElse(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPISpec())
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	reg := metrics.New()
	r := api.NewRouter(api.Deps{Log: zerolog.Nop(), Metrics: reg, Auth: env.issuer.Verifier(), Keys: env.keys})
	served := map[string]bool{}
	for _, rt := range r.Routes() {
		p := rt.Path
		for _, seg := range strings.Split(p, "/") {
			if strings.HasPrefix(seg, ":") {
				p = strings.Replace(p, seg, "{"+seg[1:]+"}", 1)
			}
		}
		served[rt.Method+" "+p] = true
		if !documented[rt.Method+" "+p] {
			t.Errorf("%s %s is served but not in openapi.yaml", rt.Method, p)
		}
	}
	for op := range documented {
		if !served[op] {
			t.Errorf("%s is in openapi.yaml but not served", op)
		}
	}
}

func TestAJourneyKeepsTheProgrammeVersionItStartedOn(t *testing.T) {
	// The municipality edits jobbgaranti (version 2, ten working days) while journey A
	// runs on version 1. New journeys take version 2; A keeps its five days.
	dir := t.TempDir()
	v2 := "id: jobbgaranti\nversion: 2\nname: Jobbgaranti v2\ndeadlines:\n  plan:\n    within: 10 workdays\n    remindBefore: 1 workday\n    escalations:\n      - { after: 1 workday, to: team_lead }\n"
	if err := os.WriteFile(dir+"/jobbgaranti.yaml", []byte(v2), 0o644); err != nil {
		t.Fatal(err)
	}
	edited, err := program.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := env.temporal.GetDefaultClient()
	d := env.deps
	d.Temporal, d.Log, d.Metrics, d.Programs = c, zerolog.Nop(), metrics.New(), edited
	after := httptest.NewServer(api.NewRouter(d))
	defer after.Close()

	a := participant("ver")
	if r := call(t, "POST", "/v1/participants", startBody(a, "jobbgaranti", today())); r.status != http.StatusCreated {
		t.Fatalf("start A: %d %s", r.status, r.body)
	}
	b := participant("ver")
	resp, err := rawCall("POST", after.URL+"/v1/participants", "application/json", strings.NewReader(startBody(b, "jobbgaranti", today())))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	read := func(id string) workflows.JourneyView {
		resp, err := rawCall("GET", after.URL+"/v1/participants/"+id, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var j workflows.JourneyView
		if err := json.NewDecoder(resp.Body).Decode(&j); err != nil {
			t.Fatal(err)
		}
		return j
	}
	sw := calendar.Swedish()
	ja, jb := read(a), read(b)
	if ja.Program.Version != 1 || deadlineOf(t, ja, "plan").DueDate != sw.AddWorkdays(time.Now(), 5).Format(time.DateOnly) {
		t.Fatalf("journey A moved to the edited programme: %+v %+v", ja.Program, deadlineOf(t, ja, "plan"))
	}
	if jb.Program.Version != 2 || deadlineOf(t, jb, "plan").DueDate != sw.AddWorkdays(time.Now(), 10).Format(time.DateOnly) {
		t.Fatalf("a new journey should take version 2: %+v %+v", jb.Program, deadlineOf(t, jb, "plan"))
	}

	// The explicit, audited move of a running journey to version 2.
	migrate := func(body string) (int, []api.MigrateResult) {
		resp, err := rawCall("POST", after.URL+"/v1/programs/jobbgaranti/migrate", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			Results []api.MigrateResult `json:"results"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out.Results
	}
	if status, _ := migrate(`{"participantIds":["` + a + `"]}`); status != http.StatusUnprocessableEntity {
		t.Fatalf("a migration without requestedBy and reason: %d", status)
	}
	status, res := migrate(`{"participantIds":["` + a + `","` + b + `","nobody-here"],"requestedBy":"admin-eva","reason":"ten working days from 2027"}`)
	if status != 200 || len(res) != 3 || res[0].Outcome != "migrated" || res[1].Outcome != "rejected" || res[2].Outcome != "not_found" {
		t.Fatalf("migrate: %d %+v", status, res)
	}
	ja = read(a)
	if ja.Program.Version != 2 || deadlineOf(t, ja, "plan").DueDate != sw.AddWorkdays(time.Now(), 5).Format(time.DateOnly) {
		t.Fatalf("after the migration: version %d, plan due %s (open deadlines keep their dates)", ja.Program.Version, deadlineOf(t, ja, "plan").DueDate)
	}
	all, err := env.store.AuditFor(context.Background(), a)
	var entries []store.AuditEntry
	for _, e := range all {
		if e.Action == "program.migrate" {
			entries = append(entries, e)
		}
	}
	if err != nil || len(entries) != 2 || entries[0].Outcome != "requested" || entries[1].Outcome != "migrated" ||
		entries[1].Actor != "ekb-system" || entries[1].Detail["requestedBy"] != "admin-eva" {
		t.Fatalf("audit log: %+v %v", entries, err)
	}
}

func TestGuideMappingAndDeepenedPlanThroughTheAPI(t *testing.T) {
	id := participant("p")
	body := fmt.Sprintf(`{"participantId":%q,"programId":"jobbgaranti","unit":"arbetsmarknad","referredAt":%q}`, id, today())
	r := call(t, "POST", "/v1/participants", body)
	var j workflows.JourneyView
	r.decode(t, &j)
	if j.Phase != workflows.PhaseWaitingForGuide || deadlineOf(t, j, "guide").Status == workflows.StatusMet {
		t.Fatalf("without a guide: %s", r.body)
	}
	r = call(t, "POST", "/v1/participants/"+id+"/guide", `{"guideId":"g-bo"}`)
	r.decode(t, &j)
	if r.status != 200 || j.Phase != workflows.PhasePlanning || j.GuideID != "g-bo" || deadlineOf(t, j, "guide").Status != workflows.StatusMet {
		t.Fatalf("assign: %d %s", r.status, r.body)
	}
	r = call(t, "POST", "/v1/participants/"+id+"/guide", `{"guideId":"g-cecilia","handoverNote":"prefers mornings"}`)
	r.decode(t, &j)
	if r.status != 200 || len(j.Guides) != 2 || j.Guides[1].HandoverNote != "prefers mornings" {
		t.Fatalf("reassign: %d %s", r.status, r.body)
	}
	if r := call(t, "POST", "/v1/participants/"+id+"/guide", `{"guideId":"g-cecilia"}`); r.status != http.StatusConflict {
		t.Fatalf("same guide again: %d %s", r.status, r.body)
	}

	r = call(t, "POST", "/v1/participants/"+id+"/mapping", `{"recordedAt":"`+today()+`","motivation":"a job"}`)
	if r.status != http.StatusUnprocessableEntity || len(r.apiError(t).Fields) != 5 {
		t.Fatalf("incomplete mapping: %d %s", r.status, r.body)
	}
	r = call(t, "POST", "/v1/participants/"+id+"/mapping", `{"recordedAt":"`+today()+`","adaptationNeeds":"none",
		"interestsAndExperience":"warehouse","ownView":"wants work","motivation":"a job","health":"good","workCapacity":"full time"}`)
	r.decode(t, &j)
	if r.status != 200 || j.Mapping == nil || deadlineOf(t, j, "mapping").Status != workflows.StatusMet {
		t.Fatalf("mapping: %d %s", r.status, r.body)
	}

	deep := `{"signedAt":"` + today() + `","summary":"work training","purchasedServices":[{"provider":"Arbetslivsresurs AB","service":"work training"}]}`
	if r := call(t, "POST", "/v1/participants/"+id+"/deepened-plan", deep); r.status != http.StatusConflict {
		t.Fatalf("deepened plan before the plan: %d %s", r.status, r.body)
	}
	call(t, "POST", "/v1/participants/"+id+"/plan", planBody(recent(time.Minute).Format(time.RFC3339)))
	deep = `{"signedAt":"` + time.Now().Format(time.RFC3339) + `","summary":"work training","purchasedServices":[{"provider":"Arbetslivsresurs AB","service":"work training"}]}`
	r = call(t, "POST", "/v1/participants/"+id+"/deepened-plan", deep)
	r.decode(t, &j)
	if r.status != 200 || j.DeepenedPlan == nil || deadlineOf(t, j, "deepened_plan").Status != workflows.StatusMet {
		t.Fatalf("deepened plan: %d %s", r.status, r.body)
	}
	if len(j.Timeline) < 5 {
		t.Fatalf("timeline: %+v", j.Timeline)
	}
}

func TestMeetingsThroughTheAPI(t *testing.T) {
	id := participant("p")
	call(t, "POST", "/v1/participants", startBody(id, "jobbgaranti", time.Now().AddDate(0, 0, -3).Format(time.DateOnly)))
	future := time.Now().Add(2 * time.Hour).Format(time.RFC3339)
	r := call(t, "POST", "/v1/participants/"+id+"/meetings", `{"kind":"first_meeting","outcome":"no_show","occurredAt":"`+future+`"}`)
	if r.status != http.StatusUnprocessableEntity || r.apiError(t).Fields[0].Field != "occurredAt" {
		t.Fatalf("a no-show in the future: %d %s", r.status, r.body)
	}
	r = call(t, "POST", "/v1/participants/"+id+"/meetings", `{"kind":"coffee","outcome":"held","occurredAt":"`+today()+`"}`)
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.apiError(t).Message, "first_meeting") {
		t.Fatalf("an unknown kind: %d %s", r.status, r.body)
	}
	r = call(t, "POST", "/v1/participants/"+id+"/meetings", `{"kind":"first_meeting","outcome":"held","occurredAt":"`+recent(time.Hour).Format(time.RFC3339)+`","participants":["participant","guide","case_worker"]}`)
	var j workflows.JourneyView
	r.decode(t, &j)
	if r.status != 200 || deadlineOf(t, j, "first_meeting").Status != workflows.StatusMet || j.Meetings.Held != 1 {
		t.Fatalf("first meeting: %d %s", r.status, r.body)
	}
	call(t, "POST", "/v1/participants/"+id+"/plan", planBody(time.Now().Add(-30*time.Minute).Format(time.RFC3339)))
	r = call(t, "POST", "/v1/participants/"+id+"/meetings", `{"kind":"follow_up","outcome":"held","occurredAt":"`+recent(time.Minute).Format(time.RFC3339)+`"}`)
	r.decode(t, &j)
	if r.status != 200 || deadlineOf(t, j, "first_follow_up").Status != workflows.StatusMet || deadlineOf(t, j, "review-1").WindowFrom == "" {
		t.Fatalf("follow-up: %d %s", r.status, r.body)
	}
}

func TestStepsPauseTransferAndExitThroughTheAPI(t *testing.T) {
	id := participant("p")
	call(t, "POST", "/v1/participants", startBody(id, "steg", time.Now().AddDate(0, 0, -10).Format(time.DateOnly)))
	earlier := func(d time.Duration) string { return time.Now().Add(-d).Format(time.RFC3339) }

	if r := call(t, "POST", "/v1/participants/"+id+"/steps", `{"step":2,"passedAt":"`+earlier(3*time.Hour)+`"}`); r.status != http.StatusConflict {
		t.Fatalf("step 2 first: %d %s", r.status, r.body)
	}
	r := call(t, "POST", "/v1/participants/"+id+"/steps", `{"step":1,"passedAt":"`+earlier(3*time.Hour)+`"}`)
	var j workflows.JourneyView
	r.decode(t, &j)
	if r.status != 200 || j.Step != 1 || deadlineOf(t, j, "step-1").Status != workflows.StatusMet {
		t.Fatalf("step 1: %d %s", r.status, r.body)
	}
	r = call(t, "POST", "/v1/participants/"+id+"/pause", `{"reason":"sick_leave","from":"`+earlier(2*time.Hour)+`"}`)
	r.decode(t, &j)
	if r.status != 200 || j.Phase != workflows.PhasePaused || j.Pause == nil {
		t.Fatalf("pause: %d %s", r.status, r.body)
	}
	if r := call(t, "POST", "/v1/participants/"+id+"/pause", `{"reason":"sick_leave","from":"`+earlier(time.Hour)+`"}`); r.status != http.StatusConflict {
		t.Fatalf("pause twice: %d %s", r.status, r.body)
	}
	r = call(t, "POST", "/v1/participants/"+id+"/resume", `{"at":"`+earlier(time.Hour)+`"}`)
	r.decode(t, &j)
	if r.status != 200 || j.Phase != workflows.PhasePlanning || len(j.Pauses) != 1 {
		t.Fatalf("resume: %d %s", r.status, r.body)
	}
	r = call(t, "POST", "/v1/participants/"+id+"/transfer", `{"toUnit":"vuxenutbildning"}`)
	r.decode(t, &j)
	if r.status != 200 || j.Unit != "vuxenutbildning" {
		t.Fatalf("transfer: %d %s", r.status, r.body)
	}
	if r := call(t, "POST", "/v1/participants/"+id+"/exit", `{"reason":"other","at":"`+earlier(time.Minute)+`"}`); r.status != http.StatusUnprocessableEntity {
		t.Fatalf("exit for another reason without a note: %d %s", r.status, r.body)
	}
	r = call(t, "POST", "/v1/participants/"+id+"/exit", `{"reason":"studies","at":"`+earlier(time.Minute)+`"}`)
	r.decode(t, &j)
	if r.status != 200 || j.Phase != workflows.PhaseExited || len(j.Deadlines) != 0 || j.Exit == nil {
		t.Fatalf("exit: %d %s", r.status, r.body)
	}
	// The ended journey can still be read; nothing more can be recorded on it.
	r = call(t, "GET", "/v1/participants/"+id, "")
	r.decode(t, &j)
	if r.status != 200 || j.Phase != workflows.PhaseExited {
		t.Fatalf("read after exit: %d %s", r.status, r.body)
	}
	r = call(t, "POST", "/v1/participants/"+id+"/meetings", `{"kind":"other","outcome":"held","occurredAt":"`+earlier(0)+`"}`)
	if r.status != http.StatusConflict || !strings.Contains(r.apiError(t).Message, "ended") {
		t.Fatalf("a meeting after the exit: %d %s", r.status, r.body)
	}
}

// TestAWholeJourneyThroughTheAPI runs each shipped programme's journey through the API,
// from a referral 200 days ago to an exit, against the real Temporal server and
// PostgreSQL: every Update, and the notifications the catch-up writes.
func TestAWholeJourneyThroughTheAPI(t *testing.T) {
	for _, programID := range []string{"jobbgaranti", "steg"} {
		t.Run(programID, func(t *testing.T) {
			id := participant("whole")
			referred := time.Now().AddDate(0, 0, -200)
			ago := func(days int) string { return referred.AddDate(0, 0, days).Format(time.RFC3339) }
			var j workflows.JourneyView
			must := func(method, path, body string) {
				t.Helper()
				r := call(t, method, path, body)
				if r.status >= 300 {
					t.Fatalf("%s %s: %d %s", method, path, r.status, r.body)
				}
				j = workflows.JourneyView{}
				r.decode(t, &j)
			}
			p := "/v1/participants/" + id
			must("POST", "/v1/participants", fmt.Sprintf(`{"participantId":%q,"programId":%q,"unit":"arbetsmarknad","referredAt":%q}`, id, programID, referred.Format(time.RFC3339)))
			// The journey catches up with the 200 days on its own, recording the escalations
			// they called for. Let it, before the Updates meet (and the exit closes) the
			// deadlines: on a busy machine they could all come first, and nothing would be due.
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				got, err := env.store.NotificationsFor(context.Background(), id)
				if err == nil && len(got) > 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the catch-up recorded no notification in 30 s: %v", err)
				}
			}
			must("POST", p+"/guide", `{"guideId":"g-anna","from":"`+ago(1)+`"}`)
			must("POST", p+"/meetings", `{"kind":"first_meeting","outcome":"no_show","occurredAt":"`+ago(1)+`"}`)
			must("POST", p+"/meetings", `{"kind":"first_meeting","outcome":"held","occurredAt":"`+ago(3)+`","participants":["participant","guide"]}`)
			must("POST", p+"/mapping", `{"recordedAt":"`+ago(3)+`","adaptationNeeds":"none","interestsAndExperience":"warehouse","ownView":"wants work","motivation":"family","health":"good","workCapacity":"full time"}`)
			must("POST", p+"/plan", `{"signedAt":"`+ago(5)+`","mainActivity":"work training","weeklySchedule":[{"day":"monday","from":"09:00","to":"12:00"}],"subGoals":["write a CV"],"followUpAt":"`+ago(19)+`"}`)
			if programID == "jobbgaranti" {
				must("POST", p+"/deepened-plan", `{"signedAt":"`+ago(30)+`","summary":"work training with a provider","purchasedServices":[{"provider":"Arbetslivsresurs AB","service":"work training"}]}`)
			}
			must("POST", p+"/meetings", `{"kind":"follow_up","outcome":"held","occurredAt":"`+ago(19)+`","participants":["participant","guide","case_worker"]}`)
			must("POST", p+"/steps", `{"step":1,"passedAt":"`+ago(60)+`"}`)
			must("POST", p+"/pause", `{"reason":"sick_leave","from":"`+ago(100)+`"}`)
			must("POST", p+"/resume", `{"at":"`+ago(110)+`"}`)
			must("POST", p+"/meetings", `{"kind":"review","outcome":"held","occurredAt":"`+ago(120)+`"}`)
			must("POST", p+"/transfer", `{"toUnit":"vuxenutbildning","note":"studies SFI"}`)

			if j.Step != 1 || len(j.Pauses) != 1 || j.Meetings.Held != 3 || j.Meetings.NoShows != 1 || len(j.Timeline) < 10 {
				t.Fatalf("before the exit: %+v", j)
			}
			met := []string{"guide", "first_meeting", "mapping", "plan", "first_follow_up", "review-1"}
			if programID == "steg" {
				met = append(met, "step-1")
			}
			if j.Pause != nil || j.Phase != workflows.PhaseActive {
				t.Errorf("after resume: phase %s, pause %+v", j.Phase, j.Pause)
			}
			for _, d := range met {
				if got := deadlineOf(t, j, d).Status; got != workflows.StatusMet {
					t.Errorf("%s: %s, want met", d, got)
				}
			}
			must("POST", p+"/exit", `{"reason":"employment_subsidised","at":"`+ago(199)+`"}`)
			if j.Phase != workflows.PhaseExited || len(j.Deadlines) != 0 || j.Exit.Phase != workflows.PhaseActive {
				t.Fatalf("after the exit: %+v", j)
			}
			// The catch-up wrote the escalations the past dates called for.
			got, err := env.store.NotificationsFor(context.Background(), id)
			if err != nil || len(got) == 0 {
				t.Fatalf("no notifications in PostgreSQL: %v", err)
			}
			for _, n := range got {
				if n.RecipientRole == "" || n.ID == "" {
					t.Errorf("incomplete notification %+v", n)
				}
			}
		})
	}
}

// readModel dumps a participant's read-model rows as text, for comparison.
func readModel(t *testing.T, id string) string {
	t.Helper()
	var out strings.Builder
	for _, q := range []string{
		`SELECT row_to_json(p)::text FROM (
			SELECT participant_id, journey_id, seq, referred_at, unit, program_id, program_version, guide_id, phase, step,
			       plan_signed_at, exited_at, exit_reason, priority FROM participants WHERE participant_id = $1) p`,
		`SELECT row_to_json(d)::text FROM (SELECT * FROM deadlines WHERE participant_id = $1 ORDER BY deadline_id) d`,
	} {
		rows, err := env.store.Pool.Query(context.Background(), q, id)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			_ = rows.Scan(&s)
			out.WriteString(s + "\n")
		}
		rows.Close()
	}
	return out.String()
}

// caughtUp waits until the read model holds a journey's latest event.
func caughtUp(t *testing.T, id string) {
	t.Helper()
	c := env.temporal.GetDefaultClient()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		v, err := c.QueryWorkflow(context.Background(), workflows.JourneyWorkflowID(id), "", workflows.QueryState)
		if err != nil {
			continue
		}
		var s workflows.JourneyState
		if v.Get(&s) != nil || len(s.Outbox) > 0 {
			continue
		}
		var seq int64
		if env.store.Pool.QueryRow(context.Background(), `SELECT seq FROM participants WHERE participant_id = $1`, id).Scan(&seq) == nil && seq == s.EventSeq {
			return
		}
	}
	t.Fatalf("the read model never caught up with %s", id)
}

func TestTheReadModelFollowsTheJourneyAndARebuildEqualsIt(t *testing.T) {
	a, b := participant("rm"), participant("rm")
	call(t, "POST", "/v1/participants", startBody(a, "jobbgaranti", time.Now().AddDate(0, 0, -20).Format(time.DateOnly)))
	call(t, "POST", "/v1/participants", fmt.Sprintf(`{"participantId":%q,"programId":"steg","unit":"vuxenutbildning","referredAt":%q}`, b, today()))
	call(t, "POST", "/v1/participants/"+a+"/plan", planBody(recent(time.Hour).Format(time.RFC3339)))
	call(t, "POST", "/v1/participants/"+a+"/exit", `{"reason":"moved","at":"`+time.Now().Format(time.RFC3339)+`"}`)
	caughtUp(t, a)
	caughtUp(t, b)

	var phase, unit string
	var planSigned *time.Time
	if err := env.store.Pool.QueryRow(context.Background(), `SELECT phase, unit, plan_signed_at FROM participants WHERE participant_id = $1`, a).Scan(&phase, &unit, &planSigned); err != nil {
		t.Fatal(err)
	}
	if phase != "exited" || unit != "arbetsmarknad" || planSigned == nil {
		t.Fatalf("read model for %s: %s %s %v", a, phase, unit, planSigned)
	}
	var overdue int
	_ = env.store.Pool.QueryRow(context.Background(), `SELECT count(*) FROM deadlines WHERE participant_id = $1 AND status = 'open'`, b).Scan(&overdue)
	if overdue == 0 {
		t.Fatalf("the new journey's open deadlines are not in the read model")
	}

	before := readModel(t, a) + readModel(t, b)
	if _, err := env.store.Rebuild(context.Background()); err != nil {
		t.Fatal(err)
	}
	if after := readModel(t, a) + readModel(t, b); after != before {
		t.Fatalf("the rebuilt read model differs from the live one:\nlive:\n%s\nrebuilt:\n%s", before, after)
	}
}

func TestManagersSeeWhoIsOverdueWhoWaitsAndEachCaseload(t *testing.T) {
	unit := "unit-" + participant("u") // a unit of this test's own
	orgUnit(t, unit, "g-"+unit)
	waiting, late, fine := participant("q"), participant("o"), participant("f")
	body := func(id, guide, referred string) string {
		g := ""
		if guide != "" {
			g = fmt.Sprintf(`,"guideId":%q`, guide)
		}
		return fmt.Sprintf(`{"participantId":%q,"programId":"jobbgaranti","unit":%q,"referredAt":%q%s}`, id, unit, referred, g)
	}
	call(t, "POST", "/v1/participants", body(waiting, "", time.Now().AddDate(0, 0, -10).Format(time.DateOnly)))
	call(t, "POST", "/v1/participants", body(late, "g-"+unit, time.Now().AddDate(0, 0, -30).Format(time.DateOnly)))
	call(t, "POST", "/v1/participants", body(fine, "g-"+unit, today()))
	for _, id := range []string{waiting, late, fine} {
		caughtUp(t, id)
	}

	var list struct {
		Participants []store.ParticipantRow `json:"participants"`
		Next         string                 `json:"next"`
	}
	call(t, "GET", "/v1/participants?unit="+unit, "").decode(t, &list)
	if len(list.Participants) != 3 || list.Next != "" {
		t.Fatalf("unit list: %+v", list)
	}
	list.Participants = nil
	call(t, "GET", "/v1/participants?unit="+unit+"&overdue=true", "").decode(t, &list)
	if len(list.Participants) != 2 { // the one referred 30 days ago, and the one without a guide for 10 days
		t.Fatalf("overdue: %+v", list.Participants)
	}
	list.Participants = nil
	call(t, "GET", "/v1/participants?unit="+unit+"&waitingForGuide=true", "").decode(t, &list)
	if len(list.Participants) != 1 || list.Participants[0].ParticipantID != waiting || list.Participants[0].Phase != "waiting_for_guide" {
		t.Fatalf("waiting for a guide: %+v", list.Participants)
	}
	// Keyset paging: two pages of two and one.
	list.Participants, list.Next = nil, ""
	call(t, "GET", "/v1/participants?unit="+unit+"&limit=2", "").decode(t, &list)
	first := list
	list.Participants, list.Next = nil, ""
	call(t, "GET", "/v1/participants?unit="+unit+"&limit=2&after="+first.Next, "").decode(t, &list)
	if len(first.Participants) != 2 || first.Next == "" || len(list.Participants) != 1 || list.Next != "" ||
		list.Participants[0].ParticipantID <= first.Next {
		t.Fatalf("paging: %+v then %+v", first, list)
	}

	// An urgent case referred later goes before the longer wait: need first.
	urgent := participant("q")
	call(t, "POST", "/v1/participants", fmt.Sprintf(`{"participantId":%q,"programId":"jobbgaranti","unit":%q,"referredAt":%q,"priority":1}`,
		urgent, unit, time.Now().AddDate(0, 0, -1).Format(time.DateOnly)))
	caughtUp(t, urgent)
	var q struct {
		Participants []store.QueueRow `json:"participants"`
	}
	call(t, "GET", "/v1/queue?unit="+unit, "").decode(t, &q)
	if len(q.Participants) != 2 || q.Participants[0].ParticipantID != urgent || q.Participants[1].ParticipantID != waiting || q.Participants[1].WaitingDays < 9 {
		t.Fatalf("queue: %+v", q.Participants)
	}
	var od struct {
		Deadlines []store.OverdueRow `json:"deadlines"`
	}
	call(t, "GET", "/v1/overdue?unit="+unit+"&guideId=g-"+unit, "").decode(t, &od)
	kinds := map[string]bool{}
	for _, d := range od.Deadlines {
		if d.ParticipantID != late || d.DaysOverdue < 1 || d.EscalationLevel < 1 {
			t.Errorf("overdue row: %+v", d)
		}
		kinds[d.Kind] = true
	}
	if !kinds["plan"] || !kinds["first_meeting"] {
		t.Fatalf("the overdue list lacks the plan or first meeting: %+v", od.Deadlines)
	}
	// A page at a time, following next, it is the same list; a next that is not one is a 400.
	var paged []store.OverdueRow
	for path := "/v1/overdue?limit=1&unit=" + unit + "&guideId=g-" + unit; ; {
		var page struct {
			Deadlines []store.OverdueRow `json:"deadlines"`
			Next      string             `json:"next"`
		}
		call(t, "GET", path, "").decode(t, &page)
		paged = append(paged, page.Deadlines...)
		if page.Next == "" || len(paged) > len(od.Deadlines) {
			break
		}
		path = "/v1/overdue?limit=1&unit=" + unit + "&guideId=g-" + unit + "&after=" + url.QueryEscape(page.Next)
	}
	if len(paged) != len(od.Deadlines) || len(paged) < 2 {
		t.Fatalf("the overdue list a page of one at a time: %d rows, in one read %d", len(paged), len(od.Deadlines))
	}
	for i := range paged {
		if paged[i].DeadlineID != od.Deadlines[i].DeadlineID || paged[i].ParticipantID != od.Deadlines[i].ParticipantID {
			t.Errorf("page %d: %+v, the list's row %+v", i, paged[i], od.Deadlines[i])
		}
	}
	for _, bad := range []string{"nonsense", "e30"} { // not base64 JSON; {} without a key
		if r := call(t, "GET", "/v1/overdue?after="+bad, ""); r.status != http.StatusBadRequest || !strings.Contains(r.apiError(t).Message, "leave after out") {
			t.Errorf("after=%s: %d %s", bad, r.status, r.body)
		}
	}
	// Counted per guide by the report: the same deadlines.
	var byGuide struct {
		Rows []store.GuideOverdueRow `json:"rows"`
	}
	call(t, "GET", "/v1/reports/overdue-by-guide?unit="+unit, "").decode(t, &byGuide)
	found := false
	for _, g := range byGuide.Rows {
		if g.GuideID == "g-"+unit {
			found = g.OverdueDeadlines == len(od.Deadlines) && g.OverdueParticipants == 1
		}
	}
	if !found {
		t.Errorf("overdue by guide %+v; the list has %d deadlines of one participant for g-%s", byGuide.Rows, len(od.Deadlines), unit)
	}
	var cl struct {
		Total   int            `json:"total"`
		Overdue int            `json:"overdue"`
		ByPhase map[string]int `json:"byPhase"`
	}
	call(t, "GET", "/v1/guides/g-"+unit+"/caseload", "").decode(t, &cl)
	if cl.Total != 2 || cl.Overdue != 1 || cl.ByPhase["planning"] != 2 {
		t.Fatalf("caseload: %+v", cl)
	}
	if r := call(t, "GET", "/v1/participants?phase=sleeping", ""); r.status != http.StatusBadRequest || !strings.Contains(r.apiError(t).Message, "waiting_for_guide") {
		t.Fatalf("a bad phase filter: %d %s", r.status, r.body)
	}
}

func postCSV(t *testing.T, path, body string) response {
	t.Helper()
	resp, err := rawCall("POST", env.http.URL+path, "text/csv", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func TestEscalationsReachWhomTheOrgChartNamesAndLandInTheirInbox(t *testing.T) {
	u := "oc-" + participant("u")
	g, tl, um, tl2 := "g-"+u, "tl-"+u, "um-"+u, "tl2-"+u
	if r := call(t, "PUT", "/v1/units/"+u, `{"name":"Arbetsmarknad Norr"}`); r.status != 200 {
		t.Fatalf("unit: %d %s", r.status, r.body)
	}
	bad := "staff_id,name,email,unit_id,role,reports_to\n" + g + ",Anna Berg,anna@kommun.se," + u + ",coach,\n" + tl + ",,karin@kommun.se," + u + ",team_lead,\n"
	r := postCSV(t, "/v1/staff/import", bad)
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), "line 2 role") || !strings.Contains(string(r.body), "line 3 name") {
		t.Fatalf("bad CSV: %d %s", r.status, r.body)
	}
	good := "staff_id,name,email,unit_id,role,reports_to\n" +
		g + ",Anna Berg,anna@kommun.se," + u + ",guide," + tl + "\n" +
		tl + ",Karin Lund,karin@kommun.se," + u + ",team_lead," + um + "\n" +
		um + ",Olof Ek,olof@kommun.se," + u + ",unit_manager,\n"
	if r := postCSV(t, "/v1/staff/import", good); r.status != 200 || !strings.Contains(string(r.body), `"saved":3`) {
		t.Fatalf("good CSV: %d %s", r.status, r.body)
	}
	var staff struct {
		Staff []store.Staff `json:"staff"`
	}
	call(t, "GET", "/v1/staff?unit="+u, "").decode(t, &staff)
	if len(staff.Staff) != 3 {
		t.Fatalf("staff: %+v", staff)
	}

	p1 := participant("oc")
	call(t, "POST", "/v1/participants", fmt.Sprintf(`{"participantId":%q,"programId":"jobbgaranti","unit":%q,"referredAt":%q,"guideId":%q}`,
		p1, u, time.Now().AddDate(0, 0, -30).Format(time.DateOnly), g))
	inbox := func(who, status string) []store.InboxItem {
		var out struct {
			Notifications []store.InboxItem `json:"notifications"`
		}
		call(t, "GET", "/v1/notifications?status="+status, "", as(t, who, auth.TeamLead)...).decode(t, &out)
		return out.Notifications
	}
	waitInbox := func(who string, n int) []store.InboxItem {
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if items := inbox(who, "all"); len(items) >= n {
				return items
			}
		}
		t.Fatalf("%s's inbox never reached %d notifications: %+v", who, n, inbox(who, "all"))
		return nil
	}
	// Level 1 of first meeting, mapping and plan go to the guide's own team lead; level 2
	// of first meeting and plan to that lead's manager.
	leads := waitInbox(tl, 3)
	managers := waitInbox(um, 2)
	for _, it := range append(leads, managers...) {
		if it.Kind != "escalation" || it.ParticipantID != p1 {
			t.Errorf("unexpected inbox item %+v", it)
		}
	}

	read := call(t, "POST", fmt.Sprintf("/v1/notifications/%d/read", leads[0].Number), `{"recipient":"`+tl+`"}`, as(t, tl, auth.TeamLead)...)
	if read.status != 200 {
		t.Fatalf("mark read: %d %s", read.status, read.body)
	}
	if unread := inbox(tl, "unread"); len(unread) != len(leads)-1 {
		t.Fatalf("unread after marking one: %d of %d", len(unread), len(leads))
	}
	if r := call(t, "POST", fmt.Sprintf("/v1/notifications/%d/read", leads[0].Number), "", as(t, "someone-else", auth.Guide)...); r.status != http.StatusNotFound {
		t.Fatalf("marking another's notification: %d %s", r.status, r.body)
	}

	// A new team lead: the old one is deactivated, the guide now reports to the new one.
	// The next escalation goes to the new lead.
	call(t, "PUT", "/v1/staff/"+tl2, `{"name":"Sara Nord","unitId":"`+u+`","role":"team_lead","reportsTo":"`+um+`"}`)
	call(t, "PUT", "/v1/staff/"+g, `{"name":"Anna Berg","unitId":"`+u+`","role":"guide","reportsTo":"`+tl2+`"}`)
	if r := call(t, "DELETE", "/v1/staff/"+tl, ""); r.status != http.StatusNoContent {
		t.Fatalf("deactivate: %d %s", r.status, r.body)
	}
	p2 := participant("oc")
	call(t, "POST", "/v1/participants", fmt.Sprintf(`{"participantId":%q,"programId":"jobbgaranti","unit":%q,"referredAt":%q,"guideId":%q}`,
		p2, u, time.Now().AddDate(0, 0, -30).Format(time.DateOnly), g))
	for _, it := range waitInbox(tl2, 3) {
		if it.ParticipantID != p2 {
			t.Errorf("the new lead got %+v", it)
		}
	}
	if r := call(t, "PUT", "/v1/staff/x-"+u, `{"name":"X","unitId":"no-such-unit","role":"guide"}`); r.status != http.StatusUnprocessableEntity {
		t.Fatalf("a staff member in an unknown unit: %d %s", r.status, r.body)
	}
}

func TestReportsThroughTheAPIInJSONAndCSV(t *testing.T) {
	u := "rep-" + participant("u")
	orgUnit(t, u, "g-"+u)
	onTime, missing := participant("r"), participant("r")
	body := func(id, referred string) string {
		return fmt.Sprintf(`{"participantId":%q,"programId":"jobbgaranti","unit":%q,"referredAt":%q,"guideId":%q}`, id, u, referred, "g-"+u)
	}
	call(t, "POST", "/v1/participants", body(onTime, time.Now().Add(-2*time.Hour).Format(time.RFC3339)))
	call(t, "POST", "/v1/participants/"+onTime+"/plan", planBody(recent(time.Hour).Format(time.RFC3339)))
	call(t, "POST", "/v1/participants", body(missing, time.Now().AddDate(0, 0, -20).Format(time.DateOnly)))
	caughtUp(t, onTime)
	caughtUp(t, missing)

	var rep struct {
		Rows []store.TimelinessRow `json:"rows"`
	}
	call(t, "GET", "/v1/reports/plan-timeliness?unit="+u, "").decode(t, &rep)
	due, on, miss := 0, 0, 0
	for _, r := range rep.Rows {
		due, on, miss = due+r.Due, on+r.OnTime, miss+r.Missing
	}
	if due != 2 || on != 1 || miss != 1 {
		t.Fatalf("plan timeliness for %s: %+v", u, rep.Rows)
	}
	resp, err := rawCall("GET", env.http.URL+"/v1/reports/plan-timeliness?format=csv&unit="+u, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(string(b), "unit,month,due,onTime,late,missing,closed,share\n") || !strings.Contains(string(b), u+",") {
		t.Fatalf("CSV: %s", b)
	}
	for _, name := range []string{"follow-up-timeliness", "step-attainment", "exits", "waiting-time"} {
		if r := call(t, "GET", "/v1/reports/"+name+"?unit="+u, ""); r.status != 200 {
			t.Fatalf("%s: %d %s", name, r.status, r.body)
		}
	}
	if r := call(t, "GET", "/v1/reports/exits?from=last-year", ""); r.status != http.StatusBadRequest {
		t.Fatalf("a bad from: %d %s", r.status, r.body)
	}
}

func TestACaseloadImportIsIdempotentResumableAndNamesEveryBadRow(t *testing.T) {
	u := "imp-" + participant("u")
	ga, gb := "ga-"+u, "gb-"+u
	orgUnit(t, u, ga, gb)
	a, b, c := participant("ia"), participant("ib"), participant("ic")
	past := func(days int) string { return time.Now().AddDate(0, 0, -days).Format(time.DateOnly) }
	file := t.TempDir() + "/caseload.csv"
	csvText := "participant_id,program_id,unit,referred_at,guide_id,guide_assigned_at\n" +
		a + ",jobbgaranti," + u + "," + past(40) + "," + ga + ",\n" +
		b + ",steg," + u + "," + past(30) + "," + gb + "," + past(20) + "\n" +
		"bad-date,steg," + u + ",30/10/2026,,\n" +
		"198501011234,steg," + u + "," + past(10) + ",,\n" +
		c + ",steg," + u + "," + past(5) + ",,\n" +
		"short,row\n"
	if err := os.WriteFile(file, []byte(csvText), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := importer.Run(context.Background(), importer.Options{APIURL: env.http.URL, Token: defaultToken, File: file, Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Rows != 6 || sum.Started != 3 || len(sum.Rejected) != 3 {
		t.Fatalf("first run: %+v", sum)
	}
	lines := []int{sum.Rejected[0].Line, sum.Rejected[1].Line, sum.Rejected[2].Line}
	if fmt.Sprint(lines) != "[4 5 7]" || !strings.Contains(sum.Rejected[0].Reason, "referredAt") ||
		!strings.Contains(sum.Rejected[1].Reason, "personal identity number") {
		t.Fatalf("rejected rows: %+v", sum.Rejected)
	}
	// The guide took over 20 days ago, 10 days after the referral: the real wait.
	caughtUp(t, b)
	var j workflows.JourneyView
	call(t, "GET", "/v1/participants/"+b, "").decode(t, &j)
	if j.GuideID != gb || len(j.Guides) != 1 || j.Guides[0].From.Format(time.DateOnly) != past(20) {
		t.Fatalf("imported guide: %+v", j.Guides)
	}

	again, err := importer.Run(context.Background(), importer.Options{APIURL: env.http.URL, Token: defaultToken, File: file})
	if err != nil || again.Skipped != 0 || again.Started != 0 || again.Existing != 3 || len(again.Rejected) != 3 {
		t.Fatalf("a second run duplicates nothing: %+v %v", again, err)
	}
	// A run stopped after line 3 left its checkpoint: the next one starts at line 4.
	if err := os.WriteFile(importer.CheckpointFile(file), []byte("3"), 0o644); err != nil {
		t.Fatal(err)
	}
	resumed, err := importer.Run(context.Background(), importer.Options{APIURL: env.http.URL, Token: defaultToken, File: file})
	if err != nil || resumed.Skipped != 2 || resumed.Existing != 1 || len(resumed.Rejected) != 3 {
		t.Fatalf("a resumed run: %+v %v", resumed, err)
	}
	if _, err := os.Stat(importer.CheckpointFile(file)); !os.IsNotExist(err) {
		t.Fatalf("a finished run leaves its checkpoint behind: %v", err)
	}
}

func TestJourneysCanBeFoundInTemporalBySearchAttributes(t *testing.T) {
	u := "sa-" + participant("u")
	orgUnit(t, u, "g-"+u)
	p := participant("sa")
	if r := call(t, "POST", "/v1/participants", fmt.Sprintf(`{"participantId":%q,"programId":"jobbgaranti","unit":%q,"referredAt":%q,"guideId":%q}`, p, u, today(), "g-"+u)); r.status != http.StatusCreated {
		t.Fatalf("start: %d %s", r.status, r.body)
	}
	c := env.temporal.GetDefaultClient()
	query := fmt.Sprintf("StegvisUnit = '%s' AND StegvisPhase = 'planning' AND StegvisGuide = '%s'", u, "g-"+u)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		resp, err := c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Executions) == 1 && resp.Executions[0].Execution.WorkflowId == workflows.JourneyWorkflowID(p) {
			return
		}
	}
	t.Fatalf("no journey found in Temporal with %s", query)
}

// TestAManagerAnswersEveryQuestionOnAnImportedCaseload imports a small caseload (with
// guides, waiting, and bad rows), records a few plans and exits, and asks every
// manager question through the API.
func TestAManagerAnswersEveryQuestionOnAnImportedCaseload(t *testing.T) {
	u := "case-" + participant("u")
	orgUnit(t, u, "g1-"+u, "g2-"+u)
	var b strings.Builder
	b.WriteString("participant_id,program_id,unit,referred_at,guide_id,guide_assigned_at\n")
	var withGuide, waiting []string
	for i := range 12 {
		id := fmt.Sprintf("%s-g%02d", u, i)
		withGuide = append(withGuide, id)
		guide := "g1-" + u
		if i%2 == 1 {
			guide = "g2-" + u
		}
		fmt.Fprintf(&b, "%s,jobbgaranti,%s,%s,%s,\n", id, u, time.Now().AddDate(0, 0, -40+i).Format(time.DateOnly), guide)
	}
	for i := range 6 {
		id := fmt.Sprintf("%s-w%02d", u, i)
		waiting = append(waiting, id)
		fmt.Fprintf(&b, "%s,steg,%s,%s,,\n", id, u, time.Now().AddDate(0, 0, -30+i).Format(time.DateOnly))
	}
	b.WriteString("bad-1,nope," + u + "," + today() + ",,\n")
	file := t.TempDir() + "/caseload.csv"
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := importer.Run(context.Background(), importer.Options{APIURL: env.http.URL, Token: defaultToken, File: file, Concurrency: 6})
	// A start that timed out under load and was retried counts as already there.
	if err != nil || sum.Started+sum.Existing != 18 || len(sum.Rejected) != 1 || !strings.Contains(sum.Rejected[0].Reason, "unknown programme") {
		t.Fatalf("import: %+v %v", sum, err)
	}
	// Four plans signed, two of them within five working days of the referral; two exits.
	for i, id := range withGuide[:4] {
		var j workflows.JourneyView
		call(t, "GET", "/v1/participants/"+id, "").decode(t, &j)
		signed := j.ReferredAt.Add(24 * time.Hour) // in time
		if i >= 2 {
			signed = j.ReferredAt.AddDate(0, 0, 15) // late
		}
		if r := call(t, "POST", "/v1/participants/"+id+"/plan", planBody(signed.Format(time.RFC3339))); r.status != 200 {
			t.Fatalf("plan %s: %d %s", id, r.status, r.body)
		}
	}
	call(t, "POST", "/v1/participants/"+withGuide[10]+"/exit", `{"reason":"employment_regular","at":"`+time.Now().Format(time.RFC3339)+`"}`)
	call(t, "POST", "/v1/participants/"+withGuide[11]+"/exit", `{"reason":"studies","at":"`+time.Now().Format(time.RFC3339)+`"}`)
	for _, id := range append(append([]string{}, withGuide...), waiting...) {
		caughtUp(t, id)
	}

	// Who is overdue? Everyone not exited has a deadline passed (imported 20+ days back).
	var list struct {
		Participants []store.ParticipantRow `json:"participants"`
	}
	call(t, "GET", "/v1/participants?unit="+u+"&overdue=true&limit=500", "").decode(t, &list)
	if len(list.Participants) != 16 {
		t.Fatalf("overdue participants: %d, want 16", len(list.Participants))
	}
	// Who waits for a guide, and for how long?
	var q struct {
		Participants []store.QueueRow `json:"participants"`
	}
	call(t, "GET", "/v1/queue?unit="+u, "").decode(t, &q)
	if len(q.Participants) != 6 || q.Participants[0].ParticipantID != waiting[0] || q.Participants[0].WaitingDays < 29 {
		t.Fatalf("queue: %+v", q.Participants)
	}
	var w struct {
		Rows []store.WaitingRow `json:"rows"`
	}
	call(t, "GET", "/v1/reports/waiting-time?unit="+u, "").decode(t, &w)
	if len(w.Rows) != 1 || w.Rows[0].Participants != 6 || w.Rows[0].StillWaiting != 6 || w.Rows[0].LongestDays < 29 {
		t.Fatalf("waiting time: %+v", w.Rows)
	}
	// Each guide's caseload.
	var cl struct {
		Total int `json:"total"`
	}
	call(t, "GET", "/v1/guides/g1-"+u+"/caseload", "").decode(t, &cl)
	if cl.Total != 5 { // six assigned, one (index 10) exited
		t.Fatalf("g1 caseload: %d", cl.Total)
	}
	// How many got a plan within 5 days?
	var plan struct {
		Rows []store.TimelinessRow `json:"rows"`
	}
	call(t, "GET", "/v1/reports/plan-timeliness?unit="+u, "").decode(t, &plan)
	due, onTime, late := 0, 0, 0
	for _, r := range plan.Rows {
		due, onTime, late = due+r.Due, onTime+r.OnTime, late+r.Late
	}
	// 18 plans due (the two exited journeys' plans were still open, so closed: not due).
	if onTime != 2 || late != 2 || due != 16 {
		t.Fatalf("plan timeliness: due %d on time %d late %d: %+v", due, onTime, late, plan.Rows)
	}
	// Why did people leave?
	var ex struct {
		Rows []store.ExitRow `json:"rows"`
	}
	call(t, "GET", "/v1/reports/exits?unit="+u, "").decode(t, &ex)
	reasons := map[string]int{}
	for _, r := range ex.Rows {
		reasons[r.Reason] += r.Count
	}
	if reasons["employment_regular"] != 1 || reasons["studies"] != 1 {
		t.Fatalf("exits: %+v", ex.Rows)
	}
	// Steps: the steg journeys' first milestone is three months away: nothing reached yet.
	var st struct {
		Rows []store.StepRow `json:"rows"`
	}
	call(t, "GET", "/v1/reports/step-attainment?unit="+u, "").decode(t, &st)
	for _, r := range st.Rows {
		if r.Reached != 0 || r.TargetPct == 0 {
			t.Fatalf("step attainment before any milestone: %+v", st.Rows)
		}
	}
}
