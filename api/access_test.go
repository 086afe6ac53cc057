package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stegvis/stegvis/api"
	"github.com/stegvis/stegvis/auth"
	"github.com/stegvis/stegvis/metrics"
	"github.com/stegvis/stegvis/store"
)

// org is a small organisation of its own for an access test: two units, two teams in
// the first, a manager for each unit, two case workers, and participants placed so
// that every scope rule has a case it covers and one it does not.
type org struct {
	u, u2                       string // units
	gA, gB, tlA, tlB, umU, umU2 string // staff
	cw, cw2                     string // case workers
	pA, pB, pQ, pX              string // participants: gA's (cw's client), gB's, waiting in u, in u2
	users                       map[string]user
}

type user struct {
	subject string
	roles   []auth.Role
}

func newOrg(t *testing.T) *org {
	t.Helper()
	u := "acc-" + participant("u")
	o := &org{u: u, u2: u + "-2", gA: "g-a-" + u, gB: "g-b-" + u, tlA: "tl-a-" + u, tlB: "tl-b-" + u, umU: "um-" + u, umU2: "um2-" + u,
		cw: "cw-" + u, cw2: "cw2-" + u, pA: participant("acc-a"), pB: participant("acc-b"), pQ: participant("acc-q"), pX: participant("acc-x")}
	for _, unit := range []string{o.u, o.u2} {
		if r := call(t, "PUT", "/v1/units/"+unit, `{"name":"Enhet"}`); r.status != 200 {
			t.Fatalf("unit: %d %s", r.status, r.body)
		}
	}
	csv := "staff_id,name,email,unit_id,role,reports_to\n" +
		o.umU + ",Um,," + o.u + ",unit_manager,\n" + o.umU2 + ",Um2,," + o.u2 + ",unit_manager,\n" +
		o.tlA + ",TlA,," + o.u + ",team_lead," + o.umU + "\n" + o.tlB + ",TlB,," + o.u + ",team_lead," + o.umU + "\n" +
		o.gA + ",GA,," + o.u + ",guide," + o.tlA + "\n" + o.gB + ",GB,," + o.u + ",guide," + o.tlB + "\n" +
		o.cw + ",Cw,," + o.u + ",case_worker,\n" + o.cw2 + ",Cw2,," + o.u + ",case_worker,\n"
	if r := postCSV(t, "/v1/staff/import", csv); r.status != 200 {
		t.Fatalf("staff: %d %s", r.status, r.body)
	}
	start := func(id, unit, guide, caseWorker string) {
		body := fmt.Sprintf(`{"participantId":%q,"programId":"jobbgaranti","unit":%q,"referredAt":%q,"guideId":%q,"caseWorkerId":%q}`,
			id, unit, today(), guide, caseWorker)
		if r := call(t, "POST", "/v1/participants", body); r.status != http.StatusCreated {
			t.Fatalf("start %s: %d %s", id, r.status, r.body)
		}
	}
	start(o.pA, o.u, o.gA, o.cw)
	start(o.pB, o.u, o.gB, "")
	start(o.pQ, o.u, "", "")
	start(o.pX, o.u2, "", "")
	for _, p := range []string{o.pA, o.pB, o.pQ, o.pX} {
		caughtUp(t, p)
	}
	o.users = map[string]user{
		"guideA": {o.gA, []auth.Role{auth.Guide}}, "guideB": {o.gB, []auth.Role{auth.Guide}},
		"leadA": {o.tlA, []auth.Role{auth.TeamLead}}, "leadB": {o.tlB, []auth.Role{auth.TeamLead}},
		"managerU": {o.umU, []auth.Role{auth.UnitManager}}, "managerU2": {o.umU2, []auth.Role{auth.UnitManager}},
		"caseWorker": {o.cw, []auth.Role{auth.CaseWorker}}, "caseWorker2": {o.cw2, []auth.Role{auth.CaseWorker}},
		"admin": {"admin-" + u, []auth.Role{auth.Admin}}, "system": {"sys-" + u, []auth.Role{auth.System}},
		"noRole": {"nobody-" + u, nil},
		// In the org chart as nothing: a team lead token for someone the chart lacks.
		"strangerLead": {"tl-unknown-" + u, []auth.Role{auth.TeamLead}},
	}
	return o
}

