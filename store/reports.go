package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Every report counts journeys. A journey is one workflow run chain (journey_id); a
// re-entry after an exit is a new journey. Its first event tells the unit it was referred
// to, its latest event the journey as it is now (deadline dates already moved on by
// pauses, met and closed deadlines, the exit).
//
// The reports read report_journeys and report_deadlines (migration 000011): the first and
// latest event of each journey and the latest snapshot's deadlines, kept in typed columns
// by a trigger on journey_events in the same transaction as the events. Each report filters
// by unit and period on an index of its own before it counts, instead of finding every
// journey's first and latest event over the whole event table first.

// unitFilter is " AND <col> = $n" when a unit is asked for, and nothing for every
// unit. It is left out rather than written as one condition that an empty argument
// makes true for every unit: a plan for that condition cannot use the unit's index range.
func unitFilter(col, unit string, args *[]any) string {
	if unit == "" {
		return ""
	}
	*args = append(*args, unit)
	return fmt.Sprintf(" AND %s = $%d", col, len(*args))
}

// queryPlanned runs a query planned for its own arguments every time: pgx caches the
// statement's description, not a prepared plan. A statement prepared once and reused
// gets a generic plan after five runs, made without knowing whether the unit has ten
// journeys or fifty thousand; for a large unit it then reads the rows one by one
// through an index, where the plan made for the unit reads them in one pass.
func (s *Store) queryPlanned(ctx context.Context, q string, args ...any) (pgx.Rows, error) {
	return s.Pool.Query(ctx, q, append([]any{pgx.QueryExecModeCacheDescribe}, args...)...)
}

// Period bounds a report: [From, To).
type Period struct {
	From, To time.Time
	Unit     string // empty for every unit
}

// TimelinessRow is the plan or follow-up report for one unit and month.
type TimelinessRow struct {
	Unit    string  `json:"unit"`
	Month   string  `json:"month"`   // YYYY-MM
	Due     int     `json:"due"`     // deadlines that have fallen due or been met
	OnTime  int     `json:"onTime"`  // met before they ran out
	Late    int     `json:"late"`    // met after
	Missing int     `json:"missing"` // ran out and still open
	Closed  int     `json:"closed"`  // ended unmet by an exit
	Share   float64 `json:"share"`   // onTime / due, 0 when nothing was due
}

// timeliness counts the deadlines of a kind (kindCond, a condition on report_deadlines
// that its partial index also has) per unit and month: the period bounds timeCol,
// monthCol is the same time's month in Stockholm.
func timeliness(ctx context.Context, db *Store, now time.Time, p Period, kindCond, unitCol, timeCol, monthCol string) ([]TimelinessRow, error) {
	args := []any{now, p.From, p.To}
	unit := unitFilter(unitCol, p.Unit, &args)
	q := fmt.Sprintf(`
	SELECT %[1]s, %[5]s,
	       count(*) FILTER (WHERE met_at IS NOT NULL OR (status <> 'closed' AND due_at <= $1)),
	       count(*) FILTER (WHERE met_at IS NOT NULL AND met_at < due_at),
	       count(*) FILTER (WHERE met_at IS NOT NULL AND met_at >= due_at),
	       count(*) FILTER (WHERE status = 'open' AND due_at <= $1),
	       count(*) FILTER (WHERE status = 'closed')
	FROM report_deadlines
	WHERE %[3]s AND %[2]s >= $2 AND %[2]s < $3%[4]s
	GROUP BY 1, 2 ORDER BY 1, 2`, unitCol, timeCol, kindCond, unit, monthCol)
	rows, err := db.queryPlanned(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("timeliness report: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (TimelinessRow, error) {
		var t TimelinessRow
		err := r.Scan(&t.Unit, &t.Month, &t.Due, &t.OnTime, &t.Late, &t.Missing, &t.Closed)
		if t.Due > 0 {
			t.Share = float64(t.OnTime) / float64(t.Due)
		}
		return t, err
	})
	if out == nil {
		out = []TimelinessRow{}
	}
	return out, err
}

// PlanTimeliness: of the participants referred to each unit in each month, how many had
// a signed plan within the programme's deadline (the 5-day question of source document
// 003). Counted in the unit of referral; a pause has already moved the deadline on.
func (s *Store) PlanTimeliness(ctx context.Context, now time.Time, p Period) ([]TimelinessRow, error) {
	// report_deadlines_plan_idx: (referral_unit, referred_at) WHERE kind = 'plan'.
	return timeliness(ctx, s, now, p, "kind = 'plan'", "referral_unit", "referred_at", "referred_month")
}

