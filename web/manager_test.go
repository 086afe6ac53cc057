package web

// Tests of the managers' pages without a browser: the dashboard's tables keep the data
// contract (data-report, data-row, data-field, data-value as the JSON API writes the
// number), the charts are well-formed SVG with a text alternative, the CSV export hands
// on the API's file, the queue's assign form, and the message catalogues. Some run on a
// stand-in API, the rest on the real API over a fresh PostgreSQL database (no Temporal:
// nothing here starts or changes a journey).

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"html"
	"io"
	"io/fs"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/rs/zerolog"
	"go.yaml.in/yaml/v3"

	"github.com/stegvis/stegvis/activities"
	"github.com/stegvis/stegvis/api"
	"github.com/stegvis/stegvis/auth"
	"github.com/stegvis/stegvis/calendar"
	"github.com/stegvis/stegvis/metrics"
	"github.com/stegvis/stegvis/protect"
	"github.com/stegvis/stegvis/store"
	"github.com/stegvis/stegvis/store/storetest"
)

// ---- Reading the pages ----

// mgrRow is a body row of a data table: its data-row and each cell's data-value and
// shown text by data-field.
type mgrRow struct {
	Key   string
	Value map[string]string
	Text  map[string]string
}

var (
	mgrTableRE = regexp.MustCompile(`(?s)<table data-report="([^"]+)">(.*?)</table>`)
	mgrRowRE   = regexp.MustCompile(`(?s)<tr data-row="([^"]*)">(.*?)</tr>`)
	mgrCellRE  = regexp.MustCompile(`(?s)<td data-field="([^"]+)" data-value="([^"]*)">(.*?)</td>`)
	mgrTileRE  = regexp.MustCompile(`<div class="tile" data-kpi="([A-Za-z]+)"><span class="value">([^<]*)</span> [^<]+</div>`)
	mgrSVGRE   = regexp.MustCompile(`(?s)<figure data-chart="([^"]+)"[^>]*>\s*<figcaption>[^<]+</figcaption>\s*(<svg.*?</svg>)`)
)

func mgrTables(t *testing.T, body string) map[string][]mgrRow {
	t.Helper()
	out := map[string][]mgrRow{}
	for _, tm := range mgrTableRE.FindAllStringSubmatch(body, -1) {
		rows := []mgrRow{}
		for _, rm := range mgrRowRE.FindAllStringSubmatch(tm[2], -1) {
			r := mgrRow{Key: html.UnescapeString(rm[1]), Value: map[string]string{}, Text: map[string]string{}}
			for _, cm := range mgrCellRE.FindAllStringSubmatch(rm[2], -1) {
				r.Value[cm[1]] = html.UnescapeString(cm[2])
				r.Text[cm[1]] = html.UnescapeString(strings.TrimSpace(cm[3]))
			}
			rows = append(rows, r)
		}
		out[tm[1]] = rows
	}
	return out
}

func mgrTiles(body string) map[string]string {
	out := map[string]string{}
	for _, m := range mgrTileRE.FindAllStringSubmatch(body, -1) {
		out[m[1]] = html.UnescapeString(m[2])
	}
	return out
}

// mgrCheckSVG checks that every chart is well-formed XML, an image whose name and
// description are its own <title> and <desc>.
func mgrCheckSVG(t *testing.T, body string, want ...string) {
	t.Helper()
	found := map[string]bool{}
	for _, m := range mgrSVGRE.FindAllStringSubmatch(body, -1) {
		found[m[1]] = true
		svg := m[2]
		dec := xml.NewDecoder(strings.NewReader(svg))
		dec.Strict = true
		for {
			_, err := dec.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("chart %s is not well-formed SVG: %v\n%s", m[1], err, svg)
			}
		}
		open := svg[:strings.Index(svg, ">")]
		if !strings.Contains(open, `role="img"`) {
			t.Errorf("chart %s: no role=img: %s", m[1], open)
		}
		lb := regexp.MustCompile(`aria-labelledby="([^"]+)"`).FindStringSubmatch(open)
		if lb == nil {
			t.Fatalf("chart %s: no aria-labelledby", m[1])
		}
		ids := strings.Fields(lb[1])
		if len(ids) != 2 || !strings.Contains(svg, `<title id="`+ids[0]+`">`) || !strings.Contains(svg, `<desc id="`+ids[1]+`">`) {
			t.Errorf("chart %s: aria-labelledby %q does not name its <title> and <desc>", m[1], lb[1])
		}
	}
	for _, w := range want {
		if !found[w] {
			t.Errorf("no SVG chart %q in a figure with a figcaption", w)
		}
	}
}

// ---- A stand-in API and sign-in ----

// mgrVerifier accepts "subject:role,role" as a token.
type mgrVerifier struct{}

func (mgrVerifier) Verify(_ context.Context, tok string) (auth.Principal, error) {
	sub, roles, ok := strings.Cut(tok, ":")
	if !ok || sub == "" {
		return auth.Principal{}, auth.ErrInvalid
	}
	p := auth.Principal{Subject: sub}
	for _, r := range strings.Split(roles, ",") {
		p.Roles = append(p.Roles, auth.Role(r))
	}
	return p, nil
}

// mgrStub is an API that answers from a table of handlers by path and keeps what it
// was sent.
type mgrStub struct {
	mu     sync.Mutex
	routes map[string]http.HandlerFunc
	calls  []string // "METHOD path?query | authorization | body"
}

func (s *mgrStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.calls = append(s.calls, r.Method+" "+r.URL.RequestURI()+" | "+r.Header.Get("Authorization")+" | "+string(b))
	h, ok := s.routes[r.Method+" "+r.URL.Path]
	s.mu.Unlock()
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":{"code":"not_found","message":"no such endpoint"}}`))
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	h(w, r)
}

func (s *mgrStub) called(prefix string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, c := range s.calls {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out
}

func mgrJSON(v any) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
}

var mgrNow = time.Date(2026, 6, 30, 12, 0, 0, 0, calendar.Stockholm)

func mgrSite(t *testing.T, apiHandler http.Handler, verify auth.Verifier) *gin.Engine {
	t.Helper()
	r := gin.New()
	if err := Mount(r, Options{API: apiHandler, Verify: verify, Now: func() time.Time { return mgrNow }}); err != nil {
		t.Fatal(err)
	}
	return r
}

