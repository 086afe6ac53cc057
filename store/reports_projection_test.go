package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stegvis/stegvis/activities"
	"github.com/stegvis/stegvis/store"
	"github.com/stegvis/stegvis/store/storetest"
)

// The reports as they were written before the reports' projection (migration 000011):
// straight over journey_events. They are the definition the projection must keep to.
const eventTableJourneys = `
WITH first AS (
	SELECT DISTINCT ON (journey_id) journey_id, participant_id, snapshot
	FROM journey_events ORDER BY journey_id, seq
), latest AS (
	SELECT DISTINCT ON (journey_id) journey_id, snapshot
	FROM journey_events ORDER BY journey_id, seq DESC
), journeys AS (
	SELECT f.journey_id, f.participant_id,
	       f.snapshot->>'unit' AS referral_unit,
	       l.snapshot->>'unit' AS unit,
	       l.snapshot->>'programId' AS program_id,
	       (l.snapshot->>'referredAt')::timestamptz AS referred_at,
	       (l.snapshot->>'exitedAt')::timestamptz AS exited_at,
	       l.snapshot->>'exitReason' AS exit_reason,
	       l.snapshot AS snapshot
	FROM first f JOIN latest l USING (journey_id)
), deadlines AS (
	SELECT j.journey_id, j.unit, j.referral_unit, j.referred_at, j.program_id, d->>'id' AS id, d->>'kind' AS kind,
	       (d->>'dueAt')::timestamptz AS due_at, (d->>'metAt')::timestamptz AS met_at, d->>'status' AS status
	FROM journeys j, jsonb_array_elements(deadlines_of(j.snapshot)) d
)`