func (o *org) as(t *testing.T, who string) []string {
	u, ok := o.users[who]
	if !ok {
		t.Fatalf("no user %q", who)
	}
	return as(t, u.subject, u.roles...)
}

// granted is what an allowed request answers here: anything but 401, 403 and 5xx.
// (Bodies are deliberately incomplete, so allowed writes stop at validation.)
func granted(status int) bool { return status != 401 && status != 403 && status < 500 }

func TestEveryRoleOnEveryEndpoint(t *testing.T) {
	o := newOrg(t)
	all := []string{"guideA", "guideB", "leadA", "leadB", "managerU", "managerU2", "caseWorker", "caseWorker2", "admin", "system", "noRole", "strangerLead"}
	type row struct {
		method, path, body string
		allowed            []string // everyone else is denied
	}
	p := func(id, rest string) string { return "/v1/participants/" + id + rest }
	recorders := func(id string) []string {
		switch id {
		case o.pA:
			return []string{"guideA", "leadA", "managerU", "system"}
		case o.pQ:
			return []string{"leadA", "leadB", "managerU", "system"}
		}
		return []string{"system"}
	}
	rows := []row{
		// Programmes and the org chart: anyone signed in with a role reads; admins write.
		{"GET", "/v1/programs", "", slices.DeleteFunc(slices.Clone(all), func(s string) bool { return s == "noRole" })},
		{"GET", "/v1/programs/jobbgaranti", "", slices.DeleteFunc(slices.Clone(all), func(s string) bool { return s == "noRole" })},
		{"POST", "/v1/programs/jobbgaranti/migrate", `{}`, []string{"admin"}},
		{"GET", "/v1/units", "", slices.DeleteFunc(slices.Clone(all), func(s string) bool { return s == "noRole" })},
		{"PUT", "/v1/units/" + o.u, `{}`, []string{"admin"}},
		{"DELETE", "/v1/units/no-such-unit", "", []string{"admin"}},
		{"GET", "/v1/staff", "", slices.DeleteFunc(slices.Clone(all), func(s string) bool { return s == "noRole" })},
		{"PUT", "/v1/staff/" + o.gA, `{}`, []string{"admin"}},
		{"DELETE", "/v1/staff/no-such-person", "", []string{"admin"}},
		{"POST", "/v1/staff/import", "", []string{"admin"}},
		{"GET", "/v1/audit", "", []string{"admin"}},
		{"GET", "/v1/admin/self-check", "", []string{"admin"}},
		{"POST", "/v1/admin/deliveries/999999999/handled", "", []string{"admin"}},
		{"POST", "/v1/admin/journal-failures/acc-nobody-at-all/resolved", "", []string{"admin"}},
		{"POST", "/codec/decode", `{"payloads":[]}`, []string{"admin"}},
		{"POST", "/codec/encode", `{"payloads":[]}`, []string{"admin"}},
		// Journeys.
		{"POST", "/v1/participants", `{}`, []string{"system"}},
		{"GET", "/v1/participants", "", []string{"guideA", "guideB", "leadA", "leadB", "managerU", "managerU2", "caseWorker", "caseWorker2", "system", "strangerLead"}},
		{"GET", "/v1/queue", "", []string{"leadA", "leadB", "managerU", "managerU2", "system", "strangerLead"}},
		{"GET", "/v1/overdue", "", []string{"guideA", "guideB", "leadA", "leadB", "managerU", "managerU2", "system", "strangerLead"}},
		{"GET", "/v1/guides/" + o.gA + "/caseload", "", []string{"guideA", "leadA", "managerU", "system"}},
		{"GET", "/v1/guides/" + o.gB + "/caseload", "", []string{"guideB", "leadB", "managerU", "system"}},
		{"GET", "/v1/reports/plan-timeliness?unit=" + o.u, "", []string{"leadA", "leadB", "managerU", "system"}},
		{"GET", "/v1/reports/follow-up-timeliness", "", []string{"leadA", "leadB", "managerU", "managerU2", "system"}},
		{"GET", "/v1/reports/step-attainment?unit=" + o.u2, "", []string{"managerU2", "system"}},
		{"GET", "/v1/reports/exits", "", []string{"leadA", "leadB", "managerU", "managerU2", "system"}},
		{"GET", "/v1/reports/waiting-time", "", []string{"leadA", "leadB", "managerU", "managerU2", "system"}},
		{"GET", "/v1/reports/caseload", "", []string{"leadA", "leadB", "managerU", "managerU2", "system"}},
		{"GET", "/v1/reports/caseload?unit=" + o.u2, "", []string{"managerU2", "system"}},
		{"GET", "/v1/reports/overdue-by-guide", "", []string{"leadA", "leadB", "managerU", "managerU2", "system"}},
		{"GET", "/v1/reports/overdue-by-guide?unit=" + o.u2, "", []string{"managerU2", "system"}},
		{"GET", "/v1/notifications", "", []string{"guideA", "guideB", "leadA", "leadB", "managerU", "managerU2", "caseWorker", "caseWorker2", "admin", "strangerLead"}},
		{"GET", "/v1/notifications?recipient=" + o.gA, "", []string{"guideA"}},
		{"POST", "/v1/notifications/999999999/read", "", []string{"guideA", "guideB", "leadA", "leadB", "managerU", "managerU2", "caseWorker", "caseWorker2", "admin", "strangerLead"}},
		// One participant: ownership.
		{"GET", p(o.pA, ""), "", []string{"guideA", "leadA", "managerU", "caseWorker", "system"}},
		{"GET", p(o.pB, ""), "", []string{"guideB", "leadB", "managerU", "system"}},
		{"GET", p(o.pQ, ""), "", []string{"leadA", "leadB", "managerU", "system"}},
		{"GET", p(o.pX, ""), "", []string{"managerU2", "system"}},
		{"GET", p("acc-nobody-at-all", ""), "", []string{"system"}}, // 404 for the system role, 403 for anyone else
		{"POST", p(o.pA, "/meetings"), `{}`, []string{"guideA", "leadA", "managerU", "caseWorker", "system"}},
		{"POST", p(o.pB, "/meetings"), `{}`, []string{"guideB", "leadB", "managerU", "system"}},
		{"POST", p(o.pA, "/transfer"), `{}`, []string{"leadA", "managerU", "system"}},
		{"POST", p(o.pX, "/transfer"), `{}`, []string{"managerU2", "system"}},
	}
	for _, rest := range []string{"/plan", "/guide", "/mapping", "/steps", "/pause", "/resume", "/exit", "/deepened-plan"} {
		for _, id := range []string{o.pA, o.pQ, o.pX} {
			allowed := recorders(id)
			if id == o.pX {
				allowed = []string{"managerU2", "system"}
			}
			rows = append(rows, row{"POST", p(id, rest), `{}`, allowed})
		}
	}

	// Every route the API serves has a row, so a new endpoint cannot skip this test.
	covered := map[string]bool{}
	for _, r := range rows {
		req, _ := http.NewRequest(r.method, env.http.URL+r.path, nil)
		route, _, err := env.spec.FindRoute(req)
		if err != nil {
			t.Fatalf("%s %s: %v", r.method, r.path, err)
		}
		covered[r.method+" "+route.Path] = true
	}
	public := map[string]bool{"GET /healthz": true, "GET /readyz": true, "GET /metrics": true, "GET /openapi.yaml": true,
		"OPTIONS /codec/decode": true, "OPTIONS /codec/encode": true}
	d := env.deps
	d.Metrics = metrics.New()
	for _, rt := range api.NewRouter(d).Routes() {
		path := rt.Path
		for _, seg := range strings.Split(path, "/") {
			if strings.HasPrefix(seg, ":") {
				path = strings.Replace(path, seg, "{"+seg[1:]+"}", 1)
			}
		}
		if key := rt.Method + " " + path; !covered[key] && !public[key] {
			t.Errorf("%s has no row in the role matrix", key)
		}
	}

	for _, r := range rows {
		for _, who := range all {
			want := slices.Contains(r.allowed, who)
			res := call(t, r.method, r.path, r.body, o.as(t, who)...)
			if granted(res.status) != want {
				t.Errorf("%s %s as %s: %d, want allowed=%v\n%s", r.method, r.path, who, res.status, want, res.body)
			}
			if !want && res.status != 403 {
				t.Errorf("%s %s as %s: denied with %d, want 403", r.method, r.path, who, res.status)
			}
			if !want {
				// A denial never says whether the participant exists.
				msg := res.apiError(t).Message
				if strings.Contains(msg, "not found") || strings.Contains(msg, "no journey") {
					t.Errorf("%s %s as %s: the denial leaks existence: %s", r.method, r.path, who, msg)
				}
			}
		}
	}

	// The unknown participant and someone else's get the very same answer.
	other := call(t, "GET", p(o.pB, ""), "", o.as(t, "guideA")...).apiError(t).Message
	missing := call(t, "GET", p("acc-nobody-at-all", ""), "", o.as(t, "guideA")...).apiError(t).Message
	if strings.ReplaceAll(other, o.pB, "X") != strings.ReplaceAll(missing, "acc-nobody-at-all", "X") {
		t.Errorf("someone else's and a missing participant answer differently:\n%s\n%s", other, missing)
	}
	if r := call(t, "GET", p("acc-nobody-at-all", ""), "", o.as(t, "system")...); r.status != 404 {
		t.Errorf("the system role reads a missing participant: %d", r.status)
	}
}

