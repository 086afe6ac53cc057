package selfcheck_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/server/temporaltest"

	"github.com/stegvis/stegvis/activities"
	"github.com/stegvis/stegvis/api"
	"github.com/stegvis/stegvis/auth"
	"github.com/stegvis/stegvis/metrics"
	"github.com/stegvis/stegvis/protect"
	"github.com/stegvis/stegvis/selfcheck"
	"github.com/stegvis/stegvis/store"
	"github.com/stegvis/stegvis/store/storetest"
	"github.com/stegvis/stegvis/worker"
	"github.com/stegvis/stegvis/workflows"
)

// system is a whole stegvis of its own: a real Temporal server in process with a
// worker, a real PostgreSQL database, and the API, so that a clean system is clean.
type system struct {
	t        *testing.T
	st       *store.Store
	ts       *temporaltest.TestServer
	c        client.Client
	api      string
	issuer   *auth.DevIssuer
	checker  *selfcheck.Checker
	registry *metrics.Registry
}

func newSystem(t *testing.T) *system {
	st, _ := storetest.New(t)
	keys, err := protect.ParseKeys("t1:" + protect.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	ts := temporaltest.NewServer(temporaltest.WithT(t),
		temporaltest.WithBaseClientOptions(client.Options{DataConverter: protect.DataConverter(keys)}))
	c := ts.GetDefaultClient()
	// The gauges come from the database, as every process serves them; asked afresh on
	// each scrape here.
	reg := metrics.New()
	reg.RegisterReadModel(st, metrics.ReadModelOptions{Refresh: time.Nanosecond, SelfCheckKinds: selfcheck.KindNames()})
	checker := &selfcheck.Checker{Store: st, Temporal: c, Namespace: ts.GetDefaultNamespace(), Grace: time.Second}
	acts := &activities.Activities{Notifications: st, Journal: st, Directory: st, SelfCheck: checker}
	w := ts.NewWorkerWithOptions(workflows.TaskQueue, func(r sdkworker.Registry) { worker.Register(r, acts) }, sdkworker.Options{})
	t.Cleanup(w.Stop)
	issuer, err := auth.NewDevIssuer("https://idp.kommun.test", "")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.NewRouter(api.Deps{Temporal: c, DB: st, Log: zerolog.Nop(), Metrics: metrics.New(),
		Auth: issuer.Verifier(), Keys: keys, SelfCheck: checker}))
	t.Cleanup(srv.Close)
	return &system{t: t, st: st, ts: ts, c: c, api: srv.URL, issuer: issuer, checker: checker, registry: reg}
}

// call sends a request as subject with roles and returns the status and body.
func (s *system) call(method, path, body, subject string, roles ...auth.Role) (int, []byte) {
	s.t.Helper()
	tok, err := s.issuer.Mint(subject, time.Hour, roles...)
	if err != nil {
		s.t.Fatal(err)
	}
	var rdr io.Reader
	if body != "" {
		rdr = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, s.api+path, rdr)
	req.Header.Set("Authorization", "Bearer "+tok)
	if strings.HasPrefix(body, "staff_id,") {
		req.Header.Set("Content-Type", "text/csv")
	} else if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (s *system) admin(method, path, body string) (int, []byte) {
	s.t.Helper()
	return s.call(method, path, body, "ekb-admin", auth.Admin, auth.System)
}

func (s *system) exec(sql string, args ...any) {
	s.t.Helper()
	if _, err := s.st.Pool.Exec(context.Background(), sql, args...); err != nil {
		s.t.Fatalf("%s: %v", sql, err)
	}
}

// start refers a participant now, and waits until the read model has their journey.
func (s *system) start(id, unit, guide, caseWorker string) {
	s.t.Helper()
	body := fmt.Sprintf(`{"participantId":%q,"programId":"jobbgaranti","unit":%q,"referredAt":%q,"guideId":%q,"caseWorkerId":%q}`,
		id, unit, time.Now().Format(time.RFC3339), guide, caseWorker)
	if status, b := s.admin("POST", "/v1/participants", body); status != http.StatusCreated {
		s.t.Fatalf("start %s: %d %s", id, status, b)
	}
	s.caughtUp(id)
}

// caughtUp waits until the read model holds a journey's latest event.
func (s *system) caughtUp(id string) {
	s.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		v, err := s.c.QueryWorkflow(context.Background(), workflows.JourneyWorkflowID(id), "", workflows.QueryState)
		if err != nil {
			continue
		}
		var st workflows.JourneyState
		if v.Get(&st) != nil || len(st.Outbox) > 0 {
			continue
		}
		var seq int64
		if s.st.Pool.QueryRow(context.Background(), `SELECT seq FROM participants WHERE participant_id = $1`, id).Scan(&seq) == nil && seq == st.EventSeq {
			return
		}
	}
	s.t.Fatalf("the read model never caught up with %s", id)
}

