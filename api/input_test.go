package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stegvis/stegvis/api"
	"github.com/stegvis/stegvis/importer"
	"github.com/stegvis/stegvis/store"
	"github.com/stegvis/stegvis/textcheck"
	"github.com/stegvis/stegvis/workflows"
)

// journeyState is the journey as the workflow holds it, as JSON: what a refused
// request must leave exactly as it was.
func journeyState(t *testing.T, id string) string {
	t.Helper()
	v, err := env.temporal.GetDefaultClient().QueryWorkflow(context.Background(), workflows.JourneyWorkflowID(id), "", workflows.QueryState)
	if err != nil {
		t.Fatal(err)
	}
	var st workflows.JourneyState
	if err := v.Get(&st); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(st)
	return string(b)
}

// stored is everything kept about a participant: the journey, its read model and its events.
func stored(t *testing.T, id string) string {
	t.Helper()
	var events int
	if err := env.store.Pool.QueryRow(context.Background(), `SELECT count(*) FROM journey_events WHERE participant_id = $1`, id).Scan(&events); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s\n%s\nevents: %d", journeyState(t, id), readModel(t, id), events)
}

// refused checks that a response is status with code and names field in its fields
// and its message.
func refused(t *testing.T, r response, status int, code, field string, inMessage ...string) api.APIError {
	t.Helper()
	if r.status != status {
		t.Fatalf("answered %d, want %d: %s", r.status, status, r.body)
	}
	e := r.apiError(t)
	if e.Code != code {
		t.Fatalf("code %s, want %s: %s", e.Code, code, r.body)
	}
	named := false
	for _, f := range e.Fields {
		named = named || f.Field == field
	}
	if !named || !strings.Contains(e.Message, field) {
		t.Fatalf("the answer does not name %s: %s", field, r.body)
	}
	for _, s := range inMessage {
		if !strings.Contains(string(r.body), s) {
			t.Fatalf("the answer lacks %q: %s", s, r.body)
		}
	}
	return e
}

// startedJourney starts a journey in arbetsmarknad with g-anna and waits for its read model.
func startedJourney(t *testing.T) string {
	t.Helper()
	id := participant("in")
	if r := call(t, "POST", "/v1/participants", startBody(id, "jobbgaranti", today())); r.status != http.StatusCreated {
		t.Fatalf("start: %d %s", r.status, r.body)
	}
	caughtUp(t, id)
	return id
}

// noJourney checks that nothing was started or stored for a participant.
func noJourney(t *testing.T, id string) {
	t.Helper()
	if r := call(t, "GET", "/v1/participants/"+id, ""); r.status != http.StatusNotFound {
		t.Fatalf("a refused referral started a journey: %d %s", r.status, r.body)
	}
	if _, err := env.store.IdentityOf(context.Background(), id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused referral stored who the participant is: %v", err)
	}
}