// mgrDo sends a request to the pages as the person whose token is tok.
func mgrDo(t *testing.T, h http.Handler, method, path, tok string, form url.Values) *httptest.ResponseRecorder {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if tok != "" {
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: tok})
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// ---- The data contract, on sample rows ----

func TestDashboardTablesCarryTheAPIsNumbers(t *testing.T) {
	plan := []store.TimelinessRow{
		{Unit: "A", Month: "2026-05", Due: 3, OnTime: 2, Missing: 1, Share: 2.0 / 3},
		{Unit: "A", Month: "2026-06", Due: 10, OnTime: 7, Late: 1, Missing: 1, Closed: 1, Share: 0.7},
		{Unit: "B", Month: "2026-06", Due: 0},
	}
	steps := []store.StepRow{
		{ProgramID: "steg", Cohort: "2026-01", Step: 1, Reached: 3, PassedBy: 2, Share: 2.0 / 3, TargetPct: 75},
		{ProgramID: "steg", Cohort: "2026-01", Step: 2, Reached: 10, PassedBy: 3, Share: 0.1 + 0.2, TargetPct: 60},
		{ProgramID: "steg", Cohort: "2026-02", Step: 1, Reached: 0, PassedBy: 0, Share: 0, TargetPct: 75},
	}
	waits := []store.WaitingRow{
		{Unit: "A", Participants: 4, StillWaiting: 1, MedianDays: 48.00000000000001, P90Days: 80.21666666666667, LongestDays: 86},
		{Unit: "B", Participants: 1, StillWaiting: 0, MedianDays: 1e-7, P90Days: 0.5, LongestDays: 1234.5678},
	}
	// g1's two overdue deadlines are in two units (a guide moved): the chart sums them.
	overdue := []store.GuideOverdueRow{
		{Unit: "A", GuideID: "g1", OverdueDeadlines: 1, OverdueParticipants: 1},
		{Unit: "A", GuideID: "", OverdueDeadlines: 1, OverdueParticipants: 1},
		{Unit: "A", GuideID: "g<2>", OverdueDeadlines: 1, OverdueParticipants: 1},
		{Unit: "B", GuideID: "g1", OverdueDeadlines: 1, OverdueParticipants: 1},
	}
	stub := &mgrStub{routes: map[string]http.HandlerFunc{
		"GET /v1/units":                        mgrJSON(map[string]any{"units": []store.Unit{{UnitID: "A", Name: "Arbetsmarknad Norr", Active: true}, {UnitID: "B", Name: "Söder", Active: true}}}),
		"GET /v1/reports/plan-timeliness":      mgrJSON(map[string]any{"report": "plan-timeliness", "rows": plan}),
		"GET /v1/reports/step-attainment":      mgrJSON(map[string]any{"report": "step-attainment", "rows": steps}),
		"GET /v1/reports/waiting-time":         mgrJSON(map[string]any{"report": "waiting-time", "rows": waits}),
		"GET /v1/queue":                        mgrJSON(map[string]any{"participants": []store.QueueRow{{ParticipantRow: store.ParticipantRow{ParticipantID: "p-3", Unit: "A"}}}}),
		"GET /v1/reports/overdue-by-guide":     mgrJSON(map[string]any{"report": "overdue-by-guide", "rows": overdue}),
		"GET /v1/reports/follow-up-timeliness": mgrJSON(map[string]any{"rows": []any{}}),
		// The tiles' figures, per phase: the exited are no active journeys, and are never
		// overdue or in the queue (a row that says otherwise must not be counted).
		"GET /v1/reports/caseload": mgrJSON(map[string]any{"report": "caseload", "rows": []store.CaseloadRow{
			{Unit: "A", Phase: "active", Participants: 1, OverdueParticipants: 1, OverdueDeadlines: 1},
			{Unit: "A", Phase: "exited", Participants: 1, OverdueParticipants: 1, OverdueDeadlines: 4},
			{Unit: "A", Phase: "planning", Participants: 1},
			{Unit: "A", Phase: "waiting_for_guide", Participants: 1, WaitingForGuide: 1, OverdueParticipants: 1, OverdueDeadlines: 2},
		}}),
	}}
	h := mgrSite(t, stub, mgrVerifier{})
	rec := mgrDo(t, h, "GET", "/dashboard?unit=A&from=2026-01-01&to=2026-07-01", "ulla:unit_manager", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("dashboard: %d %s", rec.Code, rec.Body)
	}
	body := rec.Body.String()
	tables := mgrTables(t, body)

	want := map[string]map[string]map[string]string{"plan-timeliness": {}, "step-attainment": {}, "waiting-time": {}, "overdue-per-guide": {}}
	f, i := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }, strconv.Itoa
	for _, r := range plan {
		want["plan-timeliness"][r.Unit+"|"+r.Month] = map[string]string{"due": i(r.Due), "onTime": i(r.OnTime), "late": i(r.Late), "missing": i(r.Missing), "closed": i(r.Closed), "share": f(r.Share)}
	}
	for _, r := range steps {
		want["step-attainment"][fmt.Sprintf("%s|%s|%d", r.ProgramID, r.Cohort, r.Step)] = map[string]string{"step": i(r.Step), "reached": i(r.Reached), "passedBy": i(r.PassedBy), "share": f(r.Share), "targetPercent": i(r.TargetPct)}
	}
	for _, r := range waits {
		want["waiting-time"][r.Unit] = map[string]string{"participants": i(r.Participants), "stillWaiting": i(r.StillWaiting), "medianDays": f(r.MedianDays), "p90Days": f(r.P90Days), "longestDays": f(r.LongestDays)}
	}
	want["overdue-per-guide"] = map[string]map[string]string{"g1": {"count": "2"}, "": {"count": "1"}, "g<2>": {"count": "1"}}
	for report, rows := range want {
		got := tables[report]
		if len(got) != len(rows) {
			t.Errorf("%s: %d rows, want %d: %+v", report, len(got), len(rows), got)
		}
		for _, g := range got {
			w, ok := rows[g.Key]
			if !ok {
				t.Errorf("%s: unexpected data-row %q", report, g.Key)
				continue
			}
			if fmt.Sprint(g.Value) != fmt.Sprint(w) {
				t.Errorf("%s row %q: data-values %v, want %v", report, g.Key, g.Value, w)
			}
		}
	}
	// What is shown: percentages and days in Swedish, "–" when nothing fell due.
	shown := map[string]string{}
	for _, r := range tables["plan-timeliness"] {
		shown[r.Key] = r.Text["share"]
	}
	if shown["A|2026-05"] != "67 %" || shown["B|2026-06"] != "–" {
		t.Errorf("shown shares: %v", shown)
	}
	if r := tables["waiting-time"][0]; r.Text["p90Days"] != "80,2" || r.Text["medianDays"] != "48,0" {
		t.Errorf("shown days: %v", r.Text)
	}
	if r := tables["step-attainment"][1]; r.Text["targetPercent"] != "60 %" || r.Text["share"] != "30 %" {
		t.Errorf("shown step row: %v", r.Text)
	}
	// The tiles: 3 not exited, 2 of them overdue, 1 waiting for a guide, and June's
	// plans: (7+0)/(10+0) in A and B.
	if got := mgrTiles(body); fmt.Sprint(got) != fmt.Sprint(map[string]string{"active": "3", "overdue": "2", "waiting": "1", "planOnTime": "70 %"}) {
		t.Errorf("tiles: %v", got)
	}
	mgrCheckSVG(t, body, "plan-timeliness", "step-attainment", "overdue-per-guide", "waiting-time")
	// The step chart draws a target mark for each bar with a target (halo and mark).
	if n := strings.Count(body, `stroke="#1b1b1b" stroke-width="2.5"`); n != 3 {
		t.Errorf("%d target marks, want 3", n)
	}
	// Every call went with the person's token and the period asked for; the caseload and
	// the overdue count per guide, which are how things stand now, with the unit only.
	for _, c := range stub.called("GET /v1/reports/") {
		period := strings.Contains(c, "from=2026-01-01") && strings.Contains(c, "to=2026-07-01")
		if strings.HasPrefix(c, "GET /v1/reports/caseload?") || strings.HasPrefix(c, "GET /v1/reports/overdue-by-guide?") {
			period = !strings.Contains(c, "from=") && !strings.Contains(c, "to=")
		}
		if !period || !strings.Contains(c, "unit=A") || !strings.Contains(c, "| Bearer ulla:unit_manager |") {
			t.Errorf("report call: %s", c)
		}
	}
	if n := len(stub.called("GET /v1/reports/caseload")); n != 1 {
		t.Errorf("the caseload report was asked %d times, want once", n)
	}
	// The tiles no longer page through the participant list, nor the chart through the
	// overdue list.
	if c := append(stub.called("GET /v1/participants"), stub.called("GET /v1/overdue")...); len(c) != 0 {
		t.Errorf("the dashboard read the participant list or the overdue list: %v", c)
	}
	for _, r := range exportReports {
		if !strings.Contains(body, `href="/export/`+r+`.csv?from=2026-01-01&amp;to=2026-07-01&amp;unit=A"`) {
			t.Errorf("no export link for %s", r)
		}
	}
	if !strings.Contains(body, `<option value="A" selected>`) || !strings.Contains(body, `value="2026-01-01"`) {
		t.Error("the form does not keep the unit and dates asked for")
	}

	// In English, and with no rows: the tables are there, empty, and no chart.
	empty := &mgrStub{routes: map[string]http.HandlerFunc{}}
	for k, v := range stub.routes {
		empty.routes[k] = v
	}
	for _, p := range []string{"plan-timeliness", "step-attainment", "waiting-time"} {
		empty.routes["GET /v1/reports/"+p] = mgrJSON(map[string]any{"rows": []any{}})
	}
	empty.routes["GET /v1/reports/overdue-by-guide"] = mgrJSON(map[string]any{"rows": []any{}})
	req := httptest.NewRequest("GET", "/dashboard", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: "ulla:unit_manager"})
	req.AddCookie(&http.Cookie{Name: langCookie, Value: "en"})
	rec = httptest.NewRecorder()
	mgrSite(t, empty, mgrVerifier{}).ServeHTTP(rec, req)
	body = rec.Body.String()
	if rec.Code != http.StatusOK || strings.Contains(body, "<svg") || len(mgrTables(t, body)) != 4 || !strings.Contains(body, "No figures for the period.") {
		t.Errorf("empty dashboard: %d\n%s", rec.Code, body)
	}
	if got := mgrTiles(body); got["planOnTime"] != "–" {
		t.Errorf("plan tile with nothing due: %v", got)
	}
	// Defaults: the API's own period shown in the inputs, and no unit asked for.
	if !strings.Contains(body, `value="2025-06-30"`) || !strings.Contains(body, `value="2026-07-01"`) {
		t.Error("the default period is not shown")
	}
	for _, c := range empty.called("GET /v1/reports/") {
		if strings.Contains(c, "unit=") || strings.Contains(c, "from=") {
			t.Errorf("a report was asked with parameters not given: %s", c)
		}
	}
}