// report asks GET /v1/admin/self-check as an admin.
func (s *system) report() selfcheck.Report {
	s.t.Helper()
	status, b := s.call("GET", "/v1/admin/self-check", "", "ekb-admin", auth.Admin)
	if status != http.StatusOK {
		s.t.Fatalf("self-check: %d %s", status, b)
	}
	var r selfcheck.Report
	if err := json.Unmarshal(b, &r); err != nil {
		s.t.Fatal(err)
	}
	return r
}

func (s *system) inbox(subject string, role auth.Role) []store.InboxItem {
	s.t.Helper()
	status, b := s.call("GET", "/v1/notifications", "", subject, role)
	if status != http.StatusOK {
		s.t.Fatalf("inbox of %s: %d %s", subject, status, b)
	}
	var out struct {
		Notifications []store.InboxItem `json:"notifications"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		s.t.Fatal(err)
	}
	return out.Notifications
}

// scrape is the registry's /metrics page.
func (s *system) scrape() string {
	rec := httptest.NewRecorder()
	s.registry.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

// metric reads one series' value from the /metrics page; -1 when it is missing.
func (s *system) metric(series string) float64 {
	s.t.Helper()
	for line := range strings.Lines(s.scrape()) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				s.t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	return -1
}

// finding is what the test expects of a finding.
type finding struct{ kind, participant, unit string }

func findingsOf(r selfcheck.Report) []finding {
	var out []finding
	for _, f := range r.Findings {
		out = append(out, finding{string(f.Kind), f.ParticipantID, f.Unit})
	}
	return out
}

func selfCheckNotices(items []store.InboxItem) []finding {
	var out []finding
	for _, it := range items {
		if it.Kind == "self_check" {
			out = append(out, finding{it.DeadlineID, it.ParticipantID, it.Unit})
		}
	}
	slices.SortFunc(out, func(a, b finding) int { return strings.Compare(a.kind+a.participant, b.kind+b.participant) })
	return out
}

// TestTheSelfCheckFindsEveryKindOfInconsistencyAndAnsweredCleanBefore builds a small
// organisation with consistent journeys (the check finds nothing), then breaks one thing
// per kind of finding and sees each reported by the API, in the metrics, and in the
// inbox of the unit's manager (the admins' for what belongs to no unit), once.
func TestTheSelfCheckFindsEveryKindOfInconsistencyAndAnsweredCleanBefore(t *testing.T) {
	s := newSystem(t)
	ctx := context.Background()
	const u, u2 = "sc-norr", "sc-syd"
	for _, unit := range []string{u, u2} {
		if status, b := s.admin("PUT", "/v1/units/"+unit, `{"name":"Enhet"}`); status != http.StatusOK {
			t.Fatalf("unit %s: %d %s", unit, status, b)
		}
	}
	csv := "staff_id,name,email,unit_id,role,reports_to\n" +
		"um-norr,Olof Ek,," + u + ",unit_manager,\n" + "um-syd,Eva Syd,," + u2 + ",unit_manager,\n" +
		"tl-norr,Karin Lund,," + u + ",team_lead,um-norr\n" + "tl-syd,Per Syd,," + u2 + ",team_lead,um-syd\n" +
		"g-anna,Anna Berg,," + u + ",guide,tl-norr\n" + "g-bo,Bo Ek,," + u + ",guide,tl-norr\n" + "g-syd,Sara Syd,," + u2 + ",guide,tl-syd\n" +
		"cw-lena,Lena Ås,," + u + ",case_worker,\n" + "cw-mats,Mats Ås,," + u + ",case_worker,\n"
	if status, b := s.admin("POST", "/v1/staff/import", csv); status != http.StatusOK {
		t.Fatalf("staff: %d %s", status, b)
	}
	// One journey per inconsistency to come, and one that stays as it is.
	s.start("sc-clean", u, "g-anna", "cw-mats")
	s.start("sc-term", u, "g-anna", "")
	s.start("sc-orphan", u, "g-anna", "")
	s.start("sc-deadline", u, "g-anna", "")
	s.start("sc-norcpt", u, "g-anna", "")
	s.start("sc-guide", u, "g-bo", "")
	s.start("sc-unit", u2, "g-syd", "")
	s.start("sc-case", u, "g-anna", "cw-lena")
	s.start("sc-delivery", u, "g-anna", "")
	s.start("sc-journal", u, "g-anna", "")

	// A clean system: nothing found, every kind counted 0.
	clean := s.report()
	if clean.Total != 0 || len(clean.Findings) != 0 {
		t.Fatalf("a consistent system has findings: %+v", clean.Findings)
	}
	if len(clean.Counts) != 10 || clean.Counts[selfcheck.JourneyWithoutWorkflow] != 0 || clean.Counts[selfcheck.DeliveryFailed] != 0 {
		t.Fatalf("counts of a clean check: %+v", clean.Counts)
	}
	if got := s.metric(`stegvis_self_check_findings{kind="deadline_mismatch"}`); got != 0 {
		t.Fatalf("findings gauge after a clean check: %v", got)
	}
	if got := strings.Count(s.scrape(), "\nstegvis_self_check_findings{"); got != 10 {
		t.Fatalf("the findings gauge has %d kinds, want all 10", got)
	}

	// Break one thing per kind.
	// A journey whose workflow is gone: the read model still shows it active.
	if err := s.c.TerminateWorkflow(ctx, workflows.JourneyWorkflowID("sc-term"), "", "test: terminated by an operator"); err != nil {
		t.Fatal(err)
	}
	// A running journey the read model does not know.
	s.exec(`DELETE FROM participants WHERE participant_id = 'sc-orphan'`)
	// A deadline whose next notice the read model has two days later than the journey.
	s.exec(`UPDATE deadlines SET next_notice_at = next_notice_at + interval '2 days' WHERE participant_id = 'sc-deadline' AND deadline_id = 'plan'`)
	// An escalation of the journey that found nobody to go to.
	s.exec(`INSERT INTO notifications (id, participant_id, unit, deadline_id, deadline_kind, kind, level, recipient_role, due_at, planned_at)
		SELECT journey_id || '/plan/escalation-1', participant_id, unit, 'plan', 'plan', 'escalation', 1, 'team_lead', now(), now()
		FROM participants WHERE participant_id = 'sc-norcpt'`)
	// Org chart: a guide, a unit and a case worker deactivated.
	for _, path := range []string{"/v1/staff/g-bo", "/v1/units/" + u2, "/v1/staff/cw-lena"} {
		if status, b := s.admin("DELETE", path, ""); status != http.StatusNoContent {
			t.Fatalf("deactivate %s: %d %s", path, status, b)
		}
	}
	// A delivery that failed for good, not handled.
	s.exec(`INSERT INTO notifications (id, participant_id, unit, deadline_id, deadline_kind, kind, level, recipient_role, recipient_id,
			due_at, planned_at, delivery_failed_at, delivery_failure)
		SELECT journey_id || '/first_meeting/escalation-1', participant_id, unit, 'first_meeting', 'first_meeting', 'escalation', 1,
			'team_lead', 'tl-norr', now(), now(), now(), 'email: 550 mailbox unavailable'
		FROM participants WHERE participant_id = 'sc-delivery'`)
	// Journal writes that failed: one of a journey in a unit, one of a participant the
	// read model has never heard of (no unit: the admins hear of it). A resolved one is
	// no news.
	s.exec(`INSERT INTO journal_write_failures (participant_id, journey_id, first_seq, last_seq, reason) VALUES
		('sc-journal', 'run-1', 3, 4, 'permanent: invalid byte sequence for encoding "UTF8": 0x00'),
		('sc-ghost', 'run-2', 1, 1, 'permanent: value too long'),
		('sc-clean', 'run-3', 2, 2, 'transient: connection refused')`)
	s.exec(`UPDATE journal_write_failures SET resolved_at = now() WHERE participant_id = 'sc-clean'`)
	time.Sleep(1500 * time.Millisecond) // past the grace period of one second: sc-orphan is no longer new

	want := []finding{
		{"journey_without_workflow", "sc-term", u},
		{"workflow_without_journey", "sc-orphan", u},
		{"deadline_mismatch", "sc-deadline", u},
		{"notification_without_recipient", "sc-norcpt", u},
		{"unit_not_in_org_chart", "sc-unit", u2},
		{"guide_not_in_org_chart", "sc-guide", u},
		{"case_worker_not_in_org_chart", "sc-case", u},
		{"delivery_failed", "sc-delivery", u},
		{"journal_write_failed", "sc-ghost", ""},
		{"journal_write_failed", "sc-journal", u},
	}
	rep := s.report()
	if got := findingsOf(rep); !slices.Equal(got, want) {
		t.Fatalf("findings:\n got %+v\nwant %+v\n%+v", got, want, rep.Findings)
	}
	if rep.Total != 10 || rep.Counts[selfcheck.JournalWriteFailed] != 2 || rep.Counts[selfcheck.GuideNotInOrgChart] != 1 ||
		rep.Counts[selfcheck.JourneyNotAnswering] != 0 || rep.Notified != 0 {
		t.Fatalf("total %d, counts %+v, notified %d", rep.Total, rep.Counts, rep.Notified)
	}
	// What each says, and that it says what to do.
	texts := map[string][2]string{}
	for _, f := range rep.Findings {
		texts[string(f.Kind)+"/"+f.ParticipantID] = [2]string{f.Problem, f.Action}
		if f.Problem == "" || f.Action == "" || f.FirstSeenAt.IsZero() {
			t.Errorf("incomplete finding %+v", f)
		}
	}
	for key, parts := range map[string][]string{
		"journey_without_workflow/sc-term":         {"journey-sc-term has ended (terminated)", "temporal workflow reset"},
		"workflow_without_journey/sc-orphan":       {"the read model has no row for them"},
		"deadline_mismatch/sc-deadline":            {"plan: the read model plans the next notice at", "stegvis rebuild"},
		"notification_without_recipient/sc-norcpt": {"1 notice(s)", "deadlines plan", "no active team lead of unit sc-norr", "POST /v1/admin/deliveries/{number}/handled for notification "},
		"unit_not_in_org_chart/sc-unit":            {"unit sc-syd, which is deactivated", "/v1/participants/sc-unit/transfer"},
		"guide_not_in_org_chart/sc-guide":          {"guide g-bo is deactivated", "/v1/participants/sc-guide/guide"},
		"case_worker_not_in_org_chart/sc-case":     {"case worker cw-lena is deactivated", "PUT /v1/staff/cw-lena"},
		"delivery_failed/sc-delivery":              {"first_meeting to tl-norr, could not be delivered (email: 550 mailbox unavailable)", "mark the failure handled", "/v1/admin/deliveries/"},
		"journal_write_failed/sc-journal":          {"1 write(s)", "events 3–4", "0x00", "/v1/admin/journal-failures/sc-journal/resolved"},
		"journal_write_failed/sc-ghost":            {"value too long"},
	} {
		text := texts[key][0] + " " + texts[key][1]
		for _, p := range parts {
			if !strings.Contains(text, p) {
				t.Errorf("%s does not say %q: %s", key, p, text)
			}
		}
	}
	// No personal data: the names in the org chart appear nowhere.
	b, _ := json.Marshal(rep)
	for _, name := range []string{"Anna", "Berg", "Lena", "Olof"} {
		if strings.Contains(string(b), name) {
			t.Errorf("the report names %q: %s", name, b)
		}
	}
	// An admin's read records nothing: the gauges are those of the recording runs.
	if got := s.metric(`stegvis_self_check_findings{kind="journal_write_failed"}`); got != 0 {
		t.Errorf("stegvis_self_check_findings{kind=journal_write_failed} after an admin's read = %v, want 0", got)
	}
	if last := s.metric("stegvis_self_check_last_success_timestamp_seconds"); last != -1 {
		t.Errorf("last success %v before any recording run, want no series", last)
	}
	// The admin's read notified nobody.
	if items := selfCheckNotices(s.inbox("um-norr", auth.UnitManager)); len(items) != 0 {
		t.Fatalf("an admin's read notified the manager: %+v", items)
	}

	// The daily run, as the schedule starts it: the workflow and its activity.
	daily := func() activities.SelfCheckSummary {
		t.Helper()
		run, err := s.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.SelfCheckWorkflowID, TaskQueue: workflows.TaskQueue},
			workflows.SelfCheckWorkflowType)
		if err != nil {
			t.Fatal(err)
		}
		var res activities.SelfCheckSummary
		if err := run.Get(ctx, &res); err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := daily(); res.Findings != 10 || res.Notified != 10 || res.ByKind["journal_write_failed"] != 2 {
		t.Fatalf("the daily run: %+v", res)
	}
	// The gauges, as every process reads them from the database.
	if got := s.metric(`stegvis_self_check_findings{kind="journal_write_failed"}`); got != 2 {
		t.Errorf("stegvis_self_check_findings{kind=journal_write_failed} = %v, want 2", got)
	}
	if got := s.metric(`stegvis_self_check_findings{kind="journey_not_answering"}`); got != 0 {
		t.Errorf("stegvis_self_check_findings{kind=journey_not_answering} = %v, want 0", got)
	}
	if last := s.metric("stegvis_self_check_last_success_timestamp_seconds"); last < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Errorf("last success %v, want within the last minute", last)
	}
	// Each manager has their unit's findings; the admins the one without a unit.
	wantNorr := []finding{
		{"case_worker_not_in_org_chart", "sc-case", u},
		{"deadline_mismatch", "sc-deadline", u},
		{"delivery_failed", "sc-delivery", u},
		{"guide_not_in_org_chart", "sc-guide", u},
		{"journal_write_failed", "sc-journal", u},
		{"journey_without_workflow", "sc-term", u},
		{"notification_without_recipient", "sc-norcpt", u},
		{"workflow_without_journey", "sc-orphan", u},
	}
	norr := s.inbox("um-norr", auth.UnitManager)
	if got := selfCheckNotices(norr); !slices.Equal(got, wantNorr) {
		t.Fatalf("um-norr's inbox:\n got %+v\nwant %+v", got, wantNorr)
	}
	for _, it := range norr {
		if it.RecipientID != "um-norr" || it.RecipientRole != "unit_manager" || !strings.Contains(it.Message, it.ParticipantID) {
			t.Errorf("um-norr's notice %+v", it)
		}
	}
	if got := selfCheckNotices(s.inbox("um-syd", auth.UnitManager)); !slices.Equal(got, []finding{{"unit_not_in_org_chart", "sc-unit", u2}}) {
		t.Errorf("um-syd's inbox: %+v", got)
	}
	adminItems := s.inbox("some-admin", auth.Admin)
	if got := selfCheckNotices(adminItems); !slices.Equal(got, []finding{{"journal_write_failed", "sc-ghost", ""}}) {
		t.Fatalf("the admins' inbox: %+v", got)
	}
	if it := adminItems[0]; it.RecipientRole != "admin" || !strings.Contains(it.Message, "value too long") {
		t.Errorf("the admins' notice %+v", it)
	}
	// Another admin marks it read; it is read for every admin.
	if status, b := s.call("POST", fmt.Sprintf("/v1/notifications/%d/read", adminItems[0].Number), "", "other-admin", auth.Admin); status != http.StatusOK {
		t.Fatalf("an admin marks the shared notice read: %d %s", status, b)
	}
	if status, b := s.call("GET", "/v1/notifications?status=unread", "", "some-admin", auth.Admin); status != http.StatusOK || strings.Contains(string(b), "sc-ghost") {
		t.Errorf("the shared notice is still unread: %d %s", status, b)
	}
	// A guide cannot mark the admins' notice read.
	if status, _ := s.call("POST", fmt.Sprintf("/v1/notifications/%d/read", adminItems[0].Number), "", "g-anna", auth.Guide); status != http.StatusNotFound {
		t.Errorf("a guide marked the admins' notice: %d", status)
	}

	// The next morning: the same findings are not notified again.
	if res := daily(); res.Findings != 10 || res.Notified != 0 {
		t.Fatalf("the second daily run notified again: %+v", res)
	}
	if got := len(selfCheckNotices(s.inbox("um-norr", auth.UnitManager))); got != 8 {
		t.Fatalf("um-norr has %d self-check notices after two runs, want 8", got)
	}
	// Fixed: the guide is back. The finding is resolved; found again later, it is news.
	if status, b := s.admin("PUT", "/v1/staff/g-bo", `{"name":"Bo Ek","unitId":"`+u+`","role":"guide","reportsTo":"tl-norr"}`); status != http.StatusOK {
		t.Fatalf("reactivate g-bo: %d %s", status, b)
	}
	if res := daily(); res.Findings != 9 || res.ByKind["guide_not_in_org_chart"] != 0 {
		t.Fatalf("after the fix: %+v", res)
	}
	var resolved bool
	if err := s.st.Pool.QueryRow(ctx, `SELECT resolved_at IS NOT NULL FROM self_check_findings WHERE kind = 'guide_not_in_org_chart' AND subject = 'sc-guide'`).Scan(&resolved); err != nil || !resolved {
		t.Fatalf("the fixed finding is not resolved: %v %v", resolved, err)
	}
	if got := s.metric(`stegvis_self_check_findings{kind="guide_not_in_org_chart"}`); got != 0 {
		t.Errorf("the gauge of a fixed kind: %v", got)
	}
	// A notice that reached nobody, followed up by hand: an admin marks it handled and it
	// is no longer a finding.
	var norcpt int64
	if err := s.st.Pool.QueryRow(ctx, `SELECT number FROM notifications WHERE participant_id = 'sc-norcpt' AND recipient_id IS NULL`).Scan(&norcpt); err != nil {
		t.Fatal(err)
	}
	if status, b := s.admin("POST", fmt.Sprintf("/v1/admin/deliveries/%d/handled", norcpt), ""); status != http.StatusOK {
		t.Fatalf("mark the notice without a recipient handled: %d %s", status, b)
	}
	if res := daily(); res.Findings != 8 || res.ByKind["notification_without_recipient"] != 0 {
		t.Fatalf("after the notice without a recipient was handled: %+v", res)
	}
	s.exec(`UPDATE notifications SET delivery_handled_at = NULL, delivery_handled_by = NULL WHERE number = $1`, norcpt)
	s.exec(`UPDATE staff SET active = false WHERE staff_id = 'g-bo'`)
	if res := daily(); res.Findings != 10 || res.Notified != 2 {
		t.Fatalf("a finding back after it was resolved: %+v", res)
	}
	// Both back after they were resolved: news again, each once more.
	if got := len(selfCheckNotices(s.inbox("um-norr", auth.UnitManager))); got != 10 {
		t.Fatalf("um-norr has %d self-check notices, want 10", got)
	}
}

// A journey that answers no query (nobody polls its task queue) is a finding of its
// own, so that a stuck workflow task does not pass as consistent.
func TestTheSelfCheckReportsAJourneyThatDoesNotAnswer(t *testing.T) {
	s := newSystem(t)
	ctx := context.Background()
	now := time.Now()
	// In the read model, as a journey would write it, and running on a queue with no worker.
	err := s.st.RecordJourneyEvents(ctx, activities.JourneyEvents{ParticipantID: "sc-stuck", JourneyID: "run-stuck",
		Events:   []activities.JourneyEvent{{Seq: 1, At: now, Kind: "referred", Summary: "referred to Jobbgaranti in sc-norr"}},
		Snapshot: activities.JourneySnapshot{Unit: "sc-norr", ProgramID: "jobbgaranti", ProgramVersion: 1, Phase: "planning", ReferredAt: now, NextNotices: true}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.JourneyWorkflowID("sc-stuck"), TaskQueue: "nobody-polls"},
		workflows.JourneyWorkflowType, workflows.JourneyInput{}); err != nil {
		t.Fatal(err)
	}
	rep, err := s.checker.Check(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The unit is not in the org chart either: two findings.
	if got, want := findingsOf(rep), []finding{{"journey_not_answering", "sc-stuck", "sc-norr"}, {"unit_not_in_org_chart", "sc-stuck", "sc-norr"}}; !slices.Equal(got, want) {
		t.Fatalf("findings %+v, want %+v", got, want)
	}
	if !strings.Contains(rep.Findings[0].Problem, "did not answer") || !strings.Contains(rep.Findings[0].Action, workflows.TaskQueue) {
		t.Errorf("finding %+v", rep.Findings[0])
	}
}