// Reproduction 1 of issue 13: one NUL in a plan used to answer 200 and then stop the
// journey's event writes for good.
func TestAControlCharacterInABodyIs400NamingTheFieldAndChangesNothing(t *testing.T) {
	id := startedJourney(t)
	before := stored(t, id)
	plan := func(mainActivity, subGoal string) string {
		return fmt.Sprintf(`{"signedAt":%q,"mainActivity":%s,"weeklySchedule":[{"day":"monday","from":"09:00","to":"12:00"}],
			"subGoals":["write a CV",%s],"followUpAt":%q}`, recent(time.Minute).Format(time.RFC3339), mainActivity, subGoal,
			time.Now().AddDate(0, 0, 14).Format(time.DateOnly))
	}
	p := "/v1/participants/" + id
	for _, tc := range []struct {
		name, path, body, field, says string
	}{
		{"NUL in the main activity", p + "/plan", plan(`"work training\u0000x"`, `"a job"`), "mainActivity", "NUL (U+0000) at byte 14"},
		{"a control character in a sub-goal", p + "/plan", plan(`"work training"`, `"a\u0001job"`), "subGoals[1]", "U+0001"},
		{"DEL in a schedule", p + "/plan", strings.Replace(plan(`"x"`, `"y"`), `"monday"`, `"mon\u007fday"`, 1), "weeklySchedule[0].day", "U+007F"},
		{"NEL (C1) in a note", p + "/pause", `{"reason":"sick_leave","from":"` + today() + `","note":"ill\u0085"}`, "note", "U+0085"},
		{"invalid UTF-8 in the main activity", p + "/plan", plan("\"work training \xff\"", `"a job"`), "mainActivity", "not valid UTF-8"},
		{"NUL in a transfer's unit", p + "/transfer", `{"toUnit":"vuxenutbildning\u0000"}`, "toUnit", "NUL"},
		{"a newline in a guide id", p + "/guide", `{"guideId":"g-karim\n"}`, "guideId", "this field is one line"},
		{"a lone carriage return in a handover note", p + "/guide", `{"guideId":"g-karim","handoverNote":"mornings\rBcc"}`, "handoverNote", "carriage return"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			refused(t, call(t, "POST", tc.path, tc.body), http.StatusBadRequest, api.CodeInvalidText, tc.field, tc.says, "Nothing was saved")
			if after := stored(t, id); after != before {
				t.Fatalf("a refused request changed the journey:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
	// Newlines, tabs and CRLF are fine in a multi-line field: the plan is kept.
	r := call(t, "POST", p+"/plan", plan(`"work training\r\nat the depot,\tmornings"`, `"a job"`))
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `at the depot,\tmornings`) {
		t.Fatalf("a plan with lines: %d %s", r.status, r.body)
	}

	// A referral whose unit holds a NUL starts nothing and stores nobody.
	other := participant("in")
	refused(t, call(t, "POST", "/v1/participants", fmt.Sprintf(`{"participantId":%q,"programId":"jobbgaranti","unit":"arbetsmarknad\u0000","referredAt":%q,"name":"Testa Testsson"}`,
		other, today())), http.StatusBadRequest, api.CodeInvalidText, "unit", "NUL")
	noJourney(t, other)
}

// NUL or invalid UTF-8 in a query or path parameter used to reach PostgreSQL and come
// back as 503 "the read model could not be read".
func TestAControlCharacterInAParameterIs400NotA503(t *testing.T) {
	for _, tc := range []struct{ path, field, says string }{
		{"/v1/participants?unit=%00", `query parameter "unit"`, "NUL"},
		{"/v1/participants?unit=arbetsmarknad&guideId=g-anna%FF", `query parameter "guideId"`, "not valid UTF-8 (byte 0xFF"},
		{"/v1/overdue?unit=a%0Ab", `query parameter "unit"`, "newline"},
		{"/v1/staff?unit=%00", `query parameter "unit"`, "NUL"},
		{"/v1/queue?unit=x%C2%85", `query parameter "unit"`, "U+0085"},
		{"/v1/reports/caseload?unit=%00", `query parameter "unit"`, "NUL"},
		{"/v1/participants/p%00x", "path parameter id", "NUL"},
		{"/v1/guides/g-anna%00/caseload", "path parameter id", "NUL"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			refused(t, call(t, "GET", tc.path, ""), http.StatusBadRequest, api.CodeInvalidText, tc.field, tc.says)
		})
	}
}

func TestOrgChartBodiesWithControlCharactersAre400AndChangeNothing(t *testing.T) {
	u := "txt-" + participant("u")
	orgUnit(t, u, "g-"+u)
	ctx := context.Background()
	unitBefore, _ := env.store.Unit(ctx, u)
	staffBefore, _ := env.store.StaffMember(ctx, "g-"+u)

	refused(t, call(t, "PUT", "/v1/units/"+u, `{"name":"Arbetsmarknad\u0000Norr"}`), http.StatusBadRequest, api.CodeInvalidText, "name", "NUL")
	refused(t, call(t, "PUT", "/v1/units/"+u, "{\"name\":\"Arbetsmarknad \xc3\"}"), http.StatusBadRequest, api.CodeInvalidText, "name", "UTF-8")
	refused(t, call(t, "PUT", "/v1/staff/g-"+u, `{"name":"Anna\nBerg","unitId":"`+u+`","role":"guide"}`), http.StatusBadRequest, api.CodeInvalidText, "name", "newline")
	refused(t, call(t, "PUT", "/v1/staff/g-"+u, `{"name":"Anna","unitId":"`+u+`\u0000","role":"guide"}`), http.StatusBadRequest, api.CodeInvalidText, "unitId", "NUL")

	csv := "staff_id,name,email,unit_id,role,reports_to\n" +
		"n1-" + u + ",Nils,," + u + ",guide,\n" +
		"n2-" + u + ",\"Nora\x00\",," + u + ",guide,\n" +
		"n3-" + u + ",Nisse \xff,," + u + ",guide,\n"
	refused(t, postCSV(t, "/v1/staff/import", csv), http.StatusBadRequest, api.CodeInvalidText, "line 3 name", "line 4 name", "not valid UTF-8")
	if _, err := env.store.StaffMember(ctx, "n1-"+u); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused file saved its good rows: %v", err)
	}
	if a, _ := env.store.Unit(ctx, u); a != unitBefore {
		t.Fatalf("unit changed: %+v, was %+v", a, unitBefore)
	}
	if a, _ := env.store.StaffMember(ctx, "g-"+u); a != staffBefore {
		t.Fatalf("staff member changed: %+v, was %+v", a, staffBefore)
	}
	// Ids follow the one pattern.
	refused(t, call(t, "PUT", "/v1/units/-"+u, `{"name":"X"}`), http.StatusBadRequest, api.CodeBadRequest, "id", "unit id in the path must be 1–64 letters")
}

// Reproduction 2 of issue 13: an email with CR/LF was kept, and every escalation to
// that person then failed on every attempt.
func TestAStaffEmailIsOneBareAddressThatNetMailReads(t *testing.T) {
	u := "mail-" + participant("u")
	orgUnit(t, u)
	g := "g-" + u
	if r := call(t, "PUT", "/v1/staff/"+g, `{"name":"Anna Berg","email":"anna.berg@kommun.se","unitId":"`+u+`","role":"guide"}`); r.status != http.StatusOK {
		t.Fatalf("save: %d %s", r.status, r.body)
	}
	before, err := env.store.StaffMember(context.Background(), g)
	if err != nil || before.Email != "anna.berg@kommun.se" {
		t.Fatalf("saved: %+v %v", before, err)
	}
	emails := metricValue(t, "stegvis_input_rejections_total", `reason="invalid_email"`)
	controls := metricValue(t, "stegvis_input_rejections_total", `reason="control_character"`)
	put := func(email string) response {
		b, _ := json.Marshal(map[string]string{"name": "Anna Berg", "email": email, "unitId": u, "role": "guide"})
		return call(t, "PUT", "/v1/staff/"+g, string(b))
	}
	refused(t, put("anna@kommun.se\r\nBcc: all@kommun.se"), http.StatusBadRequest, api.CodeInvalidText, "email", "carriage return")
	refused(t, put("anna@kommun.se\n"), http.StatusBadRequest, api.CodeInvalidText, "email", "newline")
	refused(t, put("Anna Berg <anna@kommun.se>"), http.StatusUnprocessableEntity, api.CodeValidationFailed, "email", "bare address", "anna@kommun.se")
	refused(t, put("anna@@kommun.se"), http.StatusUnprocessableEntity, api.CodeValidationFailed, "email", "is not an email address")
	refused(t, put("anna@kommun.se, bo@kommun.se"), http.StatusUnprocessableEntity, api.CodeValidationFailed, "email")
	csv := "staff_id,name,email,unit_id,role,reports_to\n" + g + ",Anna Berg,\"anna@kommun.se\r\nBcc: x@y.se\"," + u + ",guide,\n"
	refused(t, postCSV(t, "/v1/staff/import", csv), http.StatusBadRequest, api.CodeInvalidText, "line 2 email", "newline")
	csv = "staff_id,name,email,unit_id,role,reports_to\n" + g + ",Anna Berg,Anna <anna@kommun.se>," + u + ",guide,\n"
	refused(t, postCSV(t, "/v1/staff/import", csv), http.StatusUnprocessableEntity, api.CodeValidationFailed, "line 2 email", "bare address")
	if after, _ := env.store.StaffMember(context.Background(), g); after != before {
		t.Fatalf("the stored staff row changed: %+v, was %+v", after, before)
	}
	// Four addresses net/mail refused or read as more than a bare address, three line breaks.
	e := metricValue(t, "stegvis_input_rejections_total", `reason="invalid_email"`) - emails
	c := metricValue(t, "stegvis_input_rejections_total", `reason="control_character"`) - controls
	if e != 4 || c != 3 {
		t.Fatalf("rejections counted: %v invalid_email, %v control_character; want 4 and 3", e, c)
	}
}

// metricValue reads one counter from /metrics.
func metricValue(t *testing.T, name, label string) float64 {
	t.Helper()
	resp, err := http.Get(env.http.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name+"{"+label+"}") + ` (\S+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no %s{%s} in /metrics", name, label)
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

// listedUnitsAreActive checks what a refusal offers instead of an unknown unit: at
// least one unit, at most ten, each an active unit of the org chart.
func listedUnitsAreActive(t *testing.T, msg string) {
	t.Helper()
	m := regexp.MustCompile(`active units: (.*?)(?:, … \(GET /v1/units lists them all\))?\. Nothing was changed$`).FindStringSubmatch(msg)
	if m == nil {
		t.Fatalf("no units offered: %s", msg)
	}
	ids := strings.Split(m[1], ", ")
	if len(ids) < 1 || len(ids) > 10 {
		t.Fatalf("%d units offered: %s", len(ids), msg)
	}
	for _, id := range ids {
		if u, err := env.store.Unit(context.Background(), id); err != nil || !u.Active {
			t.Errorf("offered %q, which is no active unit (%+v, %v)", id, u, err)
		}
	}
}

// Reproduction 3 of issue 13: ids were never checked against the org chart.
func TestTheOrgChartIsTheAuthorityForEveryIdAJourneyNames(t *testing.T) {
	ctx := context.Background()
	if err := env.store.UpsertUnit(ctx, store.Unit{UnitID: "nedlagd", Name: "Nedlagd enhet", Active: false}); err != nil {
		t.Fatal(err)
	}
	unknownBefore := metricValue(t, "stegvis_input_rejections_total", `reason="unknown_id"`)
	start := func(id, extra string) response {
		return call(t, "POST", "/v1/participants", fmt.Sprintf(`{"participantId":%q,"programId":"jobbgaranti","referredAt":%q,"name":"Testa Testsson",%s}`, id, today(), extra))
	}
	for _, tc := range []struct {
		name, extra, field string
		says               []string
	}{
		{"an unknown unit", `"unit":"no-such-unit"`, "unit", []string{`\"no-such-unit\" is not a unit in the org chart; active units`}},
		{"a deactivated unit", `"unit":"nedlagd"`, "unit", []string{`\"nedlagd\" is a deactivated unit`}},
		{"an unknown guide", `"unit":"arbetsmarknad","guideId":"no-such-guide"`, "guideId",
			[]string{`\"no-such-guide\" is not in the org chart`, "active guides of arbetsmarknad: g-anna, g-bo, g-cecilia, g-karim"}},
		{"a case worker as the guide", `"unit":"arbetsmarknad","guideId":"cw-dina"`, "guideId", []string{`\"cw-dina\" has the role case_worker, not guide`}},
		{"a guide of another unit", `"unit":"arbetsmarknad","guideId":"g-vux"`, "guideId", []string{"is a guide of unit vuxenutbildning, not of arbetsmarknad"}},
		{"a guide as the case worker", `"unit":"arbetsmarknad","caseWorkerId":"g-anna"`, "caseWorkerId", []string{`\"g-anna\" has the role guide, not case_worker`, "active case workers of arbetsmarknad: cw-dina"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := participant("oc")
			e := refused(t, start(id, tc.extra), http.StatusUnprocessableEntity, api.CodeValidationFailed, tc.field, tc.says...)
			if tc.field == "unit" {
				listedUnitsAreActive(t, e.Message)
			}
			noJourney(t, id)
		})
	}
	if got := metricValue(t, "stegvis_input_rejections_total", `reason="unknown_id"`) - unknownBefore; got != 6 {
		t.Fatalf("unknown_id rejections counted: %v, want 6", got)
	}

	// A handover names an active guide of the journey's unit; a transfer an active unit.
	id := startedJourney(t)
	before := stored(t, id)
	p := "/v1/participants/" + id
	refused(t, call(t, "POST", p+"/guide", `{"guideId":"ghost-nobody"}`), http.StatusUnprocessableEntity, api.CodeValidationFailed, "guideId",
		`\"ghost-nobody\" is not in the org chart`, "g-karim")
	refused(t, call(t, "POST", p+"/guide", `{"guideId":"g-vux"}`), http.StatusUnprocessableEntity, api.CodeValidationFailed, "guideId",
		"guide of unit vuxenutbildning, not of arbetsmarknad (to hand over across units, transfer the journey first); active guides of arbetsmarknad: g-anna, g-bo, g-cecilia, g-karim")
	e := refused(t, call(t, "POST", p+"/transfer", `{"toUnit":"no-such-unit"}`), http.StatusUnprocessableEntity, api.CodeValidationFailed, "toUnit",
		"is not a unit in the org chart; active units")
	listedUnitsAreActive(t, e.Message)
	refused(t, call(t, "POST", p+"/transfer", `{"toUnit":"nedlagd"}`), http.StatusUnprocessableEntity, api.CodeValidationFailed, "toUnit", "deactivated")
	if after := stored(t, id); after != before {
		t.Fatalf("a refused handover or transfer changed the journey:\nbefore %s\nafter  %s", before, after)
	}
	// After a transfer, the new unit's guides are the ones to hand over to.
	if r := call(t, "POST", p+"/transfer", `{"toUnit":"vuxenutbildning"}`); r.status != http.StatusOK {
		t.Fatalf("transfer: %d %s", r.status, r.body)
	}
	refused(t, call(t, "POST", p+"/guide", `{"guideId":"g-karim"}`), http.StatusUnprocessableEntity, api.CodeValidationFailed, "guideId",
		"not of vuxenutbildning", "active guides of vuxenutbildning: g-vux")
	if r := call(t, "POST", p+"/guide", `{"guideId":"g-vux","handoverNote":"studies SFI\nin the mornings"}`); r.status != http.StatusOK {
		t.Fatalf("handover to the new unit's guide: %d %s", r.status, r.body)
	}
}