func TestDashboardShowsARefusedPeriodAboveTheForm(t *testing.T) {
	stub := &mgrStub{routes: map[string]http.HandlerFunc{
		"GET /v1/units": mgrJSON(map[string]any{"units": []store.Unit{}}),
		"GET /v1/reports/plan-timeliness": func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":{"code":"invalid_date","message":"from: \"1 maj\" is not a date; write it as 2026-01-01"}}`))
		},
	}}
	rec := mgrDo(t, mgrSite(t, stub, mgrVerifier{}), "GET", "/dashboard?from=1+maj", "ulla:unit_manager", nil)
	body := rec.Body.String()
	if rec.Code != http.StatusBadRequest || !strings.Contains(body, `role="alert"`) || !strings.Contains(body, "is not a date") ||
		!strings.Contains(body, `id="dash-from"`) || strings.Contains(body, "data-kpi") {
		t.Fatalf("%d\n%s", rec.Code, body)
	}
}

// ---- CSV export ----

func TestExportHandsOnTheAPIsCSV(t *testing.T) {
	const csv = "unit,month,reason,count\nA,2026-06,employment_regular,1\n\"Norr, Ö\",2026-06,moved,2\n"
	stub := &mgrStub{routes: map[string]http.HandlerFunc{
		"GET /v1/reports/exits": func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("format") != "csv" {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			_, _ = w.Write([]byte(csv))
		},
		"GET /v1/reports/waiting-time": func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"error":{"code":"forbidden","message":"you may see unit \"A\" only, not \"B\""}}`))
		},
	}}
	h := mgrSite(t, stub, mgrVerifier{})
	rec := mgrDo(t, h, "GET", "/export/exits.csv?unit=A&from=2026-01-01&to=2026-07-01&format=json&evil=1", "ulla:unit_manager", nil)
	if rec.Code != http.StatusOK || rec.Body.String() != csv {
		t.Fatalf("export: %d %q", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := rec.Header().Get("Content-Disposition"); cd != `attachment; filename="exits.csv"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	calls := stub.called("GET /v1/reports/exits")
	if len(calls) != 1 || calls[0] != "GET /v1/reports/exits?format=csv&from=2026-01-01&to=2026-07-01&unit=A | Bearer ulla:unit_manager | " {
		t.Errorf("the API was asked %q", calls)
	}
	// The API's refusal is the page's.
	rec = mgrDo(t, h, "GET", "/export/waiting-time.csv?unit=B", "ulla:unit_manager", nil)
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "Du får inte se eller ändra det här") {
		t.Errorf("refused export: %d %s", rec.Code, rec.Body)
	}
	// Only the five reports, and only as .csv.
	for _, p := range []string{"/export/audit.csv", "/export/exits", "/export/exits.json", "/export/..%2fparticipants.csv"} {
		if rec := mgrDo(t, h, "GET", p, "ulla:unit_manager", nil); rec.Code != http.StatusNotFound {
			t.Errorf("%s: %d", p, rec.Code)
		}
	}
	// Signed out: to the sign-in page, and the API is not asked.
	if rec := mgrDo(t, h, "GET", "/export/exits.csv", "", nil); rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/login") {
		t.Errorf("signed out: %d %v", rec.Code, rec.Header())
	}
}

// ---- The queue's assign form ----

func TestQueueAssignsAGuideAndShowsARefusalByTheRow(t *testing.T) {
	var mu sync.Mutex
	refuse := false
	stub := &mgrStub{routes: map[string]http.HandlerFunc{
		"GET /v1/units": mgrJSON(map[string]any{"units": []store.Unit{{UnitID: "A", Name: "Norr", Active: true}}}),
		"GET /v1/queue": mgrJSON(map[string]any{"participants": []store.QueueRow{
			{ParticipantRow: store.ParticipantRow{ParticipantID: "p-1", Unit: "A", ReferredAt: mgrNow.AddDate(0, 0, -9)}, WaitingDays: 9},
			{ParticipantRow: store.ParticipantRow{ParticipantID: "p-2", Unit: "A", ReferredAt: mgrNow.AddDate(0, 0, -2)}, WaitingDays: 2},
		}}),
		"GET /v1/staff": mgrJSON(map[string]any{"staff": []store.Staff{
			{StaffID: "g1", Name: "Greta", UnitID: "A", Role: "guide", Active: true},
			{StaffID: "g9", Name: "Gone", UnitID: "A", Role: "guide", Active: false},
			{StaffID: "tl", Name: "Tove", UnitID: "A", Role: "team_lead", Active: true},
		}}),
		"POST /v1/participants/p-1/guide": func(w http.ResponseWriter, _ *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			if refuse {
				w.WriteHeader(http.StatusUnprocessableEntity)
				_, _ = w.Write([]byte(`{"error":{"code":"validation_failed","message":"the guide cannot be assigned","fields":[{"field":"guideId","message":"g1 is not an active guide of unit A"}]}}`))
				return
			}
			mgrJSON(map[string]any{"participantId": "p-1"})(w, nil)
		},
	}}
	h := mgrSite(t, stub, mgrVerifier{})
	tok := "tove:team_lead"
	rec := mgrDo(t, h, "GET", "/queue", tok, nil)
	body := rec.Body.String()
	if rec.Code != http.StatusOK || !strings.Contains(body, `<label for="guide-p-1">Jobbguide för p-1</label>`) ||
		!strings.Contains(body, `<option value="g1" >Greta (g1)</option>`) || strings.Contains(body, `value="g9"`) || strings.Contains(body, `value="tl"`) {
		t.Fatalf("queue: %d\n%s", rec.Code, body)
	}

	rec = mgrDo(t, h, "POST", "/queue/assign", tok, url.Values{"participantId": {"p-1"}, "guideId": {"g1"}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/queue?assigned=p-1&guide=g1" {
		t.Fatalf("assign: %d %v", rec.Code, rec.Header())
	}
	if c := stub.called("POST "); len(c) != 1 || c[0] != "POST /v1/participants/p-1/guide | Bearer "+tok+" | {\"guideId\":\"g1\"}" {
		t.Errorf("the API was sent %q", c)
	}
	rec = mgrDo(t, h, "GET", "/queue?assigned=p-1&guide=g1", tok, nil)
	body = rec.Body.String()
	if !strings.Contains(body, `<p class="notice" role="status">p-1 har fått g1 som jobbguide.</p>`) || strings.Contains(body, `data-participant="p-1"`) {
		t.Errorf("after assigning:\n%s", body)
	}

	mu.Lock()
	refuse = true
	mu.Unlock()
	rec = mgrDo(t, h, "POST", "/queue/assign", tok, url.Values{"participantId": {"p-1"}, "guideId": {"g1"}, "unit": {"A"}})
	body = rec.Body.String()
	if rec.Code != http.StatusUnprocessableEntity ||
		!strings.Contains(body, `<select id="guide-p-1" name="guideId" aria-invalid="true" aria-describedby="guide-p-1-error">`) ||
		!strings.Contains(body, `<p class="field-error" id="guide-p-1-error">g1 is not an active guide of unit A</p>`) ||
		!strings.Contains(body, `<option value="g1" selected>`) || !strings.Contains(body, `role="alert"`) {
		t.Fatalf("refused: %d\n%s", rec.Code, body)
	}
	if strings.Count(body, `class="field-error"`) != 1 {
		t.Error("the refusal is shown by more than its own row")
	}
	// Nothing picked: said at once, the API is not asked.
	before := len(stub.called("POST "))
	rec = mgrDo(t, h, "POST", "/queue/assign", tok, url.Values{"participantId": {"p-2"}})
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), `id="guide-p-2-error">Välj en jobbguide.</p>`) || len(stub.called("POST ")) != before {
		t.Errorf("no guide picked: %d\n%s", rec.Code, rec.Body)
	}
}

// ---- Colours ----

func mgrLuminance(hex string) float64 {
	var c [3]float64
	for i := range 3 {
		v, _ := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		f := float64(v) / 255
		if f <= 0.03928 {
			c[i] = f / 12.92
		} else {
			c[i] = math.Pow((f+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*c[0] + 0.7152*c[1] + 0.0722*c[2]
}

func mgrContrast(a, b string) float64 {
	la, lb := mgrLuminance(a), mgrLuminance(b)
	return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)
}

func TestChartColoursHaveEnoughContrast(t *testing.T) {
	for _, c := range []string{colourBar, colourP90, colourMax, colourAxis, colourTarget} {
		if r := mgrContrast(c, "#ffffff"); r < 3 {
			t.Errorf("%s on white: %.2f:1, want at least 3:1", c, r)
		}
	}
	if r := mgrContrast(colourInk, "#ffffff"); r < 4.5 {
		t.Errorf("text %s on white: %.2f:1", colourInk, r)
	}
	if r := mgrContrast(colourTarget, colourBar); r < 3 {
		t.Errorf("the target mark on a bar: %.2f:1", r)
	}
}

// ---- The catalogues ----

var (
	mgrTemplateKeyRE = regexp.MustCompile(`\bT\s+"([^"]+)"`)
	mgrDictKeyRE     = regexp.MustCompile(`\(dict \$ "([^"]+)"`)
	mgrGoKeyRE       = regexp.MustCompile(`(?:i18n\.text\([^,()]*(?:\([^()]*\))?,|\bt\()\s*"([A-Za-z0-9_-]+)"\s*[,)]`)
)

