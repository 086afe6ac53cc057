package web_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/stegvis/stegvis/auth"
	"github.com/stegvis/stegvis/calendar"
	"github.com/stegvis/stegvis/workflows"
)

// The dashboard's page contract, which this test reads:
//
//   - each report is a <table data-report="NAME">, its body rows <tr data-row="...">,
//     each number a <td data-field="JSONFIELD" data-value="RAW">, RAW written as
//     strconv.FormatFloat(v, 'f', -1, 64) (strconv.Itoa for whole numbers): the number
//     the JSON API returns;
//   - the key figures are <div class="tile" data-kpi="active|overdue|waiting|planOnTime">
//     with the figure in <span class="value">; active, overdue and waiting are what the
//     lists give (participants not exited, those of them with overdueCount > 0, the
//     queue), and GET /v1/reports/caseload, which the page draws them from, must agree;
//   - each chart is a <figure data-chart="NAME"> holding an <svg role="img">.
//
// plan-timeliness, step-attainment and waiting-time are GET /v1/reports/NAME; their
// rows are in the API's order. overdue-per-guide is GET /v1/overdue counted per
// guide (the page draws it from GET /v1/reports/overdue-by-guide, so the two must
// agree); its rows are matched by data-row, the guide's id ("" for no guide).
var dashboardReports = []string{"plan-timeliness", "step-attainment", "waiting-time", "overdue-per-guide"}

// reportRow is one row of a report: its key (the page's data-row; empty from the
// API) and its numbers by JSON field, as the page writes them.
type reportRow struct {
	key     string
	strings []string // the API row's text fields, which the key is made of
	numbers map[string]float64
	raw     map[string]string // the page's data-value
}

// dashboardFigures is what one side, the page or the API, says.
type dashboardFigures struct {
	reports map[string][]reportRow
	kpi     map[string]string // the page: the tile's text; the API: the expected number, or "–"
}

// TestBrowserManagersDashboardMatchesTheReportAPI: a unit manager opens the dashboard
// and every figure in its tables and tiles is the one the JSON API gives for the
// unit; every chart is drawn.
func TestBrowserManagersDashboardMatchesTheReportAPI(t *testing.T) {
	b := browser(t)
	o := env.org
	seedDashboard(t)
	manager := tokenFor(t, o.ManagerD, auth.UnitManager)

	b.signIn(o.ManagerD)
	if status := b.navigation("open the dashboard from the menu",
		chromedp.Click(`nav a[href="/dashboard"]`, chromedp.ByQuery)); status != http.StatusOK {
		t.Fatalf("the dashboard answered %d", status)
	}
	b.run("the dashboard", chromedp.WaitVisible(`table[data-report="waiting-time"]`, chromedp.ByQuery))
	b.screenshot("dashboard")

	// The unit manager's own unit is what the API shows them without a unit; pick it
	// in the form anyway, as a manager of several units would.
	compare := func(step string, load func()) {
		t.Helper()
		var page, before, after dashboardFigures
		for attempt := 1; ; attempt++ {
			before = apiFigures(t, manager, o.D)
			load()
			after = apiFigures(t, manager, o.D)
			page = pageFigures(t, b)
			if sameShape(before, after) {
				break
			}
			// A deadline fell due, or a month began, between the two reads: read again.
			if attempt == 3 {
				t.Fatalf("%s: the API's figures kept changing between reads", step)
			}
		}
		checkFigures(t, step, page, before, after)
	}
	compare("unit picked in the form", func() {
		b.run("pick the unit", chromedp.SetValue(`#dash-unit`, o.D, chromedp.ByQuery))
		if status := b.navigation("show the unit's figures",
			chromedp.Click(`form[action="/dashboard"] button[type="submit"]`, chromedp.ByQuery)); status != http.StatusOK {
			t.Fatalf("the dashboard for unit %s answered %d", o.D, status)
		}
		b.run("the dashboard for the unit", chromedp.WaitVisible(`table[data-report="waiting-time"]`, chromedp.ByQuery))
	})
	var loc string
	b.run("read the address", chromedp.Location(&loc))
	if u, err := url.Parse(loc); err != nil || u.Path != "/dashboard" || u.Query().Get("unit") != o.D {
		t.Errorf("after picking the unit the address is %s, want /dashboard?unit=%s&…", loc, o.D)
	}
	b.screenshot("dashboard-unit")

	// Every chart is drawn, as an image with a text alternative.
	var charts map[string]int
	b.run("count the charts", chromedp.Evaluate(`(() => {
		const out = {};
		for (const f of document.querySelectorAll('figure[data-chart]')) {
			out[f.getAttribute('data-chart')] = f.querySelectorAll('svg[role="img"]').length;
		}
		return out;
	})()`, &charts))
	for _, name := range dashboardReports {
		n, ok := charts[name]
		switch {
		case !ok:
			t.Errorf("the dashboard has no figure[data-chart=%q]", name)
		case n == 0:
			t.Errorf("figure[data-chart=%q] has no <svg role=\"img\">: the seeded data should draw it", name)
		}
	}

	// And the figures are the same when the dashboard is opened with no unit chosen.
	compare("no unit chosen", func() {
		if status := b.navigation("open the dashboard", chromedp.Navigate(env.base+"/dashboard")); status != http.StatusOK {
			t.Fatalf("the dashboard answered %d", status)
		}
		b.run("the dashboard", chromedp.WaitVisible(`table[data-report="waiting-time"]`, chromedp.ByQuery))
	})
}