// The import reports a row naming an unknown unit or guide by its line, with the API's
// reason, and starts nothing for it; the API counts each marked row's outcome.
func TestAnImportRowNamingWhatTheOrgChartLacksStartsNothing(t *testing.T) {
	u := "imo-" + participant("u")
	orgUnit(t, u, "g-"+u)
	good, noUnit, noGuide, lateGhost, nul := participant("ok"), participant("nu"), participant("ng"), participant("lg"), participant("nl")
	past := time.Now().AddDate(0, 0, -10).Format(time.DateOnly)
	later := time.Now().AddDate(0, 0, -5).Format(time.DateOnly)
	file := t.TempDir() + "/caseload.csv"
	csvText := "participant_id,program_id,unit,referred_at,guide_id,guide_assigned_at\n" +
		good + ",jobbgaranti," + u + "," + past + ",g-" + u + "," + later + "\n" +
		noUnit + ",jobbgaranti,no-such-unit," + past + ",,\n" +
		noGuide + ",jobbgaranti," + u + "," + past + ",no-such-guide,\n" +
		lateGhost + ",jobbgaranti," + u + "," + past + ",ghost-nobody," + later + "\n" +
		nul + ",jobbgaranti,\"" + u + "\x00\"," + past + ",,\n"
	if err := os.WriteFile(file, []byte(csvText), 0o644); err != nil {
		t.Fatal(err)
	}
	count := func(outcome string) float64 {
		return metricValue(t, "stegvis_import_rows_total", `outcome="`+outcome+`"`)
	}
	started, rejected, there := count("started"), count("rejected"), count("already_there")
	sum, err := importer.Run(context.Background(), importer.Options{APIURL: env.http.URL, Token: defaultToken, File: file, Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Rows != 5 || sum.Started != 1 || len(sum.Rejected) != 4 {
		t.Fatalf("summary: %+v", sum)
	}
	want := []struct {
		line int
		says string
	}{
		{3, `unit "no-such-unit" is not a unit in the org chart`},
		{4, `guideId "no-such-guide" is not in the org chart; active guides of ` + u + ": g-" + u + "."},
		{5, `guideId "ghost-nobody" is not in the org chart`},
		{6, "unit holds the control character NUL"},
	}
	for i, w := range want {
		if r := sum.Rejected[i]; r.Line != w.line || !strings.Contains(r.Reason, w.says) {
			t.Errorf("rejected row %d: %+v, want line %d saying %q", i, r, w.line, w.says)
		}
	}
	for _, id := range []string{noUnit, noGuide, lateGhost, nul} {
		noJourney(t, id)
	}
	caughtUp(t, good)
	var j workflows.JourneyView
	call(t, "GET", "/v1/participants/"+good, "").decode(t, &j)
	if j.GuideID != "g-"+u || len(j.Guides) != 1 || j.Guides[0].From.Format(time.DateOnly) != later {
		t.Fatalf("the good row's guide: %+v", j.Guides)
	}
	// Four rows reached the API (the NUL row is refused by the importer itself): one
	// started, three rejected. A second run finds the good row already there.
	if s, r := count("started")-started, count("rejected")-rejected; s != 1 || r != 3 {
		t.Fatalf("rows counted: %v started, %v rejected; want 1 and 3", s, r)
	}
	again, err := importer.Run(context.Background(), importer.Options{APIURL: env.http.URL, Token: defaultToken, File: file})
	if err != nil || again.Existing != 1 || again.Started != 0 || len(again.Rejected) != 4 {
		t.Fatalf("second run: %+v %v", again, err)
	}
	if a := count("already_there") - there; a != 1 {
		t.Fatalf("already there counted %v, want 1", a)
	}
}

// Unit, staff and participant ids follow the one pattern of textcheck.IDPattern, which
// README and openapi.yaml document.
func TestOneIDPatternForUnitsStaffAndParticipants(t *testing.T) {
	for id, ok := range map[string]bool{
		"p-1001": true, "arbetsmarknad": true, "g-anna": true, "a.b_c-1": true, strings.Repeat("a", 64): true,
		strings.Repeat("a", 65): false, "-x": false, "g anna": false, "åsa": false, "g/anna": false,
	} {
		if got := textcheck.ValidID(id); got != ok {
			t.Errorf("textcheck.ValidID(%q) = %v, want %v", id, got, ok)
		}
		if got := workflows.CheckParticipantID(id) == ""; got != ok {
			t.Errorf("participant id %q accepted = %v, want %v", id, got, ok)
		}
	}
	if !strings.Contains(string(api.OpenAPISpec()), `pattern: "`+textcheck.IDPattern+`"`) {
		t.Fatalf("openapi.yaml does not document the id pattern %s", textcheck.IDPattern)
	}
}
