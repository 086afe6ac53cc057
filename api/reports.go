package api

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/stegvis/stegvis/calendar"
	"github.com/stegvis/stegvis/store"
)

// period reads ?unit=&from=&to= (dates; default the last twelve months up to today).
func (s *server) period(c *gin.Context) (store.Period, bool) {
	now := s.now()
	p := store.Period{Unit: c.Query("unit"), From: calendar.AddDays(now, -365), To: calendar.AddDays(now, 1)}
	for name, dst := range map[string]*time.Time{"from": &p.From, "to": &p.To} {
		if v := c.Query(name); v != "" {
			t, err := time.ParseInLocation(time.DateOnly, v, calendar.Stockholm)
			if err != nil {
				fail(c, http.StatusBadRequest, CodeInvalidDate, fmt.Sprintf("%s: %q is not a date; write it as 2026-01-01", name, v))
				return p, false
			}
			*dst = t
		}
	}
	if !p.From.Before(p.To) {
		fail(c, http.StatusBadRequest, CodeBadRequest, "from must be before to")
		return p, false
	}
	// Reports count, they name nobody; still, a unit's figures are for its own leads.
	return p, s.unitScope(c, &p.Unit)
}

// report answers rows as JSON, or as CSV with ?format=csv (one column per JSON field).
func report[T any](c *gin.Context, name string, rows []T, err error, s *server) {
	if err != nil {
		s.readModelFailed(c, err)
		return
	}
	switch c.DefaultQuery("format", "json") {
	case "json":
		c.JSON(http.StatusOK, gin.H{"report": name, "rows": rows})
	case "csv":
		c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.csv"`, name))
		c.Status(http.StatusOK)
		c.Writer.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w := csv.NewWriter(c.Writer)
		t := reflect.TypeFor[T]()
		var header []string
		for i := range t.NumField() {
			header = append(header, jsonName(t.Field(i)))
		}
		_ = w.Write(header)
		for _, r := range rows {
			v := reflect.ValueOf(r)
			rec := make([]string, v.NumField())
			for i := range v.NumField() {
				switch f := v.Field(i).Interface().(type) {
				case float64:
					rec[i] = strconv.FormatFloat(f, 'f', 4, 64)
				default:
					rec[i] = fmt.Sprint(f)
				}
			}
			_ = w.Write(rec)
		}
		w.Flush()
	default:
		fail(c, http.StatusBadRequest, CodeBadRequest, "format must be json or csv")
	}
}

func jsonName(f reflect.StructField) string {
	tag := f.Tag.Get("json")
	for i := range len(tag) {
		if tag[i] == ',' {
			return tag[:i]
		}
	}
	if tag == "" {
		return f.Name
	}
	return tag
}

func (s *server) planTimeliness(c *gin.Context) {
	if p, ok := s.period(c); ok {
		rows, err := s.db.PlanTimeliness(c.Request.Context(), s.now(), p)
		report(c, "plan-timeliness", rows, err, s)
	}
}

func (s *server) followUpTimeliness(c *gin.Context) {
	if p, ok := s.period(c); ok {
		rows, err := s.db.FollowUpTimeliness(c.Request.Context(), s.now(), p)
		report(c, "follow-up-timeliness", rows, err, s)
	}
}

func (s *server) stepAttainment(c *gin.Context) {
	p, ok := s.period(c)
	if !ok {
		return
	}
	rows, err := s.db.StepAttainment(c.Request.Context(), s.now(), p)
	for i := range rows {
		// The target of the programme the journeys follow, as loaded now.
		if prog, ok := s.programs.Lookup(rows[i].ProgramID); ok {
			for _, st := range prog.Steps {
				if st.Step == rows[i].Step {
					rows[i].TargetPct = st.TargetPercent
				}
			}
		}
	}
	report(c, "step-attainment", rows, err, s)
}

func (s *server) exitsReport(c *gin.Context) {
	if p, ok := s.period(c); ok {
		rows, err := s.db.Exits(c.Request.Context(), p)
		report(c, "exits", rows, err, s)
	}
}

func (s *server) waitingTime(c *gin.Context) {
	if p, ok := s.period(c); ok {
		rows, err := s.db.WaitingTime(c.Request.Context(), s.now(), p)
		report(c, "waiting-time", rows, err, s)
	}
}

// caseloadReport answers how many participants a unit has now, per phase: how many wait
// for a guide and how many are overdue. It counts in the database what the participant
// list, the queue and the overdue list show one person at a time, so the dashboard's key
// figures need no paging through the list (and no audit row per participant: like the
// other reports it names nobody). It is how things stand now: from and to do not apply.
func (s *server) caseloadReport(c *gin.Context) {
	unit := c.Query("unit")
	if !s.unitScope(c, &unit) {
		return
	}
	rows, err := s.db.Caseload(c.Request.Context(), s.now(), unit)
	report(c, "caseload", rows, err, s)
}

// overdueByGuideReport counts the overdue list per unit and guide, the most first: the
// dashboard's chart, without reading the list (tens of thousands of deadlines in a large
// unit) or logging a read of every participant on it. Like the caseload, it is now.
func (s *server) overdueByGuideReport(c *gin.Context) {
	unit := c.Query("unit")
	if !s.unitScope(c, &unit) {
		return
	}
	rows, err := s.db.OverdueByGuide(c.Request.Context(), s.now(), unit)
	report(c, "overdue-by-guide", rows, err, s)
}
