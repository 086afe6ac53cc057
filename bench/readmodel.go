package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stegvis/stegvis/activities"
	"github.com/stegvis/stegvis/importer"
)

// benchImport writes an import file of N rows and times importer.Run against the API.
func benchImport(ctx context.Context, e *env, c config, dir string) ([]Row, error) {
	file := filepath.Join(dir, "import.csv")
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	w := csv.NewWriter(f)
	_ = w.Write(importer.Columns)
	today := time.Now().Format(time.DateOnly)
	for i := range c.importRows {
		_ = w.Write([]string{fmt.Sprintf("bi-%s-%d", e.runID, i), benchProgram, benchUnit, today, benchGuide, ""})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	t := time.Now()
	sum, err := importer.Run(ctx, importer.Options{APIURL: e.base, Token: e.system, File: file, Concurrency: c.concurrency, Restart: true, Client: e.http})
	wall := time.Since(t)
	if err != nil {
		return nil, err
	}
	if len(sum.Rejected) > 0 || sum.Started != c.importRows {
		return nil, fmt.Errorf("imported %d of %d rows; rejected: %+v", sum.Started, c.importRows, sum.Rejected)
	}
	n, err := waitProjected(ctx, e, []string{"bi-" + e.runID + "-"}, c.importRows)
	if err != nil {
		return nil, err
	}
	what := "stegvis import of " + strconv.Itoa(c.importRows) + " rows"
	return []Row{
		row(what, "rows/s", "/s", float64(c.importRows)/wall.Seconds(), nil, c.importRows, "≥ 200"),
		row(what, "rows set up end to end (in the read model) per second", "/s", float64(n)/time.Since(t).Seconds(), nil, n, ""),
	}, nil
}

var seedUnits = []string{benchUnit, benchUnit, "vuxenutbildning", "ekonomiskt-bistand"}

var exitReasons = []string{"employment_regular", "employment_subsidised", "employment_hourly", "studies", "other_agency",
	"returned_to_social_services", "moved", "declined"}

// seedParticipant makes one participant's journey as the workflow would have
// projected it: an early snapshot (referred, deadlines open) for the first events,
// the journey as it is now for the last.
func seedParticipant(r *rand.Rand, now time.Time, i int) (early, final activities.JourneySnapshot) {
	loc := now.Location()
	referred := time.Date(now.Year(), now.Month(), now.Day(), 9, 0, 0, 0, loc).AddDate(0, 0, -r.IntN(365))
	if referred.After(now) { // today at 9 when the seed runs before 9: yesterday instead
		referred = referred.AddDate(0, 0, -1)
	}
	d := func(id, kind string, due time.Time, met *time.Time, closed bool) activities.DeadlineSnapshot {
		ds := activities.DeadlineSnapshot{ID: id, Kind: kind, DueDate: due.Format(time.DateOnly), DueAt: due, Status: "open", MetAt: met}
		switch {
		case met != nil:
			ds.Status = "met"
		case closed:
			ds.Status = "closed"
		case due.Before(now):
			ds.EscalationLevel = 1 + r.IntN(2)
		}
		return ds
	}
	at := func(t time.Time) *time.Time { return &t }
	days := func(n int) time.Time { return referred.AddDate(0, 0, n) }
	base := activities.JourneySnapshot{Unit: seedUnits[i%len(seedUnits)], ProgramID: "jobbgaranti", ProgramVersion: 1,
		GuideID: fmt.Sprintf("g-%d", i%40), Phase: "planning", ReferredAt: referred, Priority: 1 + r.IntN(3)}
	early = base
	early.Deadlines = []activities.DeadlineSnapshot{
		d("guide", "guide", days(3), nil, false), d("first_meeting", "first_meeting", days(1), nil, false),
		d("plan", "plan", days(7), nil, false),
	}
	early.Deadlines[0].Status, early.Deadlines[0].EscalationLevel = "open", 0
	final = base
	phase := r.IntN(100)
	guideMet := at(days(r.IntN(6)))
	switch {
	case phase < 5: // still waiting for a guide
		final.Phase, final.GuideID = "waiting_for_guide", ""
		final.Deadlines = []activities.DeadlineSnapshot{d("guide", "guide", days(3), nil, false)}
		return early, final
	case phase < 20: // planning: no plan yet
		final.Deadlines = []activities.DeadlineSnapshot{
			d("guide", "guide", days(3), guideMet, false), d("first_meeting", "first_meeting", days(1), at(days(r.IntN(3))), false),
			d("plan", "plan", days(7), nil, false),
		}
		return early, final
	}
	// A plan, signed on time or late; the follow-up, held in its window, late or still open.
	signed := days(2 + r.IntN(10))
	final.Phase, final.PlanSignedAt, final.Step = "active", &signed, r.IntN(4)
	var followMet *time.Time
	if f := signed.AddDate(0, 0, 10+r.IntN(10)); f.Before(now) && r.IntN(4) > 0 {
		followMet = &f
	}
	final.Deadlines = []activities.DeadlineSnapshot{
		d("guide", "guide", days(3), guideMet, false), d("first_meeting", "first_meeting", days(1), at(days(r.IntN(3))), false),
		d("mapping", "mapping", days(1), at(days(r.IntN(4))), false),
		d("plan", "plan", days(7), &signed, false),
		d("first_follow_up", "first_follow_up", signed.AddDate(0, 0, 14), followMet, false),
		d("deepened_plan", "deepened_plan", signed.AddDate(0, 0, 28), nil, false),
	}
	for s := 1; s <= 5; s++ {
		due := days(60 * s)
		var met *time.Time
		if s <= final.Step {
			met = at(due.AddDate(0, 0, r.IntN(30)-20))
		}
		final.Deadlines = append(final.Deadlines, d(fmt.Sprintf("step-%d", s), "step", due, met, false))
	}
	if phase >= 80 { // exited; what was open is closed
		ex := referred.Add(time.Duration(r.Int64N(int64(now.Sub(referred)) + 1)))
		final.Phase, final.ExitedAt, final.ExitReason = "exited", &ex, exitReasons[r.IntN(len(exitReasons))]
		for k := range final.Deadlines {
			if final.Deadlines[k].Status == "open" {
				final.Deadlines[k].Status, final.Deadlines[k].EscalationLevel = "closed", 0
			}
		}
	}
	return early, final
}

// seed writes P participants with E events each straight into journey_events,
// participants and deadlines with COPY, as store.RecordJourneyEvents would have.
func seed(ctx context.Context, e *env, c config) error {
	conn, err := pgx.Connect(ctx, e.dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	r := rand.New(rand.NewPCG(7, uint64(c.participants)))
	now := time.Now()
	kinds := []string{"referred", "guide_assigned", "meeting", "mapping", "plan", "reminder", "escalation", "follow_up", "step", "note"}
	const batch = 5000
	for lo := 0; lo < c.participants; lo += batch {
		hi := min(lo+batch, c.participants)
		var events, parts, deadlines [][]any
		for i := lo; i < hi; i++ {
			early, final := seedParticipant(r, now, i)
			eb, err := json.Marshal(early)
			if err != nil {
				return err
			}
			fb, err := json.Marshal(final)
			if err != nil {
				return err
			}
			pid := fmt.Sprintf("s-%d", i)
			jid := fmt.Sprintf("seed-run-%d", i)
			last := final.ReferredAt
			for s := 1; s <= c.eventsPer; s++ {
				snap, at := eb, final.ReferredAt.Add(time.Duration(s)*time.Hour)
				if s == c.eventsPer {
					snap = fb
					if final.ExitedAt != nil {
						at = *final.ExitedAt
					}
				}
				kind := kinds[(s-1)%len(kinds)]
				events = append(events, []any{pid, fmt.Sprintf("%s/%d", jid, s), jid, int64(s), at, kind, kind + " (seeded)", final.ReferredAt, json.RawMessage(snap)})
				last = at
			}
			var guide, exitReason *string
			if final.GuideID != "" {
				guide = &final.GuideID
			}
			if final.ExitReason != "" {
				exitReason = &final.ExitReason
			}
			parts = append(parts, []any{pid, jid, int64(c.eventsPer), final.ReferredAt, final.Unit, final.ProgramID, final.ProgramVersion,
				guide, final.Phase, final.Step, final.PlanSignedAt, final.ExitedAt, exitReason, final.Priority, last})
			for _, d := range final.Deadlines {
				due, _ := time.Parse(time.DateOnly, d.DueDate)
				deadlines = append(deadlines, []any{pid, d.ID, d.Kind, due, d.DueAt, d.Status, d.MetAt, d.EscalationLevel})
			}
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"journey_events"},
				[]string{"participant_id", "event_id", "journey_id", "seq", "at", "kind", "summary", "referred_at", "snapshot"},
				pgx.CopyFromRows(events)); err != nil {
				return fmt.Errorf("copy journey_events: %w", err)
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"participants"},
				[]string{"participant_id", "journey_id", "seq", "referred_at", "unit", "program_id", "program_version",
					"guide_id", "phase", "step", "plan_signed_at", "exited_at", "exit_reason", "priority", "updated_at"},
				pgx.CopyFromRows(parts)); err != nil {
				return fmt.Errorf("copy participants: %w", err)
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"deadlines"},
				[]string{"participant_id", "deadline_id", "kind", "due_date", "due_at", "status", "met_at", "escalation_level"},
				pgx.CopyFromRows(deadlines)); err != nil {
				return fmt.Errorf("copy deadlines: %w", err)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	_, err = conn.Exec(ctx, "ANALYZE journey_events; ANALYZE participants; ANALYZE deadlines")
	return err
}

// benchReports seeds the read model and times every report and manager query.
func benchReports(ctx context.Context, e *env, c config) ([]Row, error) {
	t := time.Now()
	if err := seed(ctx, e, c); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	fmt.Fprintf(os.Stderr, "  seeded %d participants, %d events in %.1f s\n", c.participants, c.participants*c.eventsPer, time.Since(t).Seconds())
	const q = "?unit=" + benchUnit
	paths := []string{
		"/v1/reports/plan-timeliness" + q, "/v1/reports/follow-up-timeliness" + q, "/v1/reports/step-attainment" + q,
		"/v1/reports/exits" + q, "/v1/reports/waiting-time" + q, "/v1/reports/caseload" + q, "/v1/reports/overdue-by-guide" + q,
		"/v1/participants" + q, "/v1/overdue" + q, "/v1/overdue" + q + "&limit=500", "/v1/queue" + q,
	}
	what := fmt.Sprintf("reports on %d participants, %d events", c.participants, c.participants*c.eventsPer)
	var rows []Row
	for _, p := range paths {
		// One call first, not counted: it also proves the query answers.
		if err := e.call(ctx, http.MethodGet, p, e.manager, nil, http.StatusOK); err != nil {
			return nil, err
		}
		// K times in a row, or fewer (at least 3) when the query is so slow that K would
		// take longer than the budget; the sample count goes into the JSON.
		var lat []time.Duration
		t := time.Now()
		for len(lat) < c.queries && (len(lat) < 3 || time.Since(t) < c.queryBudget) {
			q := time.Now()
			if err := e.call(ctx, http.MethodGet, p, e.manager, nil, http.StatusOK); err != nil {
				return nil, err
			}
			lat = append(lat, time.Since(q))
		}
		rows = append(rows, row(what, "GET "+p+" p50", "ms", pct(lat, 50), nil, len(lat), ""),
			row(what, "GET "+p+" p99", "ms", pct(lat, 99), nil, len(lat), "< 200"))
	}
	return rows, nil
}
