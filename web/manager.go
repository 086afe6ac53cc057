package web

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/stegvis/stegvis/calendar"
	"github.com/stegvis/stegvis/store"
	"github.com/stegvis/stegvis/workflows"
)

// mountManager adds the managers' pages: the dashboard, the participant list, the
// queue and the CSV exports.
func (s *site) mountManager(g *gin.RouterGroup) {
	g.GET("/dashboard", s.dashboard)
	g.GET("/export/:file", s.export)
	g.GET("/participants", s.participantList)
	g.GET("/queue", s.queuePage)
	g.POST("/queue/assign", s.assign)
}

func init() {
	// raw is a number exactly as the JSON API writes it: the data-value of a table cell.
	funcs["raw"] = rawNumber
	// days is a number of days with one decimal, in the page's language.
	funcs["days"] = func(lang string, f float64) string { return decimal(lang, f) }
	funcs["percent"] = func(n int) string { return strconv.Itoa(n) + " %" }
}

// rawNumber formats an int as strconv.Itoa and a float64 as strconv.FormatFloat(v,
// 'f', -1, 64): the number the JSON API answers, in the same digits (encoding/json
// switches to an exponent only below 1e-6 and from 1e21, which no report reaches).
func rawNumber(v any) string {
	switch n := v.(type) {
	case int:
		return strconv.Itoa(n)
	case int64:
		return strconv.FormatInt(n, 10)
	case float64:
		return strconv.FormatFloat(n, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// pctText is a share (0–1) as a whole percentage, as the pct template function.
func pctText(f float64) string { return fmt.Sprintf("%.0f %%", f*100) }

// decimal is f with one decimal, with a decimal comma in Swedish.
func decimal(lang string, f float64) string {
	s := strconv.FormatFloat(f, 'f', 1, 64)
	if lang == "sv" {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

// isClientError reports whether err is a 4xx from the API other than 401/403: a
// mistake in what was asked, shown on the page next to the form rather than instead
// of it.
func isClientError(err error) (*apiFailure, bool) {
	var f *apiFailure
	if errors.As(err, &f) && f.Status >= 400 && f.Status < 500 && f.Status != http.StatusForbidden && f.Status != http.StatusUnauthorized {
		return f, true
	}
	return nil, false
}

// periodQuery is ?unit=&from=&to= with the empty ones left out, so that the API
// applies its defaults (the last twelve months; a team lead's or unit manager's own
// unit).
func periodQuery(c *gin.Context) url.Values {
	q := url.Values{}
	for _, k := range []string{"unit", "from", "to"} {
		if v := strings.TrimSpace(c.Query(k)); v != "" {
			q.Set(k, v)
		}
	}
	return q
}

func withQuery(path string, q url.Values) string {
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// ---- The dashboard ----

// exportReports are the reports the dashboard offers as CSV files.
var exportReports = []string{"plan-timeliness", "follow-up-timeliness", "step-attainment", "exits", "waiting-time"}

// dashboardData is a unit's figures for a period.
type dashboardData struct {
	Unit, From, To string // the form's values (the defaults shown when none was given)
	Units          []store.Unit
	Shown          []string // the units the figures are for, when the API chose

	Active, Overdue, Waiting int
	PlanOnTime               string // this month's share of plans signed in time, or "–"

	Plan    []store.TimelinessRow
	Steps   []store.StepRow
	Guides  []guideCount
	Waits   []store.WaitingRow
	Charts  map[string]*svgChart
	Loaded  bool // the reports were read (false when the period was refused)
	Exports []exportLink
	CSV     map[string]string // report → its export link
}

// guideCount is the number of overdue deadlines of one guide's participants.
type guideCount struct {
	GuideID string
	Count   int
}

type exportLink struct {
	Report, Href string
}

func (s *site) dashboard(c *gin.Context) {
	ctx, p, lang := c.Request.Context(), who(c), s.i18n.language(c)
	q := periodQuery(c)
	now := s.Now()
	d := dashboardData{Unit: q.Get("unit"), From: q.Get("from"), To: q.Get("to"), CSV: map[string]string{}}
	if d.From == "" {
		d.From = calendar.AddDays(now, -365).Format(time.DateOnly)
	}
	if d.To == "" {
		d.To = calendar.AddDays(now, 1).Format(time.DateOnly)
	}
	for _, r := range exportReports {
		l := exportLink{Report: r, Href: withQuery("/export/"+r+".csv", q)}
		d.Exports = append(d.Exports, l)
		d.CSV[r] = l.Href
	}
	pg := page{Title: s.i18n.text(lang, "Dashboard"), Data: &d}

	units, err := s.units(ctx, p)
	if err != nil {
		s.failed(c, err)
		return
	}
	d.Units = units

	var plan struct {
		Rows []store.TimelinessRow `json:"rows"`
	}
	var steps struct {
		Rows []store.StepRow `json:"rows"`
	}
	var waits struct {
		Rows []store.WaitingRow `json:"rows"`
	}
	for _, r := range []struct {
		path string
		out  any
	}{{"plan-timeliness", &plan}, {"step-attainment", &steps}, {"waiting-time", &waits}} {
		if err := s.call(ctx, p, "GET", withQuery("/v1/reports/"+r.path, q), nil, r.out); err != nil {
			if f, ok := isClientError(err); ok { // a date that is not a date: say so above the form
				pg.Error = f.Error()
				s.render(c, f.Status, "dashboard", pg)
				return
			}
			s.failed(c, err)
			return
		}
	}
	d.Plan, d.Steps, d.Waits = plan.Rows, steps.Rows, waits.Rows

	// The key figures and the overdue list are not bounded by the period: they are how
	// things stand now.
	live := url.Values{}
	if d.Unit != "" {
		live.Set("unit", d.Unit)
	}
	// The tiles are counted by the caseload report, one row per unit and phase, rather
	// than by paging through the participant list: a unit of 50,000 is one query, not a
	// hundred pages each logged as a read of every participant on it.
	var caseload struct {
		Rows []store.CaseloadRow `json:"rows"`
	}
	if err := s.call(ctx, p, "GET", withQuery("/v1/reports/caseload", live), nil, &caseload); err != nil {
		s.failed(c, err)
		return
	}
	d.Active, d.Overdue, d.Waiting = keyFigures(caseload.Rows)
	// The chart is counted per guide by the API too: a large unit's overdue list is tens
	// of thousands of deadlines, read a page at a time and logged as reads of each person.
	var byGuide struct {
		Rows []store.GuideOverdueRow `json:"rows"`
	}
	if err := s.call(ctx, p, "GET", withQuery("/v1/reports/overdue-by-guide", live), nil, &byGuide); err != nil {
		s.failed(c, err)
		return
	}
	d.Guides = overduePerGuide(byGuide.Rows)
	d.PlanOnTime = planOnTime(d.Plan, now.In(calendar.Stockholm).Format("2006-01"))

	if d.Unit == "" { // the API chose: say which units the figures are for
		d.Shown = unitsOf(d.Plan, d.Waits, caseload.Rows)
		if len(d.Shown) == 1 && !p.Has("system") {
			d.Unit = d.Shown[0]
		}
	}
	d.Charts, d.Loaded = s.charts(lang, d), true
	s.render(c, http.StatusOK, "dashboard", pg)
}

// keyFigures sums the caseload report's rows into the tiles: the participants who have
// not exited, those of them with a deadline passed, and those waiting for a guide (the
// queue, which never holds the exited).
func keyFigures(rows []store.CaseloadRow) (active, overdue, waiting int) {
	for _, r := range rows {
		waiting += r.WaitingForGuide
		if r.Phase == string(workflows.PhaseExited) {
			continue
		}
		active += r.Participants
		overdue += r.OverdueParticipants
	}
	return active, overdue, waiting
}

// overduePerGuide sums the overdue deadlines by guide over the units, the most first; ""
// is no guide.
func overduePerGuide(rows []store.GuideOverdueRow) []guideCount {
	by := map[string]int{}
	for _, r := range rows {
		by[r.GuideID] += r.OverdueDeadlines
	}
	out := make([]guideCount, 0, len(by))
	for g, n := range by {
		out = append(out, guideCount{GuideID: g, Count: n})
	}
	slices.SortFunc(out, func(a, b guideCount) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(a.GuideID, b.GuideID)
	})
	return out
}

// planOnTime is month's share of plans signed in time over every unit in rows, or
// "–" when none fell due.
func planOnTime(rows []store.TimelinessRow, month string) string {
	var due, onTime int
	for _, r := range rows {
		if r.Month == month {
			due += r.Due
			onTime += r.OnTime
		}
	}
	if due == 0 {
		return "–"
	}
	return pctText(float64(onTime) / float64(due))
}

func unitsOf(plan []store.TimelinessRow, waits []store.WaitingRow, caseload []store.CaseloadRow) []string {
	var out []string
	add := func(u string) {
		if u != "" && !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	for _, r := range plan {
		add(r.Unit)
	}
	for _, r := range waits {
		add(r.Unit)
	}
	for _, r := range caseload {
		add(r.Unit)
	}
	slices.Sort(out)
	return out
}

// ---- The charts: SVG drawn on the server, no script ----

// Colours of the graphics: each at least 3:1 against the white plot and the black
// target marks; every text is the ink colour (17:1).
const (
	colourBar    = "#2a6ebb" // 5.2:1 on white
	colourP90    = "#9a5b00" // 5.4:1
	colourMax    = "#1b1b1b"
	colourInk    = "#1b1b1b"
	colourAxis   = "#767676" // 4.5:1
	colourGrid   = "#d0d0d0" // decoration only: the tick labels carry the values
	colourTarget = "#1b1b1b"
)

// svgChart is one chart, ready for the "svg" template.
type svgChart struct {
	ID            string
	Width, Height float64
	Title, Desc   string
	Grid          []svgLine // under the bars
	Bars          []svgBar
	Marks         []svgLine // over the bars: axes and targets
	Texts         []svgText
}

type svgBar struct {
	X, Y, W, H float64
	Fill, Tip  string
}

type svgLine struct {
	X1, Y1, X2, Y2, Width float64
	Stroke                string
}

type svgText struct {
	X, Y         float64
	Anchor, Text string
	Size         int
	Weight       string
}

// column is one bar of a column chart.
type column struct {
	Value  float64  // in the chart's unit
	Label  string   // under the bar
	Shown  string   // above the bar ("" for none)
	Fill   string   // colourBar when empty
	Target *float64 // a target mark, in the chart's unit
	Tip    string
}

// columnGroup is columns that belong together: one month, cohort or unit.
type columnGroup struct {
	Label   string
	Columns []column
}

func r1(f float64) float64 { return math.Round(f*10) / 10 }

// niceMax rounds v up to a number whose quarters are round.
func niceMax(v float64) float64 {
	if v <= 0 {
		return 4
	}
	mag := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 4, 5, 8, 10} {
		if m*mag >= v {
			return m * mag
		}
	}
	return 10 * mag
}

// columnChart lays out groups of columns over a y axis from 0 to max with ticks
// labelled by tick; yTitle names the axis.
func columnChart(id, title, desc, yTitle string, groups []columnGroup, maxV float64, tick func(float64) string) *svgChart {
	const (
		left, top, right = 64.0, 28.0, 16.0
		plotH            = 200.0
		barW, barGap     = 26.0, 4.0
		groupGap         = 22.0
	)
	// A group is as wide as its columns, or its label if that is wider (about 7.5
	// units a character at 12 px bold).
	widths := make([]float64, len(groups))
	width := left + right
	for i, g := range groups {
		n := float64(len(g.Columns))
		widths[i] = math.Max(n*barW+(n-1)*barGap, float64(len([]rune(g.Label)))*7.5)
		width += widths[i] + groupGap
	}
	width = math.Max(width, 360)
	ch := &svgChart{ID: id, Title: title, Desc: desc, Width: r1(width), Height: top + plotH + 52}
	y := func(v float64) float64 { return r1(top + plotH - math.Min(v, maxV)/maxV*plotH) }
	ch.Texts = append(ch.Texts, svgText{X: 4, Y: 16, Anchor: "start", Text: yTitle, Size: 13, Weight: "600"})
	for i := range 5 {
		v := maxV * float64(i) / 4
		ch.Grid = append(ch.Grid, svgLine{X1: left, Y1: y(v), X2: r1(width - right), Y2: y(v), Width: 1, Stroke: colourGrid})
		ch.Texts = append(ch.Texts, svgText{X: left - 6, Y: y(v) + 4, Anchor: "end", Text: tick(v), Size: 12})
	}
	start := left + groupGap/2
	for i, g := range groups {
		n := float64(len(g.Columns))
		x := start + (widths[i]-(n*barW+(n-1)*barGap))/2
		for _, c := range g.Columns {
			fill := c.Fill
			if fill == "" {
				fill = colourBar
			}
			top := y(c.Value)
			ch.Bars = append(ch.Bars, svgBar{X: r1(x), Y: top, W: barW, H: r1(y(0) - top), Fill: fill, Tip: c.Tip})
			if c.Target != nil {
				ty := y(*c.Target)
				// A white halo under the black mark keeps it visible on a bar and off it.
				ch.Marks = append(ch.Marks,
					svgLine{X1: r1(x - 3), Y1: ty, X2: r1(x + barW + 3), Y2: ty, Width: 5, Stroke: "#ffffff"},
					svgLine{X1: r1(x - 3), Y1: ty, X2: r1(x + barW + 3), Y2: ty, Width: 2.5, Stroke: colourTarget})
			}
			if c.Shown != "" {
				ch.Texts = append(ch.Texts, svgText{X: r1(x + barW/2), Y: r1(top - 4), Anchor: "middle", Text: c.Shown, Size: 11})
			}
			if c.Label != "" {
				ch.Texts = append(ch.Texts, svgText{X: r1(x + barW/2), Y: y(0) + 16, Anchor: "middle", Text: c.Label, Size: 11})
			}
			x += barW + barGap
		}
		ch.Texts = append(ch.Texts, svgText{X: r1(start + widths[i]/2), Y: y(0) + 36, Anchor: "middle", Text: g.Label, Size: 12, Weight: "600"})
		start += widths[i] + groupGap
	}
	ch.Marks = append(ch.Marks,
		svgLine{X1: left, Y1: y(0), X2: r1(width - right), Y2: y(0), Width: 1.5, Stroke: colourAxis},
		svgLine{X1: left, Y1: top, X2: left, Y2: y(0), Width: 1.5, Stroke: colourAxis})
	return ch
}

// barChart is horizontal bars, one per label: the overdue deadlines per guide.
func barChart(id, title, desc string, labels []string, values []int) *svgChart {
	const (
		left, right, top = 180.0, 48.0, 12.0
		rowH, barH       = 30.0, 20.0
		plotW            = 420.0
	)
	maxV := 0
	for _, v := range values {
		maxV = max(maxV, v)
	}
	scale := plotW / float64(max(maxV, 1))
	ch := &svgChart{ID: id, Title: title, Desc: desc, Width: left + plotW + right, Height: top + float64(len(values))*rowH + 12}
	for i, v := range values {
		yy := top + float64(i)*rowH
		label := labels[i]
		if len([]rune(label)) > 24 {
			label = string([]rune(label)[:23]) + "…"
		}
		ch.Texts = append(ch.Texts, svgText{X: left - 8, Y: r1(yy + barH/2 + 5), Anchor: "end", Text: label, Size: 13})
		w := r1(float64(v) * scale)
		ch.Bars = append(ch.Bars, svgBar{X: left, Y: yy, W: w, H: barH, Fill: colourBar, Tip: labels[i] + ": " + strconv.Itoa(v)})
		ch.Texts = append(ch.Texts, svgText{X: r1(left + w + 6), Y: r1(yy + barH/2 + 5), Anchor: "start", Text: strconv.Itoa(v), Size: 13, Weight: "600"})
	}
	ch.Marks = append(ch.Marks, svgLine{X1: left, Y1: top - 4, X2: left, Y2: r1(top + float64(len(values))*rowH - 6), Width: 1.5, Stroke: colourAxis})
	return ch
}

// charts draws the dashboard's four charts; each has a title and a description that
// sums it up, and the table under it carries the numbers.
func (s *site) charts(lang string, d dashboardData) map[string]*svgChart {
	t := func(id string, args ...any) string { return s.i18n.text(lang, id, args...) }
	pctTick := func(v float64) string { return pctText(v / 100) }
	out := map[string]*svgChart{}

	// Plan timeliness: the share per month (per unit and month when there are several).
	units := map[string]bool{}
	for _, r := range d.Plan {
		units[r.Unit] = true
	}
	var groups []columnGroup
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, r := range d.Plan {
		label := r.Month
		if len(units) > 1 {
			label = r.Unit + " " + r.Month
		}
		col := column{Value: r.Share * 100, Shown: pctText(r.Share), Tip: label + ": " + pctText(r.Share)}
		if r.Due == 0 {
			col.Shown = "–"
		}
		groups = append(groups, columnGroup{Label: label, Columns: []column{col}})
		lo, hi = math.Min(lo, r.Share), math.Max(hi, r.Share)
	}
	if len(d.Plan) > 0 {
		out["plan-timeliness"] = columnChart("chart-plan", t("Chart_plan-timeliness"),
			t("ChartDesc_plan-timeliness", "Count", len(d.Plan), "First", d.Plan[0].Month, "Last", d.Plan[len(d.Plan)-1].Month,
				"Min", pctText(lo), "Max", pctText(hi)),
			t("AxisShare"), groups, 100, pctTick)
	}

	// Step attainment: per cohort, a bar per step with its target.
	groups = nil
	programmes := map[string]bool{}
	for _, r := range d.Steps {
		programmes[r.ProgramID] = true
	}
	met := 0
	for _, r := range d.Steps {
		label := r.Cohort
		if len(programmes) > 1 {
			label = r.ProgramID + " " + r.Cohort
		}
		if len(groups) == 0 || groups[len(groups)-1].Label != label {
			groups = append(groups, columnGroup{Label: label})
		}
		target := float64(r.TargetPct)
		col := column{Value: r.Share * 100, Label: strconv.Itoa(r.Step), Target: &target,
			Tip: t("StepTip", "Step", r.Step, "Cohort", label, "Share", pctText(r.Share), "Target", strconv.Itoa(r.TargetPct)+" %")}
		if r.TargetPct == 0 {
			col.Target = nil
		}
		if r.Share*100 >= float64(r.TargetPct) {
			met++
		}
		g := &groups[len(groups)-1]
		g.Columns = append(g.Columns, col)
	}
	if len(d.Steps) > 0 {
		out["step-attainment"] = columnChart("chart-steps", t("Chart_step-attainment"),
			t("ChartDesc_step-attainment", "Cohorts", len(groups), "First", groups[0].Label, "Last", groups[len(groups)-1].Label,
				"Met", met, "Count", len(d.Steps)),
			t("AxisShareByStep"), groups, 100, pctTick)
	}

	// Overdue deadlines per guide.
	if len(d.Guides) > 0 {
		var labels []string
		var values []int
		total := 0
		for _, g := range d.Guides {
			name := g.GuideID
			if name == "" {
				name = t("NoGuide")
			}
			labels, values = append(labels, name), append(values, g.Count)
			total += g.Count
		}
		out["overdue-per-guide"] = barChart("chart-guides", t("Chart_overdue-per-guide"),
			t("ChartDesc_overdue-per-guide", "Total", total, "Guides", len(d.Guides), "Top", labels[0], "TopCount", values[0]), labels, values)
	}

	// Waiting time per unit: median, 90th percentile and longest.
	groups = nil
	longest := 0.0
	for _, r := range d.Waits {
		longest = math.Max(longest, r.LongestDays)
		groups = append(groups, columnGroup{Label: r.Unit, Columns: []column{
			{Value: r.MedianDays, Label: t("MedianShort"), Shown: decimal(lang, r.MedianDays), Tip: t("MedianDays") + ": " + decimal(lang, r.MedianDays)},
			{Value: r.P90Days, Label: t("P90Short"), Shown: decimal(lang, r.P90Days), Fill: colourP90, Tip: t("P90Days") + ": " + decimal(lang, r.P90Days)},
			{Value: r.LongestDays, Label: t("LongestShort"), Shown: decimal(lang, r.LongestDays), Fill: colourMax, Tip: t("LongestDays") + ": " + decimal(lang, r.LongestDays)},
		}})
	}
	if len(d.Waits) > 0 {
		top := niceMax(longest)
		out["waiting-time"] = columnChart("chart-waiting", t("Chart_waiting-time"),
			t("ChartDesc_waiting-time", "Units", len(d.Waits), "Longest", decimal(lang, longest)),
			t("AxisDays"), groups, top, func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) })
	}
	return out
}

// ---- CSV export ----

// export answers GET /export/{report}.csv: the API's CSV of the report, fetched with
// the person's token, as a file to save.
func (s *site) export(c *gin.Context) {
	lang := s.i18n.language(c)
	name, ok := strings.CutSuffix(c.Param("file"), ".csv")
	if !ok || !slices.Contains(exportReports, name) {
		s.render(c, http.StatusNotFound, "error", page{Title: s.i18n.text(lang, "ErrorTitle"), Error: s.i18n.text(lang, "NoSuchReport")})
		return
	}
	q := periodQuery(c)
	q.Set("format", "csv")
	_, body, err := s.send(c.Request.Context(), who(c), "GET", withQuery("/v1/reports/"+name, q), nil)
	if err != nil {
		s.failed(c, err)
		return
	}
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.csv"`, name))
	c.Header("Cache-Control", "no-store")
	c.Data(http.StatusOK, "text/csv; charset=utf-8", body)
}

// ---- The participant list ----

var phaseNames = []string{string(workflows.PhaseWaitingForGuide), string(workflows.PhasePlanning), string(workflows.PhaseActive),
	string(workflows.PhasePaused), string(workflows.PhaseExited)}

// participantFilter is the participant list's form, named as the API's parameters.
type participantFilter struct {
	Unit, GuideID, Phase string
	Overdue, Waiting     bool
	After                string
}

func (f participantFilter) values() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"unit": f.Unit, "guideId": f.GuideID, "phase": f.Phase} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Overdue {
		q.Set("overdue", "true")
	}
	if f.Waiting {
		q.Set("waitingForGuide", "true")
	}
	return q
}

type participantsData struct {
	Filter participantFilter
	Units  []store.Unit
	Phases []string
	Rows   []store.ParticipantRow
	Next   string // the next page's link, if there is one
	First  string // the first page's link, when this is not it
	Loaded bool   // the list was read (false when the filter was refused)
}

func checked(v string) bool {
	b, err := strconv.ParseBool(v)
	return err == nil && b || v == "on"
}

func (s *site) participantList(c *gin.Context) {
	ctx, p, lang := c.Request.Context(), who(c), s.i18n.language(c)
	f := participantFilter{Unit: strings.TrimSpace(c.Query("unit")), GuideID: strings.TrimSpace(c.Query("guideId")), Phase: c.Query("phase"),
		Overdue: checked(c.Query("overdue")), Waiting: checked(c.Query("waitingForGuide")), After: c.Query("after")}
	d := participantsData{Filter: f, Phases: phaseNames}
	pg := page{Title: s.i18n.text(lang, "Participants"), Data: d}
	units, err := s.units(ctx, p)
	if err != nil {
		s.failed(c, err)
		return
	}
	d.Units = units
	q := f.values()
	if f.After != "" {
		q.Set("after", f.After)
	}
	q.Set("limit", "50")
	var list struct {
		Participants []store.ParticipantRow `json:"participants"`
		Next         string                 `json:"next"`
	}
	status := http.StatusOK
	if err := s.call(ctx, p, "GET", withQuery("/v1/participants", q), nil, &list); err != nil {
		fe, ok := isClientError(err)
		if !ok {
			s.failed(c, err)
			return
		}
		status, pg.Error = fe.Status, fe.Error()
	} else {
		d.Loaded, d.Rows = true, list.Participants
		if list.Next != "" {
			nq := f.values()
			nq.Set("after", list.Next)
			d.Next = withQuery("/participants", nq)
		}
		if f.After != "" {
			d.First = withQuery("/participants", f.values())
		}
	}
	pg.Data = d
	s.render(c, status, "participants", pg)
}

// ---- The queue ----

type queueData struct {
	Unit  string
	Units []store.Unit
	Rows  []queueEntry
}

// queueEntry is a participant waiting, with the guides who could take them and, after
// a refused assignment, what was picked and why it was refused.
type queueEntry struct {
	store.QueueRow
	Guides []store.Staff
	Value  string
	Error  string
}

func (s *site) queuePage(c *gin.Context) {
	pg := page{}
	if id := c.Query("assigned"); id != "" {
		pg.Notice = s.i18n.text(s.i18n.language(c), "GuideAssigned", "Participant", id, "Guide", c.Query("guide"))
	}
	s.showQueue(c, http.StatusOK, pg, c.Query("unit"), "", "", "")
}

// showQueue renders the queue of unit ("" for all the person may see); for a refused
// assignment, failedID is the participant, value the guide picked, msg the reason.
func (s *site) showQueue(c *gin.Context, status int, pg page, unit, failedID, value, msg string) {
	ctx, p, lang := c.Request.Context(), who(c), s.i18n.language(c)
	pg.Title = s.i18n.text(lang, "Queue")
	d := queueData{Unit: unit}
	var queue struct {
		Participants []store.QueueRow `json:"participants"`
	}
	q := url.Values{}
	if unit != "" {
		q.Set("unit", unit)
	}
	if err := s.call(ctx, p, "GET", withQuery("/v1/queue", q), nil, &queue); err != nil {
		s.failed(c, err)
		return
	}
	units, err := s.units(ctx, p)
	if err != nil {
		s.failed(c, err)
		return
	}
	d.Units = units
	guides := map[string][]store.Staff{} // per unit: its active guides
	assigned := c.Query("assigned")
	for _, r := range queue.Participants {
		if r.ParticipantID == assigned {
			continue // the read model follows the journey a moment later
		}
		list, ok := guides[r.Unit]
		if !ok {
			var staff struct {
				Staff []store.Staff `json:"staff"`
			}
			if err := s.call(ctx, p, "GET", "/v1/staff?unit="+url.QueryEscape(r.Unit), nil, &staff); err != nil {
				s.failed(c, err)
				return
			}
			for _, st := range staff.Staff {
				if st.Role == "guide" && st.Active {
					list = append(list, st)
				}
			}
			guides[r.Unit] = list
		}
		e := queueEntry{QueueRow: r, Guides: list}
		if r.ParticipantID == failedID {
			e.Value, e.Error = value, msg
		}
		d.Rows = append(d.Rows, e)
	}
	pg.Data = d
	s.render(c, status, "queue", pg)
}

// assign gives a waiting participant a guide (POST /v1/participants/{id}/guide) and
// goes back to the queue; a refusal is shown next to that participant's field.
func (s *site) assign(c *gin.Context) {
	lang := s.i18n.language(c)
	id, guide, unit := strings.TrimSpace(c.PostForm("participantId")), strings.TrimSpace(c.PostForm("guideId")), strings.TrimSpace(c.PostForm("unit"))
	back := url.Values{}
	if unit != "" {
		back.Set("unit", unit)
	}
	if guide == "" {
		msg := s.i18n.text(lang, "PickAGuide")
		s.showQueue(c, http.StatusUnprocessableEntity, page{Error: s.i18n.text(lang, "AssignFailed", "Participant", id, "Message", msg)}, unit, id, guide, msg)
		return
	}
	err := s.call(c.Request.Context(), who(c), "POST", "/v1/participants/"+url.PathEscape(id)+"/guide", map[string]string{"guideId": guide}, nil)
	var f *apiFailure
	switch {
	case err == nil:
		back.Set("assigned", id)
		back.Set("guide", guide)
		c.Redirect(http.StatusSeeOther, withQuery("/queue", back))
	case errors.As(err, &f) && f.Status >= 400 && f.Status < 500:
		msg := f.Fields(s.i18n, s.i18n.language(c))["guideId"]
		if msg == "" {
			msg = f.Error()
		}
		s.showQueue(c, f.Status, page{Error: s.i18n.text(lang, "AssignFailed", "Participant", id, "Message", msg)}, unit, id, guide, msg)
	default:
		s.failed(c, err)
	}
}

// units lists the org chart's units, for the unit pickers.
func (s *site) units(ctx context.Context, p person) ([]store.Unit, error) {
	var out struct {
		Units []store.Unit `json:"units"`
	}
	err := s.call(ctx, p, "GET", "/v1/units", nil, &out)
	return out.Units, err
}