// seedDashboard fills unit D: plans signed on time and late, plans never signed (so
// deadlines are overdue for both guides), someone waiting for a guide, a steg journey
// with its step milestones, and a referral today with a plan signed at once.
func seedDashboard(t *testing.T) {
	t.Helper()
	o := env.org
	day := func(daysAgo int) string {
		return time.Now().In(calendar.Stockholm).AddDate(0, 0, -daysAgo).Format(time.DateOnly)
	}
	type journeySeed struct {
		prefix, programID, referred, guide string
		signAfter                          time.Duration // after the referral; 0: no plan
	}
	seeds := []journeySeed{
		{"bw-dash-ontime", "jobbgaranti", day(40), o.GuideD1, 24 * time.Hour},
		{"bw-dash-late", "jobbgaranti", day(40), o.GuideD2, 15 * 24 * time.Hour},
		{"bw-dash-missing", "jobbgaranti", day(30), o.GuideD1, 0},
		{"bw-dash-missing", "jobbgaranti", day(20), o.GuideD2, 0},
		{"bw-dash-waiting", "jobbgaranti", day(10), "", 0},
		{"bw-dash-steg", "steg", day(25), o.GuideD1, 0},
		{"bw-dash-today", "jobbgaranti", day(0), o.GuideD2, -1},
	}
	var ids []string
	for _, s := range seeds {
		id := participantID(s.prefix)
		ids = append(ids, id)
		body, _ := json.Marshal(map[string]string{"participantId": id, "programId": s.programID, "unit": o.D,
			"referredAt": s.referred, "guideId": s.guide})
		var j workflows.JourneyView
		if status := call(t, env.system, "POST", "/v1/participants", string(body), &j); status != http.StatusCreated {
			t.Fatalf("start %s: %d", id, status)
		}
		if s.signAfter == 0 {
			continue
		}
		signed := j.ReferredAt.Add(s.signAfter)
		if s.signAfter < 0 {
			signed = time.Now().Add(-time.Minute)
		}
		plan, _ := json.Marshal(map[string]any{"signedAt": signed.Format(time.RFC3339), "mainActivity": "arbetsträning på kommunens förråd",
			"weeklySchedule": []map[string]string{{"day": "monday", "from": "09:00", "to": "12:00"}},
			"subGoals":       []string{"skriva ett CV"}, "followUpAt": time.Now().AddDate(0, 0, 14).Format(time.DateOnly)})
		if status := call(t, env.system, "POST", "/v1/participants/"+id+"/plan", string(plan), nil); status != http.StatusOK {
			t.Fatalf("plan for %s: %d", id, status)
		}
	}
	for _, id := range ids {
		caughtUp(t, id)
	}
}