// eventTableReports answers every report from the event table, as JSON, one key per report.
func eventTableReports(t *testing.T, st *store.Store, now time.Time, p store.Period) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	query := func(name, q string, scan func(pgx.CollectableRow) (any, error), args ...any) {
		rows, err := st.Pool.Query(ctx, eventTableJourneys+q, args...)
		if err != nil {
			t.Fatalf("%s from the event table: %v", name, err)
		}
		list, err := pgx.CollectRows(rows, scan)
		if err != nil {
			t.Fatalf("%s from the event table: %v", name, err)
		}
		if list == nil {
			list = []any{}
		}
		b, _ := json.Marshal(list)
		out[name] = string(b)
	}
	timeliness := func(name string, kinds []string, unitCol, monthCol string) {
		query(name, fmt.Sprintf(`
	SELECT %[1]s, to_char(%[2]s AT TIME ZONE 'Europe/Stockholm', 'YYYY-MM'),
	       count(*) FILTER (WHERE met_at IS NOT NULL OR (status <> 'closed' AND due_at <= $1)),
	       count(*) FILTER (WHERE met_at IS NOT NULL AND met_at < due_at),
	       count(*) FILTER (WHERE met_at IS NOT NULL AND met_at >= due_at),
	       count(*) FILTER (WHERE status = 'open' AND due_at <= $1),
	       count(*) FILTER (WHERE status = 'closed')
	FROM deadlines
	WHERE kind = ANY($2) AND %[2]s >= $3 AND %[2]s < $4 AND ($5 = '' OR %[1]s = $5)
	GROUP BY 1, 2 ORDER BY 1, 2`, unitCol, monthCol), func(r pgx.CollectableRow) (any, error) {
			var x store.TimelinessRow
			err := r.Scan(&x.Unit, &x.Month, &x.Due, &x.OnTime, &x.Late, &x.Missing, &x.Closed)
			if x.Due > 0 {
				x.Share = float64(x.OnTime) / float64(x.Due)
			}
			return x, err
		}, now, kinds, p.From, p.To, p.Unit)
	}
	timeliness("plan", []string{"plan"}, "referral_unit", "referred_at")
	timeliness("follow-up", []string{"first_follow_up", "review"}, "unit", "due_at")
	query("steps", `
	SELECT program_id, to_char(referred_at AT TIME ZONE 'Europe/Stockholm', 'YYYY-MM'), substring(id from 6)::int,
	       count(*) FILTER (WHERE (met_at IS NOT NULL AND met_at <= due_at) OR (status = 'open' AND due_at <= $1) OR (met_at > due_at)),
	       count(*) FILTER (WHERE met_at IS NOT NULL AND met_at <= due_at)
	FROM deadlines
	WHERE kind = 'step' AND referred_at >= $2 AND referred_at < $3 AND ($4 = '' OR referral_unit = $4)
	GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, func(r pgx.CollectableRow) (any, error) {
		var x store.StepRow
		err := r.Scan(&x.ProgramID, &x.Cohort, &x.Step, &x.Reached, &x.PassedBy)
		if x.Reached > 0 {
			x.Share = float64(x.PassedBy) / float64(x.Reached)
		}
		return x, err
	}, now, p.From, p.To, p.Unit)
	query("exits", `
	SELECT unit, to_char(exited_at AT TIME ZONE 'Europe/Stockholm', 'YYYY-MM'), exit_reason, count(*)
	FROM journeys
	WHERE exited_at IS NOT NULL AND exited_at >= $1 AND exited_at < $2 AND ($3 = '' OR unit = $3)
	GROUP BY 1, 2, 3 ORDER BY 1, 2, 4 DESC, 3`, func(r pgx.CollectableRow) (any, error) {
		var x store.ExitRow
		return x, r.Scan(&x.Unit, &x.Month, &x.Reason, &x.Count)
	}, p.From, p.To, p.Unit)
	query("waiting", `
	, waits AS (
		SELECT j.referral_unit AS unit,
		       extract(epoch FROM coalesce((g->>'metAt')::timestamptz, j.exited_at, $1) - j.referred_at) / 86400 AS days,
		       (g->>'metAt') IS NULL AND j.exited_at IS NULL AS waiting
		FROM journeys j, jsonb_array_elements(deadlines_of(j.snapshot)) g
		WHERE g->>'id' = 'guide' AND j.referred_at >= $2 AND j.referred_at < $3 AND ($4 = '' OR j.referral_unit = $4)
	)
	SELECT unit, count(*), count(*) FILTER (WHERE waiting),
	       percentile_cont(0.5) WITHIN GROUP (ORDER BY days), percentile_cont(0.9) WITHIN GROUP (ORDER BY days), max(days)
	FROM waits GROUP BY unit ORDER BY unit`, func(r pgx.CollectableRow) (any, error) {
		var x store.WaitingRow
		return x, r.Scan(&x.Unit, &x.Participants, &x.StillWaiting, &x.MedianDays, &x.P90Days, &x.LongestDays)
	}, now, p.From, p.To, p.Unit)
	return out
}

// projectedReports answers every report as the store does, in the same shape.
func projectedReports(t *testing.T, st *store.Store, now time.Time, p store.Period) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	put := func(name string, v any, err error) {
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, _ := json.Marshal(v)
		out[name] = string(b)
	}
	plan, err := st.PlanTimeliness(ctx, now, p)
	put("plan", plan, err)
	fu, err := st.FollowUpTimeliness(ctx, now, p)
	put("follow-up", fu, err)
	steps, err := st.StepAttainment(ctx, now, p)
	put("steps", steps, err)
	exits, err := st.Exits(ctx, p)
	put("exits", exits, err)
	waits, err := st.WaitingTime(ctx, now, p)
	put("waiting", waits, err)
	return out
}

// randomJourneys records journeys the way the workflow does, in batches that carry the
// journey as it is after them, with what makes reports hard: transfers (the referral
// unit is the first event's), re-entries after an exit, pauses that move due dates,
// batches that arrive late, a retried batch, and snapshots without deadlines.
func randomJourneys(t *testing.T, st *store.Store, r *rand.Rand, now time.Time, n int) {
	t.Helper()
	ctx := context.Background()
	units := []string{"A", "B", "C"}
	for i := range n {
		participant := fmt.Sprintf("rp-%d", i)
		journeys := 1 + r.IntN(2) // a second journey is a re-entry
		referred := now.AddDate(0, 0, -20-r.IntN(400)).Add(time.Duration(r.IntN(24*60)) * time.Minute)
		for jn := range journeys {
			journey := fmt.Sprintf("rj-%d-%d", i, jn)
			snap := activities.JourneySnapshot{Unit: units[r.IntN(len(units))], ProgramID: []string{"steg", "jobbgaranti"}[r.IntN(2)],
				ProgramVersion: 1, Phase: "waiting_for_guide", ReferredAt: referred}
			due := func(days int) time.Time { return referred.AddDate(0, 0, days) }
			dl := func(id, kind string, days int) activities.DeadlineSnapshot {
				d := due(days)
				return activities.DeadlineSnapshot{ID: id, Kind: kind, DueDate: d.Format(time.DateOnly), DueAt: d, Status: "open"}
			}
			snap.Deadlines = []activities.DeadlineSnapshot{dl("guide", "guide", 3), dl("plan", "plan", 7),
				dl("first_follow_up", "first_follow_up", 21), dl("review-1", "review", 60), dl("step-1", "step", 60), dl("step-2", "step", 120)}
			var batches []activities.JourneySnapshot
			steps := 2 + r.IntN(6)
			for range steps {
				next := snap
				next.Deadlines = append([]activities.DeadlineSnapshot(nil), snap.Deadlines...)
				switch r.IntN(7) {
				case 0: // a transfer
					next.Unit = units[r.IntN(len(units))]
				case 1: // a pause moved the open deadlines on
					for k := range next.Deadlines {
						if next.Deadlines[k].Status == "open" {
							next.Deadlines[k].DueAt = next.Deadlines[k].DueAt.AddDate(0, 0, 7)
							next.Deadlines[k].DueDate = next.Deadlines[k].DueAt.Format(time.DateOnly)
						}
					}
				case 2: // a reminder: only an escalation level changes
					if len(next.Deadlines) > 0 {
						next.Deadlines[r.IntN(len(next.Deadlines))].EscalationLevel++
					}
				case 3: // no deadlines at all in this snapshot
					next.Deadlines = nil
				default: // a deadline met, on time or late
					if len(next.Deadlines) > 0 {
						k := r.IntN(len(next.Deadlines))
						if next.Deadlines[k].Status == "open" {
							met := next.Deadlines[k].DueAt.Add(time.Duration(r.IntN(20)-12) * 24 * time.Hour)
							next.Deadlines[k].Status, next.Deadlines[k].MetAt = "met", &met
						}
					}
					next.Phase = "active"
				}
				batches = append(batches, next)
				snap = next
			}
			if jn < journeys-1 || r.IntN(3) == 0 { // an exit closes what is open
				last := snap
				last.Deadlines = append([]activities.DeadlineSnapshot(nil), snap.Deadlines...)
				exited := referred.AddDate(0, 0, 10+r.IntN(30))
				last.Phase, last.ExitedAt, last.ExitReason = "exited", &exited, []string{"employment_regular", "studies", "moved"}[r.IntN(3)]
				for k := range last.Deadlines {
					if last.Deadlines[k].Status == "open" {
						last.Deadlines[k].Status = "closed"
					}
				}
				batches = append(batches, last)
				referred = exited.AddDate(0, 0, 5+r.IntN(20)) // the re-entry comes after
			}
			// Batches of one to three events with the snapshot after them; sometimes the
			// second-to-last batch arrives after the last one, and one is retried.
			type batch struct {
				events []activities.JourneyEvent
				snap   activities.JourneySnapshot
			}
			var list []batch
			seq := int64(0)
			for _, s := range batches {
				var evs []activities.JourneyEvent
				for range 1 + r.IntN(3) {
					seq++
					evs = append(evs, activities.JourneyEvent{Seq: seq, At: s.ReferredAt, Kind: "test", Summary: "test"})
				}
				list = append(list, batch{evs, s})
			}
			if len(list) > 2 && r.IntN(4) == 0 {
				list[len(list)-2], list[len(list)-1] = list[len(list)-1], list[len(list)-2]
			}
			if r.IntN(5) == 0 {
				list = append(list, list[r.IntN(len(list))])
			}
			for _, b := range list {
				if err := st.RecordJourneyEvents(ctx, activities.JourneyEvents{ParticipantID: participant, JourneyID: journey,
					Events: b.events, Snapshot: b.snap}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// TestTheReportsProjectionAnswersAsTheEventTableDoes: on random journeys, every report
// read from the projection is the report worked out over journey_events, for every
// unit and for each one, over several periods; and stays so after a rebuild.
func TestTheReportsProjectionAnswersAsTheEventTableDoes(t *testing.T) {
	st, _ := storetest.New(t)
	now := time.Now()
	randomJourneys(t, st, rand.New(rand.NewPCG(11, 7)), now, 120)
	periods := []store.Period{
		{From: now.AddDate(-1, 0, 0), To: now.AddDate(0, 0, 1)},
		{From: now.AddDate(0, -6, 0), To: now.AddDate(0, -2, 0)},
		{From: now.AddDate(-5, 0, 0), To: now.AddDate(5, 0, 0)},
	}
	check := func(when string) {
		t.Helper()
		compared := 0
		for _, unit := range []string{"", "A", "B", "C", "no-such-unit"} {
			for i, p := range periods {
				p.Unit = unit
				want, got := eventTableReports(t, st, now, p), projectedReports(t, st, now, p)
				for name, w := range want {
					if got[name] != w {
						t.Errorf("%s: %s for unit %q, period %d:\n got %s\nwant %s", when, name, unit, i, got[name], w)
					}
					if w != "[]" {
						compared++
					}
				}
			}
		}
		if compared < 40 {
			t.Fatalf("%s: only %d of the compared reports had rows; the fixture should fill them", when, compared)
		}
	}
	check("as written")
	projection := func() string {
		var s string
		if err := st.Pool.QueryRow(context.Background(), `SELECT
			(SELECT coalesce(string_agg(r::text, E'\n' ORDER BY journey_id), '') FROM report_journeys r) || E'\n' ||
			(SELECT coalesce(string_agg(d::text, E'\n' ORDER BY journey_id, ord), '') FROM report_deadlines d)`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	live := projection()
	if _, err := st.Rebuild(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rebuilt := projection(); rebuilt != live {
		t.Errorf("the rebuilt projection differs from the one the trigger kept:\nlive:\n%s\nrebuilt:\n%s", live, rebuilt)
	}
	check("after a rebuild")
}

// An odd deadline in a snapshot must never fail the journal's write: the projection
// keeps what it can, and only the report that cannot read it fails, as before.
func TestAnOddStepIdFailsTheStepReportNotTheJournal(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	now := time.Now()
	odd := activities.JourneySnapshot{Unit: "u", ProgramID: "steg", ProgramVersion: 1, Phase: "active", ReferredAt: now.AddDate(0, 0, -10),
		Deadlines: []activities.DeadlineSnapshot{
			{ID: "step-x", Kind: "step", DueDate: now.Format(time.DateOnly), DueAt: now, Status: "open"},
			{ID: "plan", Kind: "plan", DueDate: now.Format(time.DateOnly), DueAt: now, Status: "open"},
		}}
	if err := st.RecordJourneyEvents(ctx, activities.JourneyEvents{ParticipantID: "odd-1", JourneyID: "odd-run",
		Events: []activities.JourneyEvent{{Seq: 1, At: now, Kind: "referred"}}, Snapshot: odd}); err != nil {
		t.Fatalf("the journal refused a snapshot with an odd step id: %v", err)
	}
	p := store.Period{From: now.AddDate(-1, 0, 0), To: now.AddDate(0, 0, 1)}
	if _, err := st.StepAttainment(ctx, now, p); err == nil {
		t.Error("the step report counted a step without a number")
	}
	if rows, err := st.PlanTimeliness(ctx, now, p); err != nil || len(rows) != 1 {
		t.Errorf("plan timeliness beside an odd step: %+v %v", rows, err)
	}
}

// The caseload report's figures are the lengths of the lists it stands in for: the
// participants not exited and those of them with overdueCount > 0, the queue and the
// overdue list, per unit.
func TestTheCaseloadCountsWhatTheListsShow(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	now := time.Now()
	randomJourneys(t, st, rand.New(rand.NewPCG(3, 5)), now, 60)
	everyone := store.Scope{Everyone: true}
	for _, unit := range []string{"A", "B", "C"} {
		rows, err := st.Caseload(ctx, now, unit)
		if err != nil {
			t.Fatal(err)
		}
		var active, overdue, waiting, deadlines, all int
		for _, r := range rows {
			if r.Unit != unit {
				t.Errorf("caseload of %s has a row of %s", unit, r.Unit)
			}
			all += r.Participants
			if r.Phase != "exited" {
				active += r.Participants
				overdue += r.OverdueParticipants
			}
			waiting += r.WaitingForGuide
			deadlines += r.OverdueDeadlines
		}
		list, err := st.Participants(ctx, now, store.ParticipantFilter{Unit: unit, Scope: everyone, Limit: 10_000})
		if err != nil {
			t.Fatal(err)
		}
		var wantActive, wantOverdue int
		for _, p := range list {
			if p.Phase != "exited" {
				wantActive++
				if p.OverdueCount > 0 {
					wantOverdue++
				}
			}
		}
		queue, err := st.Queue(ctx, now, unit, everyone)
		if err != nil {
			t.Fatal(err)
		}
		od, err := st.Overdue(ctx, now, store.OverdueFilter{Unit: unit, Scope: everyone, Limit: 10_000})
		if err != nil {
			t.Fatal(err)
		}
		// The list read a page at a time is the same list, in the same order.
		var paged []store.OverdueRow
		var after *store.OverdueKey
		for {
			page, err := st.Overdue(ctx, now, store.OverdueFilter{Unit: unit, Scope: everyone, Limit: 7, After: after})
			if err != nil {
				t.Fatal(err)
			}
			paged = append(paged, page...)
			if len(page) < 7 {
				break
			}
			last := page[len(page)-1]
			after = &store.OverdueKey{DueAt: last.DueAt, ParticipantID: last.ParticipantID, DeadlineID: last.DeadlineID}
		}
		if len(od) <= 7 {
			t.Errorf("unit %s: the fixture should give more than one page of overdue deadlines, not %d", unit, len(od))
		}
		if !reflect.DeepEqual(paged, od) {
			t.Errorf("unit %s: the overdue list in pages of 7 (%d rows) is not the list in one read (%d rows)", unit, len(paged), len(od))
		}
		// Counted per guide, it is the overdue-by-guide report.
		byGuide, err := st.OverdueByGuide(ctx, now, unit)
		if err != nil {
			t.Fatal(err)
		}
		wantDeadlines, wantPeople := map[string]int{}, map[string]map[string]bool{}
		for _, d := range od {
			wantDeadlines[d.GuideID]++
			if wantPeople[d.GuideID] == nil {
				wantPeople[d.GuideID] = map[string]bool{}
			}
			wantPeople[d.GuideID][d.ParticipantID] = true
		}
		if len(byGuide) != len(wantDeadlines) {
			t.Errorf("unit %s: overdue by guide has %d guides, the list %d", unit, len(byGuide), len(wantDeadlines))
		}
		for i, g := range byGuide {
			if g.Unit != unit || g.OverdueDeadlines != wantDeadlines[g.GuideID] || g.OverdueParticipants != len(wantPeople[g.GuideID]) {
				t.Errorf("unit %s: overdue by guide %+v; the list has %d deadlines of %d participants for %q",
					unit, g, wantDeadlines[g.GuideID], len(wantPeople[g.GuideID]), g.GuideID)
			}
			if i > 0 && byGuide[i-1].OverdueDeadlines < g.OverdueDeadlines {
				t.Errorf("unit %s: overdue by guide is not the most first: %+v", unit, byGuide)
			}
		}
		if all != len(list) || active != wantActive || overdue != wantOverdue || waiting != len(queue) || deadlines != len(od) {
			t.Errorf("unit %s: caseload %d participants, %d active, %d overdue, %d waiting, %d deadlines passed; lists %d, %d, %d, %d, %d",
				unit, all, active, overdue, waiting, deadlines, len(list), wantActive, wantOverdue, len(queue), len(od))
		}
		if active == 0 || overdue == 0 {
			t.Errorf("unit %s: the fixture should give active and overdue participants: %+v", unit, rows)
		}
	}
}