// FollowUpTimeliness: of the first follow-ups and reviews falling due in each month,
// how many were held inside their window; counted in the unit that has the journey now.
func (s *Store) FollowUpTimeliness(ctx context.Context, now time.Time, p Period) ([]TimelinessRow, error) {
	// report_deadlines_follow_up_idx: (unit, due_at) WHERE kind IN (…).
	return timeliness(ctx, s, now, p, "kind IN ('first_follow_up', 'review')", "unit", "due_at", "due_month")
}

// StepRow is step attainment for one cohort (month of referral) and step.
type StepRow struct {
	ProgramID string  `json:"programId"`
	Cohort    string  `json:"cohort"` // YYYY-MM of referral
	Step      int     `json:"step"`
	Reached   int     `json:"reached"`  // journeys whose milestone has passed (or was met)
	PassedBy  int     `json:"passedBy"` // passed the step by its milestone
	Share     float64 `json:"share"`
	TargetPct int     `json:"targetPercent"`
}

// StepAttainment: per cohort, the share of journeys past each step by its milestone.
// Journeys that exited before a milestone are not counted for it.
func (s *Store) StepAttainment(ctx context.Context, now time.Time, p Period) ([]StepRow, error) {
	// report_deadlines_step_idx: (referral_unit, referred_at) WHERE kind = 'step'. The
	// projection has each step's number (step-3: 3); a step deadline whose id is not
	// step-N has none, and the report fails on it, as it did when it read the id itself.
	args := []any{now, p.From, p.To}
	q := `
	SELECT program_id, referred_month, step,
	       count(*) FILTER (WHERE (met_at IS NOT NULL AND met_at <= due_at) OR (status = 'open' AND due_at <= $1) OR (met_at > due_at)),
	       count(*) FILTER (WHERE met_at IS NOT NULL AND met_at <= due_at)
	FROM report_deadlines
	WHERE kind = 'step' AND referred_at >= $2 AND referred_at < $3` + unitFilter("referral_unit", p.Unit, &args) + `
	GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`
	rows, err := s.queryPlanned(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("step attainment report: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (StepRow, error) {
		var st StepRow
		err := r.Scan(&st.ProgramID, &st.Cohort, &st.Step, &st.Reached, &st.PassedBy)
		if st.Reached > 0 {
			st.Share = float64(st.PassedBy) / float64(st.Reached)
		}
		return st, err
	})
	if out == nil {
		out = []StepRow{}
	}
	return out, err
}

// ExitRow counts exits of one reason in one unit and month.
type ExitRow struct {
	Unit   string `json:"unit"`
	Month  string `json:"month"`
	Reason string `json:"reason"`
	Count  int    `json:"count"`
}

// Exits: why people left, per unit (the one that had the journey at the exit) and month.
func (s *Store) Exits(ctx context.Context, p Period) ([]ExitRow, error) {
	// report_journeys_exits_idx: (unit, exited_at) WHERE exited_at IS NOT NULL.
	args := []any{p.From, p.To}
	q := `
	SELECT unit, to_char(exited_at AT TIME ZONE 'Europe/Stockholm', 'YYYY-MM'), exit_reason, count(*)
	FROM report_journeys
	WHERE exited_at IS NOT NULL AND exited_at >= $1 AND exited_at < $2` + unitFilter("unit", p.Unit, &args) + `
	GROUP BY 1, 2, 3 ORDER BY 1, 2, 4 DESC, 3`
	rows, err := s.queryPlanned(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("exits report: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ExitRow, error) {
		var e ExitRow
		return e, r.Scan(&e.Unit, &e.Month, &e.Reason, &e.Count)
	})
	if out == nil {
		out = []ExitRow{}
	}
	return out, err
}

// WaitingRow is the waiting time for a guide in one unit.
type WaitingRow struct {
	Unit         string  `json:"unit"`
	Participants int     `json:"participants"` // referred without a guide in the period
	StillWaiting int     `json:"stillWaiting"`
	MedianDays   float64 `json:"medianDays"`
	P90Days      float64 `json:"p90Days"`
	LongestDays  float64 `json:"longestDays"`
}

// WaitingTime: for participants referred without a guide, the days from referral to a
// guide (or to now, for those still waiting; to the exit for those who left waiting).
func (s *Store) WaitingTime(ctx context.Context, now time.Time, p Period) ([]WaitingRow, error) {
	// report_deadlines_guide_idx: (referral_unit, referred_at) WHERE deadline_id = 'guide'.
	args := []any{now, p.From, p.To}
	q := `
	WITH waits AS (
		SELECT referral_unit AS unit,
		       extract(epoch FROM coalesce(met_at, exited_at, $1) - referred_at) / 86400 AS days,
		       met_at IS NULL AND exited_at IS NULL AS waiting
		FROM report_deadlines
		WHERE deadline_id = 'guide' AND referred_at >= $2 AND referred_at < $3` + unitFilter("referral_unit", p.Unit, &args) + `
	)
	SELECT unit, count(*), count(*) FILTER (WHERE waiting),
	       percentile_cont(0.5) WITHIN GROUP (ORDER BY days), percentile_cont(0.9) WITHIN GROUP (ORDER BY days), max(days)
	FROM waits GROUP BY unit ORDER BY unit`
	rows, err := s.queryPlanned(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("waiting time report: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (WaitingRow, error) {
		var w WaitingRow
		return w, r.Scan(&w.Unit, &w.Participants, &w.StillWaiting, &w.MedianDays, &w.P90Days, &w.LongestDays)
	})
	if out == nil {
		out = []WaitingRow{}
	}
	return out, err
}