// apiFigures reads the unit's figures from the API, as the manager.
func apiFigures(t *testing.T, token, unit string) dashboardFigures {
	t.Helper()
	f := dashboardFigures{reports: map[string][]reportRow{}, kpi: map[string]string{}}
	for _, name := range dashboardReports {
		if name == "overdue-per-guide" {
			continue
		}
		var out struct {
			Rows []map[string]any `json:"rows"`
		}
		if status := call(t, token, "GET", "/v1/reports/"+name+"?unit="+url.QueryEscape(unit), "", &out); status != http.StatusOK {
			t.Fatalf("GET /v1/reports/%s?unit=%s: %d", name, unit, status)
		}
		for _, r := range out.Rows {
			row := reportRow{numbers: map[string]float64{}}
			for k, v := range r {
				switch v := v.(type) {
				case float64:
					row.numbers[k] = v
				case string:
					row.strings = append(row.strings, v)
				}
			}
			f.reports[name] = append(f.reports[name], row)
		}
	}

	var od struct {
		Deadlines []struct {
			GuideID string `json:"guideId"`
		} `json:"deadlines"`
		Next string `json:"next"`
	}
	if status := call(t, token, "GET", "/v1/overdue?limit=500&unit="+url.QueryEscape(unit), "", &od); status != http.StatusOK || od.Next != "" {
		t.Fatalf("GET /v1/overdue?limit=500&unit=%s: %d, next page %q (the fixture fits one page)", unit, status, od.Next)
	}
	perGuide := map[string]int{}
	for _, d := range od.Deadlines {
		perGuide[d.GuideID]++
	}
	for g, n := range perGuide {
		f.reports["overdue-per-guide"] = append(f.reports["overdue-per-guide"],
			reportRow{key: g, strings: []string{g}, numbers: map[string]float64{"count": float64(n)}})
	}
	slices.SortFunc(f.reports["overdue-per-guide"], func(a, b reportRow) int { return strings.Compare(a.key, b.key) })

	// The key figures: participants not exited, those of them with a deadline passed,
	// those waiting for a guide, and this month's share of plans signed in time.
	active, overdue := 0, 0
	q := url.Values{"limit": {"500"}, "unit": {unit}}
	for {
		var list struct {
			Participants []struct {
				Phase        string `json:"phase"`
				OverdueCount int    `json:"overdueCount"`
			} `json:"participants"`
			Next string `json:"next"`
		}
		if status := call(t, token, "GET", "/v1/participants?"+q.Encode(), "", &list); status != http.StatusOK {
			t.Fatalf("GET /v1/participants: %d", status)
		}
		for _, p := range list.Participants {
			if p.Phase != string(workflows.PhaseExited) {
				active++
				if p.OverdueCount > 0 {
					overdue++
				}
			}
		}
		if list.Next == "" {
			break
		}
		q.Set("after", list.Next)
	}
	var queue struct {
		Participants []json.RawMessage `json:"participants"`
	}
	if status := call(t, token, "GET", "/v1/queue?unit="+url.QueryEscape(unit), "", &queue); status != http.StatusOK {
		t.Fatalf("GET /v1/queue: %d", status)
	}
	f.kpi["active"], f.kpi["overdue"], f.kpi["waiting"] = strconv.Itoa(active), strconv.Itoa(overdue), strconv.Itoa(len(queue.Participants))
	// The same three from the caseload report, summed over its phases.
	var caseload struct {
		Rows []struct {
			Phase               string `json:"phase"`
			Participants        int    `json:"participants"`
			WaitingForGuide     int    `json:"waitingForGuide"`
			OverdueParticipants int    `json:"overdueParticipants"`
		} `json:"rows"`
	}
	if status := call(t, token, "GET", "/v1/reports/caseload?unit="+url.QueryEscape(unit), "", &caseload); status != http.StatusOK {
		t.Fatalf("GET /v1/reports/caseload?unit=%s: %d", unit, status)
	}
	cActive, cOverdue, cWaiting := 0, 0, 0
	for _, r := range caseload.Rows {
		if r.Phase != string(workflows.PhaseExited) {
			cActive += r.Participants
			cOverdue += r.OverdueParticipants
		}
		cWaiting += r.WaitingForGuide
	}
	f.kpi["caseload active"], f.kpi["caseload overdue"], f.kpi["caseload waiting"] = strconv.Itoa(cActive), strconv.Itoa(cOverdue), strconv.Itoa(cWaiting)
	month := time.Now().In(calendar.Stockholm).Format("2006-01")
	due, onTime := 0.0, 0.0
	for _, r := range f.reports["plan-timeliness"] {
		if slices.Contains(r.strings, month) {
			due, onTime = due+r.numbers["due"], onTime+r.numbers["onTime"]
		}
	}
	f.kpi["planOnTime"] = "–"
	if due > 0 {
		f.kpi["planOnTime"] = fmt.Sprintf("%.0f", onTime/due*100)
	}
	return f
}