func TestWithoutAValidTokenEverythingIs401(t *testing.T) {
	o := newOrg(t)
	other, err := auth.NewDevIssuer("https://idp.kommun.test", "") // same issuer name, another key
	if err != nil {
		t.Fatal(err)
	}
	forged, _ := other.Mint(o.gA, time.Hour, auth.Guide)
	expired, _ := env.issuer.Mint(o.gA, -time.Minute, auth.Guide)
	wrongIssuer, _ := func() (string, error) {
		d, _ := auth.NewDevIssuer("https://evil.test", "")
		return d.Mint(o.gA, time.Hour, auth.Guide)
	}()
	for _, path := range []string{"/v1/participants/" + o.pA, "/v1/participants/acc-nobody", "/v1/participants", "/v1/units", "/v1/audit"} {
		for name, h := range map[string][]string{
			"no token": nil, "not a JWT": {"Authorization", "Bearer hello"}, "Basic": {"Authorization", "Basic Z3Vlc3Q6Z3Vlc3Q="},
			"forged": {"Authorization", "Bearer " + forged}, "expired": {"Authorization", "Bearer " + expired},
			"other issuer": {"Authorization", "Bearer " + wrongIssuer},
		} {
			req, _ := http.NewRequest("GET", env.http.URL+path, nil)
			for i := 0; i+1 < len(h); i += 2 {
				req.Header.Set(h[i], h[i+1])
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body struct {
				Error struct{ Code, Message string }
			}
			_ = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" || body.Error.Code != "unauthenticated" ||
				strings.Contains(body.Error.Message, "not found") {
				t.Errorf("%s on %s: %d %q %+v", name, path, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
			}
			if name == "expired" && !strings.Contains(body.Error.Message, "expired") {
				t.Errorf("an expired token's answer does not say so: %s", body.Error.Message)
			}
		}
	}
}

func TestListsShowOnlyWhatTheCallerMaySee(t *testing.T) {
	o := newOrg(t)
	list := func(who, query string) []string {
		var out struct {
			Participants []store.ParticipantRow `json:"participants"`
		}
		call(t, "GET", "/v1/participants?limit=500&"+query, "", o.as(t, who)...).decode(t, &out)
		var ids []string
		for _, r := range out.Participants {
			ids = append(ids, r.ParticipantID)
		}
		return ids
	}
	ours := func(ids []string) []string {
		var out []string
		for _, id := range ids {
			if slices.Contains([]string{o.pA, o.pB, o.pQ, o.pX}, id) {
				out = append(out, id)
			}
		}
		slices.Sort(out)
		return out
	}
	sorted := func(ids ...string) []string { slices.Sort(ids); return ids }
	for who, want := range map[string][]string{
		"guideA": {o.pA}, "guideB": {o.pB}, "leadA": sorted(o.pA, o.pQ), "leadB": sorted(o.pB, o.pQ),
		"managerU": sorted(o.pA, o.pB, o.pQ), "managerU2": {o.pX}, "caseWorker": {o.pA}, "caseWorker2": nil, "strangerLead": nil,
	} {
		got := list(who, "")
		if !slices.Equal(ours(got), want) || len(got) != len(want) {
			t.Errorf("%s lists %v, want %v", who, got, want)
		}
	}
	if got := ours(list("system", "unit="+o.u)); !slices.Equal(got, sorted(o.pA, o.pB, o.pQ)) {
		t.Errorf("the system role lists %v", got)
	}
	// A filter cannot widen a scope: a guide asking for another guide's list gets nothing of theirs.
	if got := list("guideA", "guideId="+o.gB); len(got) != 0 {
		t.Errorf("guide A filtered to guide B's participants and saw %v", got)
	}
	var q struct {
		Participants []store.QueueRow `json:"participants"`
	}
	call(t, "GET", "/v1/queue", "", o.as(t, "leadA")...).decode(t, &q)
	if len(q.Participants) != 1 || q.Participants[0].ParticipantID != o.pQ {
		t.Errorf("team lead A's queue: %+v", q.Participants)
	}
	call(t, "GET", "/v1/queue", "", o.as(t, "managerU2")...).decode(t, &q)
	if len(q.Participants) != 1 || q.Participants[0].ParticipantID != o.pX {
		t.Errorf("manager U2's queue: %+v", q.Participants)
	}
	// A team lead assigns a guide from the queue; the guide sees the participant at once.
	if r := call(t, "POST", "/v1/participants/"+o.pQ+"/guide", `{"guideId":"`+o.gA+`"}`, o.as(t, "leadA")...); r.status != 200 {
		t.Fatalf("assign from the queue: %d %s", r.status, r.body)
	}
	if r := call(t, "GET", "/v1/participants/"+o.pQ, "", o.as(t, "guideA")...); r.status != 200 {
		t.Errorf("the newly assigned guide cannot open the participant: %d %s", r.status, r.body)
	}
	if r := call(t, "GET", "/v1/participants/"+o.pQ, "", o.as(t, "leadB")...); r.status != 403 {
		t.Errorf("team lead B still sees a participant now in team A: %d", r.status)
	}
}

func TestEveryReadAndChangeIsInTheAuditLog(t *testing.T) {
	o := newOrg(t)
	since := time.Now().Add(-time.Second).Format(time.RFC3339)
	call(t, "GET", "/v1/participants/"+o.pA, "", o.as(t, "guideA")...)
	call(t, "GET", "/v1/participants/"+o.pA, "", o.as(t, "guideB")...)
	call(t, "POST", "/v1/participants/"+o.pA+"/meetings", `{}`, o.as(t, "caseWorker2")...)
	call(t, "GET", "/v1/participants?limit=500", "", o.as(t, "leadA")...)

	type entry = store.AuditRecord
	read := func(who, query string) []entry {
		var out struct {
			Entries []entry `json:"entries"`
		}
		r := call(t, "GET", "/v1/audit?"+query, "", o.as(t, who)...)
		if r.status != 200 {
			t.Fatalf("audit as %s: %d %s", who, r.status, r.body)
		}
		r.decode(t, &out)
		return out.Entries
	}
	has := func(es []entry, actor, action, participant, outcome string) bool {
		return slices.ContainsFunc(es, func(e entry) bool {
			return e.Actor == actor && e.Action == action && e.ParticipantID == participant && e.Outcome == outcome && e.RequestID != ""
		})
	}
	es := read("admin", "participantId="+o.pA+"&from="+since)
	for _, w := range []struct{ actor, action, outcome string }{
		{o.gA, "GET /v1/participants/:id", "allowed"},
		{o.gB, "GET /v1/participants/:id", "denied"},
		{o.cw2, "POST /v1/participants/:id/meetings", "denied"},
		{o.tlA, "GET /v1/participants", "allowed"}, // a list read is logged per participant shown
	} {
		if !has(es, w.actor, w.action, o.pA, w.outcome) {
			t.Errorf("no %s entry for %s %s on %s in %+v", w.outcome, w.actor, w.action, o.pA, es)
		}
	}
	for _, e := range es {
		if e.ParticipantID != o.pA {
			t.Errorf("filtered by participant, got %+v", e)
		}
	}
	if !has(read("admin", "participantId="+o.pA+"&user=ekb-system"), "ekb-system", "POST /v1/participants", o.pA, "allowed") {
		t.Error("the referral that started the journey is not in the audit log")
	}
	// A denial on a route that names no participant logs none (a unit id is not one).
	call(t, "PUT", "/v1/units/"+o.u, `{"name":"x"}`, o.as(t, "guideA")...)
	if !slices.ContainsFunc(read("admin", "user="+o.gA), func(e entry) bool {
		return e.Action == "PUT /v1/units/:id" && e.Outcome == "denied" && e.ParticipantID == ""
	}) {
		t.Error("a guide's refused change of a unit is not in the audit log as a denial without a participant")
	}
	// By user, and by period.
	byUser := read("admin", "user="+o.gB)
	if len(byUser) == 0 || slices.ContainsFunc(byUser, func(e entry) bool { return e.Actor != o.gB }) {
		t.Errorf("filtered by user: %+v", byUser)
	}
	if later := read("admin", "participantId="+o.pA+"&from="+time.Now().Add(time.Hour).Format(time.RFC3339)); len(later) != 0 {
		t.Errorf("entries from the future: %+v", later)
	}
	// Paging: one entry per page, newest first, following next.
	var page struct {
		Entries []entry `json:"entries"`
		Next    int64   `json:"next"`
	}
	call(t, "GET", "/v1/audit?limit=1&participantId="+o.pA, "", o.as(t, "admin")...).decode(t, &page)
	first := page.Entries[0].ID
	call(t, "GET", fmt.Sprintf("/v1/audit?limit=1&participantId=%s&before=%d", o.pA, page.Next), "", o.as(t, "admin")...).decode(t, &page)
	if len(page.Entries) != 1 || page.Entries[0].ID >= first {
		t.Errorf("paging: %d then %+v", first, page.Entries)
	}
	// Only admins read it, and the log cannot be changed.
	if r := call(t, "GET", "/v1/audit", "", o.as(t, "managerU")...); r.status != 403 {
		t.Errorf("a unit manager read the audit log: %d", r.status)
	}
	if _, err := env.store.Pool.Exec(context.Background(), `UPDATE audit_log SET outcome = 'allowed' WHERE participant_id = $1`, o.pA); err == nil {
		t.Error("the audit log could be changed")
	}
	if _, err := env.store.Pool.Exec(context.Background(), `DELETE FROM audit_log WHERE participant_id = $1`, o.pA); err == nil {
		t.Error("the audit log could be deleted from")
	}
}

func TestTheRateLimitAnswers429WithRetryAfter(t *testing.T) {
	d := env.deps
	d.RateLimit, d.RateBurst, d.Metrics = 1, 3, metrics.New()
	srv := httptestServer(t, d)
	tok := token(t, "busy-guide", auth.Guide)
	other := token(t, "calm-guide", auth.Guide)
	get := func(tok string) *http.Response {
		req, _ := http.NewRequest("GET", srv+"/v1/programs", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	var limited *http.Response
	for range 10 {
		if r := get(tok); r.StatusCode == http.StatusTooManyRequests {
			limited = r
			break
		}
	}
	if limited == nil {
		t.Fatal("ten requests at once with a burst of three were all served")
	}
	if ra := limited.Header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Errorf("429 without a useful Retry-After: %q", ra)
	}
	if r := get(other); r.StatusCode != 200 {
		t.Errorf("another user was limited too: %d", r.StatusCode)
	}
}

func httptestServer(t *testing.T, d api.Deps) string {
	srv := httptest.NewServer(api.NewRouter(d))
	t.Cleanup(srv.Close)
	return srv.URL
}

// The pages' own requests inside the process do not use up the person's rate limit;
// the same requests from the network do.
func TestInProcessRequestsAreNotRateLimited(t *testing.T) {
	d := env.deps
	d.RateLimit, d.RateBurst, d.Metrics = 1, 2, metrics.New()
	h := api.NewRouter(d)
	tok := token(t, "page-guide", auth.Guide)
	do := func(ctx context.Context) int {
		req := httptest.NewRequestWithContext(ctx, "GET", "/v1/programs", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	limited := false
	for range 10 {
		if do(context.Background()) == http.StatusTooManyRequests {
			limited = true
		}
	}
	if !limited {
		t.Fatal("ten requests with a burst of two were all served")
	}
	for range 10 {
		if code := do(api.InProcess(context.Background())); code != http.StatusOK {
			t.Fatalf("an in-process request answered %d", code)
		}
	}
}