// CaseloadRow counts the participants of one unit in one phase, as they stand now (the
// read model: each participant's latest journey).
type CaseloadRow struct {
	Unit                string `json:"unit"`
	Phase               string `json:"phase"`
	Participants        int    `json:"participants"`
	WaitingForGuide     int    `json:"waitingForGuide"`     // without a guide and not exited: the queue
	OverdueParticipants int    `json:"overdueParticipants"` // with an open deadline that has passed
	OverdueDeadlines    int    `json:"overdueDeadlines"`    // open deadlines that have passed: the overdue list
}

// Caseload counts participants per unit and phase: how many, how many wait for a guide,
// how many have a deadline passed and how many deadlines have passed. The same
// conditions as the participant list (overdueCount > 0), the queue and the overdue list,
// so that the figures are those lists' lengths, without reading (or logging) each person.
func (s *Store) Caseload(ctx context.Context, now time.Time, unit string) ([]CaseloadRow, error) {
	args := []any{now}
	q := `
	SELECT p.unit, p.phase, count(*),
	       count(*) FILTER (WHERE p.guide_id IS NULL AND p.phase <> 'exited'),
	       count(*) FILTER (WHERE od.n > 0), coalesce(sum(od.n), 0)
	FROM participants p
	LEFT JOIN (SELECT d.participant_id, count(*) AS n FROM deadlines d
	           WHERE d.status = 'open' AND d.due_at <= $1 GROUP BY d.participant_id) od USING (participant_id)
	WHERE true` + unitFilter("p.unit", unit, &args) + `
	GROUP BY 1, 2 ORDER BY 1, 2`
	var out []CaseloadRow
	err := pgx.BeginTxFunc(ctx, s.Pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		// The overdue deadlines are counted per participant before the unit is known (the
		// deadlines carry none): a hash of one entry per participant with a deadline passed,
		// 75,000 at 100,000 participants, which in the default 4 MB spills to disk in
		// batches (a third of the query's time).
		if _, err := tx.Exec(ctx, "SET LOCAL work_mem = '32MB'"); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, q, append([]any{pgx.QueryExecModeCacheDescribe}, args...)...)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (CaseloadRow, error) {
			var c CaseloadRow
			return c, r.Scan(&c.Unit, &c.Phase, &c.Participants, &c.WaitingForGuide, &c.OverdueParticipants, &c.OverdueDeadlines)
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("caseload report: %w", err)
	}
	if out == nil {
		out = []CaseloadRow{}
	}
	return out, nil
}

// GuideOverdueRow counts the deadlines passed of one guide's participants ("" is the
// participants without a guide) in one unit.
type GuideOverdueRow struct {
	Unit                string `json:"unit"`
	GuideID             string `json:"guideId"`
	OverdueDeadlines    int    `json:"overdueDeadlines"`
	OverdueParticipants int    `json:"overdueParticipants"`
}

// OverdueByGuide counts the overdue list per unit and guide, the most first: the
// dashboard's chart, counted in the database rather than by reading (and logging) the
// list of a unit's tens of thousands of deadlines.
func (s *Store) OverdueByGuide(ctx context.Context, now time.Time, unit string) ([]GuideOverdueRow, error) {
	args := []any{now}
	q := `
	SELECT p.unit, coalesce(p.guide_id, ''), count(*), count(DISTINCT p.participant_id)
	FROM deadlines d JOIN participants p USING (participant_id)
	WHERE d.status = 'open' AND d.due_at <= $1` + unitFilter("p.unit", unit, &args) + `
	GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2`
	rows, err := s.queryPlanned(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("overdue by guide report: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (GuideOverdueRow, error) {
		var g GuideOverdueRow
		return g, r.Scan(&g.Unit, &g.GuideID, &g.OverdueDeadlines, &g.OverdueParticipants)
	})
	if err != nil {
		return nil, fmt.Errorf("overdue by guide report: %w", err)
	}
	if out == nil {
		out = []GuideOverdueRow{}
	}
	return out, nil
}