// pageFigures reads the dashboard's tables and tiles from the page.
func pageFigures(t *testing.T, b *session) dashboardFigures {
	t.Helper()
	var cells [][]string
	var kpis map[string]string
	var unkeyed int
	b.run("read the dashboard's tables", chromedp.Evaluate(`(() => {
		const out = [];
		for (const table of document.querySelectorAll('table[data-report]')) {
			const report = table.getAttribute('data-report');
			table.querySelectorAll('tbody tr[data-row]').forEach((tr, i) => {
				const key = tr.getAttribute('data-row');
				out.push([report, String(i), key, '', '']);
				for (const td of tr.querySelectorAll('[data-field]')) {
					out.push([report, String(i), key, td.getAttribute('data-field'), td.getAttribute('data-value') ?? '']);
				}
			});
		}
		return out;
	})()`, &cells),
		chromedp.Evaluate(`document.querySelectorAll('table[data-report] tbody tr:not([data-row])').length`, &unkeyed),
		chromedp.Evaluate(`(() => {
			const out = {};
			for (const tile of document.querySelectorAll('.tile[data-kpi]')) {
				const v = tile.querySelector('.value');
				out[tile.getAttribute('data-kpi')] = v ? v.textContent.trim() : '';
			}
			return out;
		})()`, &kpis),
	)
	if unkeyed > 0 {
		t.Errorf("%d report table rows have no data-row", unkeyed)
	}
	f := dashboardFigures{reports: map[string][]reportRow{}, kpi: kpis}
	for _, c := range cells {
		report, i, key, field, value := c[0], c[1], c[2], c[3], c[4]
		rows := f.reports[report]
		if n, _ := strconv.Atoi(i); n >= len(rows) {
			rows = append(rows, reportRow{key: key, raw: map[string]string{}})
			f.reports[report] = rows
		}
		if field != "" {
			rows[len(rows)-1].raw[field] = value
		}
	}
	for name, rows := range f.reports {
		if name == "overdue-per-guide" {
			slices.SortFunc(rows, func(a, b reportRow) int { return strings.Compare(a.key, b.key) })
		}
	}
	return f
}