func mgrCatalogue(t *testing.T, lang string) map[string]string {
	t.Helper()
	b, err := messageFS.ReadFile("messages/active." + lang + ".yaml")
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	if err := yaml.Unmarshal(b, &m); err != nil { // a key given twice is an error too
		t.Fatalf("active.%s.yaml: %v", lang, err)
	}
	return m
}

func TestCataloguesHaveEveryKeyTheTemplatesUse(t *testing.T) {
	sv, en := mgrCatalogue(t, "sv"), mgrCatalogue(t, "en")
	for k := range sv {
		if _, ok := en[k]; !ok {
			t.Errorf("%s is in active.sv.yaml only", k)
		}
	}
	for k := range en {
		if _, ok := sv[k]; !ok {
			t.Errorf("%s is in active.en.yaml only", k)
		}
	}
	used := map[string]string{} // key → where
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil || len(names) == 0 {
		t.Fatal(names, err)
	}
	for _, n := range names {
		b, _ := templateFS.ReadFile(n)
		for _, re := range []*regexp.Regexp{mgrTemplateKeyRE, mgrDictKeyRE} {
			for _, m := range re.FindAllStringSubmatch(string(b), -1) {
				used[m[1]] = n
			}
		}
	}
	gofiles, _ := filepath.Glob("*.go")
	for _, n := range gofiles {
		if strings.HasSuffix(n, "_test.go") {
			continue
		}
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range mgrGoKeyRE.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = n
		}
	}
	// Keys built at run time from a known list.
	for _, r := range exportReports {
		used["Report_"+r] = "exportReports"
	}
	for _, p := range phaseNames {
		used["Phase_"+p] = "phaseNames"
	}
	for _, k := range []string{"Dashboard", "KPI_planOnTime", "ChartDesc_waiting-time", "GuideAssigned", "SkipToContent"} {
		if _, ok := used[k]; !ok {
			t.Errorf("the scan missed %s: the patterns are wrong", k)
		}
	}
	keys := make([]string, 0, len(used))
	for k := range used {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for lang, cat := range map[string]map[string]string{"sv": sv, "en": en} {
			if strings.TrimSpace(cat[k]) == "" {
				t.Errorf("%s (used in %s) has no text in active.%s.yaml", k, used[k], lang)
			}
		}
	}
}