// sameShape reports whether two reads of the API have the same rows and whole-number
// figures; only the days of those still waiting, which grow with the clock, may differ.
func sameShape(a, b dashboardFigures) bool {
	for _, name := range dashboardReports {
		ra, rb := a.reports[name], b.reports[name]
		if len(ra) != len(rb) {
			return false
		}
		for i := range ra {
			if ra[i].key != rb[i].key || !slices.Equal(sortedCopy(ra[i].strings), sortedCopy(rb[i].strings)) {
				return false
			}
		}
	}
	for k, v := range a.kpi {
		if b.kpi[k] != v {
			return false
		}
	}
	return true
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

var leadingNumber = regexp.MustCompile(`^-?\d+`)

// checkFigures compares the page with the API read just before and just after it was
// loaded. A figure the two reads agree on must be on the page exactly, as RAW; one
// that moved (the days of someone still waiting) must lie between them.
func checkFigures(t *testing.T, step string, page, before, after dashboardFigures) {
	t.Helper()
	for _, name := range dashboardReports {
		got, want, later := page.reports[name], before.reports[name], after.reports[name]
		if len(want) == 0 {
			t.Errorf("%s: the API's %s is empty; the seeded data should fill it", step, name)
		}
		if len(got) != len(want) {
			t.Errorf("%s: table %s has %d rows, the API %d", step, name, len(got), len(want))
			continue
		}
		for i := range want {
			g, w, l := got[i], want[i], later[i]
			if name == "overdue-per-guide" && g.key != w.key {
				t.Errorf("%s: %s row %d is guide %q, the API's is %q", step, name, i, g.key, w.key)
				continue
			}
			// The row's key is made of the API row's own values, in whatever order.
			for _, part := range strings.Split(g.key, "|") {
				if !slices.Contains(w.strings, part) && !slices.ContainsFunc(keysOf(w.numbers), func(f string) bool { return rawOf(w.numbers[f]) == part }) {
					t.Errorf("%s: %s row %d has data-row %q; %q is none of the API row's values %v %v", step, name, i, g.key, part, w.strings, w.numbers)
				}
			}
			for _, field := range keysOf(w.numbers) {
				raw, ok := g.raw[field]
				if !ok {
					t.Errorf("%s: %s row %q lacks the API's field %s (%s)", step, name, g.key, field, rawOf(w.numbers[field]))
					continue
				}
				lo, hi := w.numbers[field], l.numbers[field]
				if lo > hi {
					lo, hi = hi, lo
				}
				v, err := strconv.ParseFloat(raw, 64)
				switch {
				case err != nil || rawOf(v) != raw:
					t.Errorf("%s: %s row %q field %s has data-value %q, not a number written as the API writes it", step, name, g.key, field, raw)
				case lo == hi && raw != rawOf(lo):
					t.Errorf("%s: %s row %q field %s is %s on the page, %s in the API", step, name, g.key, field, raw, rawOf(lo))
				case v < lo || v > hi || math.IsNaN(v):
					t.Errorf("%s: %s row %q field %s is %s on the page; the API said %s before and %s after", step, name, g.key, field, raw, rawOf(lo), rawOf(hi))
				}
			}
			for field := range g.raw {
				if _, ok := w.numbers[field]; !ok {
					t.Errorf("%s: %s row %q has data-field %q, which the API's row lacks", step, name, g.key, field)
				}
			}
		}
	}
	for _, kpi := range []string{"active", "overdue", "waiting"} {
		if lists, report := before.kpi[kpi], before.kpi["caseload "+kpi]; lists != report {
			t.Errorf("%s: %s is %s by the lists and %s by GET /v1/reports/caseload", step, kpi, lists, report)
		}
	}
	if before.kpi["overdue"] == "0" || before.kpi["waiting"] == "0" {
		t.Errorf("%s: the seeded data should make someone overdue and someone wait for a guide: %v", step, before.kpi)
	}
	for _, kpi := range []string{"active", "overdue", "waiting", "planOnTime"} {
		text, ok := page.kpi[kpi]
		if !ok {
			t.Errorf("%s: no tile data-kpi=%q", step, kpi)
			continue
		}
		want := before.kpi[kpi]
		got := leadingNumber.FindString(text)
		if want == "–" {
			if got != "" {
				t.Errorf("%s: tile %s shows %q; no plan fell due this month, so it should show none", step, kpi, text)
			}
			continue
		}
		if got != want {
			t.Errorf("%s: tile %s shows %q, the API gives %s", step, kpi, text, want)
		}
	}
}

func keysOf(m map[string]float64) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func rawOf(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