// ---- Against the real API ----

// mgrEnv is the real API over a fresh database, with the pages mounted on it as stegvis
// serves them. Temporal is not there: these pages only read the read model.
type mgrEnv struct {
	h      *gin.Engine
	issuer *auth.DevIssuer
	st     *store.Store
}

func newMgrEnv(t *testing.T) *mgrEnv {
	t.Helper()
	st, _ := storetest.New(t)
	iss, err := auth.NewDevIssuer("https://idp.kommun.test", "")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := protect.ParseKeys("t1:" + protect.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	h := api.NewRouter(api.Deps{DB: st, Log: zerolog.Nop(), Metrics: metrics.New(), Auth: iss.Verifier(), Keys: keys,
		Now: func() time.Time { return mgrNow }})
	if err := Mount(h, Options{API: h, Verify: iss.Verifier(), Now: func() time.Time { return mgrNow }}); err != nil {
		t.Fatal(err)
	}
	return &mgrEnv{h: h, issuer: iss, st: st}
}

func (e *mgrEnv) token(t *testing.T, subject string, roles ...auth.Role) string {
	t.Helper()
	tok, err := e.issuer.Mint(subject, time.Hour, roles...)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// apiGet is a GET to the API itself, as tok.
func (e *mgrEnv) apiGet(t *testing.T, tok, path string) []byte {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
	}
	return rec.Body.Bytes()
}

func mgrAt(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02T15:04", s, calendar.Stockholm)
	if err != nil {
		panic(err)
	}
	return t
}

func mgrPtr(s string) *time.Time { t := mgrAt(s); return &t }

func mgrDeadline(id, kind, due string, met *time.Time, status string) activities.DeadlineSnapshot {
	return activities.DeadlineSnapshot{ID: id, Kind: kind, DueDate: due[:10], DueAt: mgrAt(due), MetAt: met, Status: status}
}

// seed writes journeys to the read model as the journal activity would, and the org
// chart: units A, B and C, team lead tl-a over guide g1 in A, guide g2 in B.
func (e *mgrEnv) seed(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	for _, u := range []store.Unit{{UnitID: "A", Name: "Arbetsmarknad Norr", Active: true}, {UnitID: "B", Name: "Söder", Active: true}, {UnitID: "C", Name: "Väster", Active: true}} {
		if err := e.st.UpsertUnit(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.st.UpsertStaffBatch(ctx, []store.Staff{
		{StaffID: "tl-a", Name: "Tove Lind", UnitID: "A", Role: "team_lead", Active: true},
		{StaffID: "g1", Name: "Greta Ek", UnitID: "A", Role: "guide", ReportsTo: "tl-a", Active: true},
		{StaffID: "g2", Name: "Göran Berg", UnitID: "B", Role: "guide", Active: true},
	}); err != nil {
		t.Fatal(err)
	}
	record := func(participant, journey string, snaps ...activities.JourneySnapshot) {
		for i, s := range snaps {
			if err := e.st.RecordJourneyEvents(ctx, activities.JourneyEvents{ParticipantID: participant, JourneyID: journey, Snapshot: s,
				Events: []activities.JourneyEvent{{Seq: int64(i + 1), At: s.ReferredAt, Kind: "test"}}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	snap := func(unit, referred, guide string, ds ...activities.DeadlineSnapshot) activities.JourneySnapshot {
		phase := "active"
		if guide == "" {
			phase = "waiting_for_guide"
		}
		return activities.JourneySnapshot{Unit: unit, ProgramID: "steg", ProgramVersion: 1, GuideID: guide, Phase: phase,
			ReferredAt: mgrAt(referred), Deadlines: ds}
	}
	j1 := snap("A", "2026-03-02T09:00", "g1",
		mgrDeadline("plan", "plan", "2026-03-10T00:00", mgrPtr("2026-03-06T10:00"), "met"),
		mgrDeadline("step-1", "step", "2026-06-03T00:00", mgrPtr("2026-05-20T10:00"), "met"))
	j1exit := j1
	j1exit.ExitedAt, j1exit.ExitReason, j1exit.Phase = mgrPtr("2026-06-15T10:00"), "employment_regular", "exited"
	record("p-1", "j1", j1, j1exit)
	record("p-2", "j2", snap("A", "2026-03-10T09:00", "g1",
		mgrDeadline("plan", "plan", "2026-03-25T00:00", mgrPtr("2026-03-20T10:00"), "met"),
		mgrDeadline("first_follow_up", "first_follow_up", "2026-04-04T00:00", mgrPtr("2026-04-03T10:00"), "met"),
		mgrDeadline("review-1", "review", "2026-05-16T00:00", nil, "open")))
	j3 := snap("A", "2026-03-15T09:00", "g2", mgrDeadline("plan", "plan", "2026-03-21T00:00", nil, "open"))
	j3moved := j3
	j3moved.Unit = "B"
	record("p-3", "j3", j3, j3moved)
	record("p-1", "j4", snap("A", "2026-06-20T09:00", "g1", mgrDeadline("plan", "plan", "2026-06-27T00:00", nil, "open")))
	record("p-5", "j5", snap("B", "2026-04-01T09:00", "g2", mgrDeadline("guide", "guide", "2026-04-03T00:00", mgrPtr("2026-04-11T09:00"), "met")))
	record("p-6", "j6", snap("B", "2026-04-05T12:00", "", mgrDeadline("guide", "guide", "2026-04-08T00:00", nil, "open")))
	record("p-7", "j7", snap("A", "2026-06-01T09:00", "", mgrDeadline("guide", "guide", "2026-06-03T00:00", nil, "open")))
	// Unit C: 51 participants, one more than a page of the list.
	for i := range 51 {
		record(fmt.Sprintf("c-%02d", i), fmt.Sprintf("jc%02d", i), snap("C", "2026-05-04T09:00", "g3", []activities.DeadlineSnapshot{}...))
	}
}

func TestManagerPagesOnTheRealAPI(t *testing.T) {
	e := newMgrEnv(t)
	e.seed(t)
	system := e.token(t, "ekb-system", auth.System)
	lead := e.token(t, "tl-a", auth.TeamLead)
	guide := e.token(t, "g1", auth.Guide)
	period := "from=2026-01-01&to=2027-01-01"

	t.Run("dashboard numbers are the API's", func(t *testing.T) {
		rec := mgrDo(t, e.h, "GET", "/dashboard?"+period, system, nil)
		if rec.Code != http.StatusOK {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		body := rec.Body.String()
		tables := mgrTables(t, body)
		keyOf := map[string][]string{"plan-timeliness": {"unit", "month"}, "step-attainment": {"programId", "cohort", "step"}, "waiting-time": {"unit"}}
		for report, keyFields := range keyOf {
			dec := json.NewDecoder(bytes.NewReader(e.apiGet(t, system, "/v1/reports/"+report+"?"+period)))
			dec.UseNumber()
			var raw struct {
				Rows []map[string]any `json:"rows"`
			}
			if err := dec.Decode(&raw); err != nil {
				t.Fatal(err)
			}
			if len(raw.Rows) == 0 {
				t.Fatalf("%s: the fixture gives no rows", report)
			}
			got := map[string]mgrRow{}
			for _, r := range tables[report] {
				got[r.Key] = r
			}
			if len(got) != len(raw.Rows) {
				t.Errorf("%s: %d rows on the page, %d from the API", report, len(got), len(raw.Rows))
			}
			for _, row := range raw.Rows {
				var key []string
				for _, k := range keyFields {
					key = append(key, fmt.Sprint(row[k]))
				}
				g, ok := got[strings.Join(key, "|")]
				if !ok {
					t.Errorf("%s: no data-row %q", report, strings.Join(key, "|"))
					continue
				}
				n := 0
				for field, v := range row {
					num, isNum := v.(json.Number)
					if !isNum {
						continue
					}
					n++
					if g.Value[field] != num.String() {
						t.Errorf("%s %s: data-field %s has data-value %q, the API says %s", report, g.Key, field, g.Value[field], num)
					}
				}
				if n != len(g.Value) {
					t.Errorf("%s %s: %d number cells, the API row has %d numbers", report, g.Key, len(g.Value), n)
				}
			}
		}
		// Overdue per guide: the API's overdue deadlines counted by guide.
		var od struct {
			Deadlines []store.OverdueRow `json:"deadlines"`
		}
		if err := json.Unmarshal(e.apiGet(t, system, "/v1/overdue?limit=500"), &od); err != nil {
			t.Fatal(err)
		}
		count := map[string]int{}
		for _, d := range od.Deadlines {
			count[d.GuideID]++
		}
		got := map[string]string{}
		for _, r := range tables["overdue-per-guide"] {
			got[r.Key] = r.Value["count"]
		}
		if len(got) != len(count) || len(count) < 2 {
			t.Errorf("overdue per guide: page %v, API %v", got, count)
		}
		for g, n := range count {
			if got[g] != strconv.Itoa(n) {
				t.Errorf("overdue of %q: page %q, API %d", g, got[g], n)
			}
		}
		// The tiles, from the lists.
		var list struct {
			Participants []store.ParticipantRow `json:"participants"`
		}
		if err := json.Unmarshal(e.apiGet(t, system, "/v1/participants?limit=500"), &list); err != nil {
			t.Fatal(err)
		}
		active, overdue := 0, 0
		for _, p := range list.Participants {
			if p.Phase != "exited" {
				active++
				if p.OverdueCount > 0 {
					overdue++
				}
			}
		}
		var q struct {
			Participants []store.QueueRow `json:"participants"`
		}
		if err := json.Unmarshal(e.apiGet(t, system, "/v1/queue"), &q); err != nil {
			t.Fatal(err)
		}
		// The caseload report, which the tiles are drawn from, says what the lists say.
		var cl struct {
			Rows []store.CaseloadRow `json:"rows"`
		}
		if err := json.Unmarshal(e.apiGet(t, system, "/v1/reports/caseload"), &cl); err != nil {
			t.Fatal(err)
		}
		clActive, clOverdue, clWaiting, clDeadlines := 0, 0, 0, 0
		for _, r := range cl.Rows {
			if r.Phase != "exited" {
				clActive += r.Participants
				clOverdue += r.OverdueParticipants
			}
			clWaiting += r.WaitingForGuide
			clDeadlines += r.OverdueDeadlines
		}
		if clActive != active || clOverdue != overdue || clWaiting != len(q.Participants) || clDeadlines != len(od.Deadlines) {
			t.Errorf("caseload report: %d active, %d overdue, %d waiting, %d deadlines passed; the lists: %d, %d, %d, %d",
				clActive, clOverdue, clWaiting, clDeadlines, active, overdue, len(q.Participants), len(od.Deadlines))
		}
		// June: p-1's second journey, its plan overdue: 0 of 1 on time.
		want := map[string]string{"active": strconv.Itoa(active), "overdue": strconv.Itoa(overdue), "waiting": strconv.Itoa(len(q.Participants)), "planOnTime": "0 %"}
		if tiles := mgrTiles(body); fmt.Sprint(tiles) != fmt.Sprint(want) || active < 50 || overdue < 2 || len(q.Participants) != 2 {
			t.Errorf("tiles %v, want %v", tiles, want)
		}
		mgrCheckSVG(t, body, "plan-timeliness", "step-attainment", "overdue-per-guide", "waiting-time")
		if r := tables["step-attainment"]; len(r) != 1 || r[0].Value["targetPercent"] != "75" {
			t.Errorf("step attainment with the programme's target: %+v", r)
		}
	})

	t.Run("a team lead sees their unit", func(t *testing.T) {
		rec := mgrDo(t, e.h, "GET", "/dashboard?"+period, lead, nil)
		body := rec.Body.String()
		if rec.Code != http.StatusOK || !strings.Contains(body, `<p id="shown-units">Visar siffror för enhet: A</p>`) || !strings.Contains(body, `<option value="A" selected>`) {
			t.Fatalf("%d\n%s", rec.Code, body)
		}
		for _, r := range mgrTables(t, body)["plan-timeliness"] {
			if !strings.HasPrefix(r.Key, "A|") {
				t.Errorf("a team lead of A sees %s", r.Key)
			}
		}
		// Another unit: the API's refusal.
		if rec := mgrDo(t, e.h, "GET", "/dashboard?unit=B", lead, nil); rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "Du får inte se eller ändra det här") {
			t.Errorf("unit B for the lead of A: %d", rec.Code)
		}
		// A guide may not read reports.
		if rec := mgrDo(t, e.h, "GET", "/dashboard", guide, nil); rec.Code != http.StatusForbidden {
			t.Errorf("a guide's dashboard: %d", rec.Code)
		}
	})

	t.Run("CSV export is the API's file", func(t *testing.T) {
		for _, report := range exportReports {
			for _, tok := range []string{system, lead} {
				rec := mgrDo(t, e.h, "GET", "/export/"+report+".csv?"+period, tok, nil)
				want := e.apiGet(t, tok, "/v1/reports/"+report+"?format=csv&"+period)
				if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), want) || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/csv") ||
					rec.Header().Get("Content-Disposition") != `attachment; filename="`+report+`.csv"` {
					t.Errorf("%s: %d %v\n%s\nwant\n%s", report, rec.Code, rec.Header(), rec.Body, want)
				}
				if lines := strings.Count(string(want), "\n"); lines < 1 {
					t.Errorf("%s: no header line", report)
				}
			}
		}
		if rec := mgrDo(t, e.h, "GET", "/export/exits.csv", guide, nil); rec.Code != http.StatusForbidden {
			t.Errorf("a guide's export: %d", rec.Code)
		}
	})

	t.Run("participant list filters and pages", func(t *testing.T) {
		rec := mgrDo(t, e.h, "GET", "/participants?unit=C&phase=active", system, nil)
		body := rec.Body.String()
		if rec.Code != http.StatusOK || strings.Count(body, `<tr data-participant="c-`) != 50 || !strings.Contains(body, `<a href="/participants/c-00">c-00</a>`) {
			t.Fatalf("page 1: %d\n%s", rec.Code, body)
		}
		next := regexp.MustCompile(`<a href="([^"]+)" rel="next">`).FindStringSubmatch(body)
		if next == nil || html.UnescapeString(next[1]) != "/participants?after=c-49&phase=active&unit=C" {
			t.Fatalf("next link: %v", next)
		}
		rec = mgrDo(t, e.h, "GET", html.UnescapeString(next[1]), system, nil)
		body = rec.Body.String()
		if strings.Count(body, `<tr data-participant="`) != 1 || !strings.Contains(body, `data-participant="c-50"`) || strings.Contains(body, `rel="next"`) ||
			!strings.Contains(body, `<a href="/participants?phase=active&amp;unit=C">`) {
			t.Errorf("page 2:\n%s", body)
		}
		rec = mgrDo(t, e.h, "GET", "/participants?overdue=true&waitingForGuide=true", system, nil)
		body = rec.Body.String()
		if strings.Count(body, `<tr data-participant="`) != 2 || !strings.Contains(body, `data-participant="p-6"`) || !strings.Contains(body, `data-participant="p-7"`) ||
			!strings.Contains(body, `id="pl-overdue" name="overdue" type="checkbox" value="true" checked`) {
			t.Errorf("overdue and waiting:\n%s", body)
		}
		// The lead of A sees their team's participants and A's queue, not C.
		rec = mgrDo(t, e.h, "GET", "/participants", lead, nil)
		if body := rec.Body.String(); strings.Contains(body, `data-participant="c-`) || !strings.Contains(body, `data-participant="p-7"`) {
			t.Errorf("the lead's list:\n%s", body)
		}
		// A phase the API does not know: its message above the form.
		rec = mgrDo(t, e.h, "GET", "/participants?phase=sleeping", system, nil)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "is not a phase") || !strings.Contains(rec.Body.String(), `id="pl-phase"`) {
			t.Errorf("bad phase: %d %s", rec.Code, rec.Body)
		}
	})

	t.Run("queue", func(t *testing.T) {
		rec := mgrDo(t, e.h, "GET", "/queue", lead, nil)
		body := rec.Body.String()
		if rec.Code != http.StatusOK || strings.Count(body, `<tr data-participant="`) != 1 || !strings.Contains(body, `data-participant="p-7"`) ||
			!strings.Contains(body, `<option value="g1" >Greta Ek (g1)</option>`) || strings.Contains(body, `value="tl-a"`) {
			t.Fatalf("%d\n%s", rec.Code, body)
		}
		rec = mgrDo(t, e.h, "GET", "/queue", system, nil)
		if body := rec.Body.String(); strings.Count(body, `<tr data-participant="`) != 2 || !strings.Contains(body, `<option value="g2" >Göran Berg (g2)</option>`) {
			t.Errorf("system's queue:\n%s", body)
		}
		// A 4xx from the API lands on the queue page.
		rec = mgrDo(t, e.h, "POST", "/queue/assign", lead, url.Values{"participantId": {"19900101-1234"}, "guideId": {"g1"}})
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "personal identity number") || !strings.Contains(rec.Body.String(), `data-participant="p-7"`) {
			t.Errorf("refused: %d\n%s", rec.Code, rec.Body)
		}
		if rec := mgrDo(t, e.h, "GET", "/queue", guide, nil); rec.Code != http.StatusForbidden {
			t.Errorf("a guide's queue: %d", rec.Code)
		}
	})
}

// Every validation rule of the journey (workflows/validate.go) has its own message in
// each catalogue, so a rejected form speaks the page's language.
func TestEveryValidationRuleIsInTheCatalogues(t *testing.T) {
	src, err := os.ReadFile("../workflows/validate.go")
	if err != nil {
		t.Fatal(err)
	}
	f, err := parser.ParseFile(token.NewFileSet(), "validate.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := newCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	rules := 0
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) < 2 {
			return true
		}
		if sel, ok := call.Fun.(*ast.SelectorExpr); !ok || sel.Sel.Name != "add" {
			return true
		}
		lit, ok := call.Args[1].(*ast.BasicLit)
		if !ok {
			t.Errorf("a validation message that is not a literal at %d: its rule cannot be translated", call.Pos())
			return true
		}
		rule, _ := strconv.Unquote(lit.Value)
		rules++
		for _, lang := range Languages {
			if got := cat.text(lang, "Rule: "+rule); got == "Rule: "+rule {
				t.Errorf("%s catalogue lacks the rule %q", lang, rule)
			}
		}
		return true
	})
	if rules < 30 {
		t.Fatalf("found only %d rules in validate.go", rules)
	}
	// And a rejection is shown translated, with its values.
	fail := &apiFailure{Status: 422}
	_ = json.Unmarshal([]byte(`{"error":{"fields":[{"field":"to","message":"must be later than from (09:00)","rule":"must be later than from (%s)","args":["09:00"]}]}}`), &fail.body)
	if got := fail.Fields(cat, "sv")["to"]; got != "ska vara senare än från (09:00)" {
		t.Errorf("Swedish: %q", got)
	}
	if got := fail.Fields(cat, "en")["to"]; got != "must be later than from (09:00)" {
		t.Errorf("English: %q", got)
	}
}

// My day shows a page of the overdue list (the 500 most overdue); when the API says
// there is more, the count says so rather than pass for the whole list.
func TestMyDayShowsWhenTheOverdueListGoesOn(t *testing.T) {
	for _, tc := range []struct {
		next, want string
	}{{"", ">2</span>"}, {"opaque-cursor", ">2+</span>"}} {
		body := map[string]any{"deadlines": []store.OverdueRow{
			{ParticipantID: "p-1", Unit: "A", GuideID: "anna", DeadlineID: "plan", Kind: "plan", DueDate: "2026-06-01"},
			{ParticipantID: "p-2", Unit: "A", GuideID: "anna", DeadlineID: "plan", Kind: "plan", DueDate: "2026-06-02"},
		}}
		if tc.next != "" {
			body["next"] = tc.next
		}
		stub := &mgrStub{routes: map[string]http.HandlerFunc{
			"GET /v1/participants": mgrJSON(map[string]any{"participants": []store.ParticipantRow{}}),
			"GET /v1/overdue":      mgrJSON(body),
		}}
		rec := mgrDo(t, mgrSite(t, stub, mgrVerifier{}), "GET", "/", "anna:guide", nil)
		if rec.Code != http.StatusOK {
			t.Fatalf("next %q: %d %s", tc.next, rec.Code, rec.Body)
		}
		if !strings.Contains(rec.Body.String(), `class="count"`+tc.want) {
			t.Errorf("next %q: the overdue count is not %q:\n%s", tc.next, tc.want, rec.Body)
		}
		if c := stub.called("GET /v1/overdue"); len(c) != 1 || !strings.Contains(c[0], "limit=500") {
			t.Errorf("next %q: overdue calls %v, want one page of 500", tc.next, c)
		}
	}
}
