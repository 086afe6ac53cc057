package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Every report is SQL over journey_events. A journey is one workflow run chain
// (journey_id); a re-entry after an exit is a new journey. Its first event tells the unit
// it was referred to, its latest event the journey as it is now (deadline dates already
// moved on by pauses, met and closed deadlines, the exit).
const journeysCTE = `
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

func timeliness(ctx context.Context, db *Store, now time.Time, p Period, kinds []string, unitCol, monthCol string) ([]TimelinessRow, error) {
	q := journeysCTE + fmt.Sprintf(`
	SELECT %[1]s, to_char(%[2]s AT TIME ZONE 'Europe/Stockholm', 'YYYY-MM'),
	       count(*) FILTER (WHERE met_at IS NOT NULL OR (status <> 'closed' AND due_at <= $1)),
	       count(*) FILTER (WHERE met_at IS NOT NULL AND met_at < due_at),
	       count(*) FILTER (WHERE met_at IS NOT NULL AND met_at >= due_at),
	       count(*) FILTER (WHERE status = 'open' AND due_at <= $1),
	       count(*) FILTER (WHERE status = 'closed')
	FROM deadlines
	WHERE kind = ANY($2) AND %[2]s >= $3 AND %[2]s < $4 AND ($5 = '' OR %[1]s = $5)
	GROUP BY 1, 2 ORDER BY 1, 2`, unitCol, monthCol)
	rows, err := db.Pool.Query(ctx, q, now, kinds, p.From, p.To, p.Unit)
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
	return timeliness(ctx, s, now, p, []string{"plan"}, "referral_unit", "referred_at")
}

// FollowUpTimeliness: of the first follow-ups and reviews falling due in each month,
// how many were held inside their window; counted in the unit that has the journey now.
func (s *Store) FollowUpTimeliness(ctx context.Context, now time.Time, p Period) ([]TimelinessRow, error) {
	return timeliness(ctx, s, now, p, []string{"first_follow_up", "review"}, "unit", "due_at")
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
	q := journeysCTE + `
	SELECT program_id, to_char(referred_at AT TIME ZONE 'Europe/Stockholm', 'YYYY-MM'), substring(id from 6)::int,
	       count(*) FILTER (WHERE (met_at IS NOT NULL AND met_at <= due_at) OR (status = 'open' AND due_at <= $1) OR (met_at > due_at)),
	       count(*) FILTER (WHERE met_at IS NOT NULL AND met_at <= due_at)
	FROM deadlines
	WHERE kind = 'step' AND referred_at >= $2 AND referred_at < $3 AND ($4 = '' OR referral_unit = $4)
	GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`
	rows, err := s.Pool.Query(ctx, q, now, p.From, p.To, p.Unit)
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
	q := journeysCTE + `
	SELECT unit, to_char(exited_at AT TIME ZONE 'Europe/Stockholm', 'YYYY-MM'), exit_reason, count(*)
	FROM journeys
	WHERE exited_at IS NOT NULL AND exited_at >= $1 AND exited_at < $2 AND ($3 = '' OR unit = $3)
	GROUP BY 1, 2, 3 ORDER BY 1, 2, 4 DESC, 3`
	rows, err := s.Pool.Query(ctx, q, p.From, p.To, p.Unit)
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
	q := journeysCTE + `
	, waits AS (
		SELECT j.referral_unit AS unit,
		       extract(epoch FROM coalesce((g->>'metAt')::timestamptz, j.exited_at, $1) - j.referred_at) / 86400 AS days,
		       (g->>'metAt') IS NULL AND j.exited_at IS NULL AS waiting
		FROM journeys j, jsonb_array_elements(deadlines_of(j.snapshot)) g
		WHERE g->>'id' = 'guide' AND j.referred_at >= $2 AND j.referred_at < $3 AND ($4 = '' OR j.referral_unit = $4)
	)
	SELECT unit, count(*), count(*) FILTER (WHERE waiting),
	       percentile_cont(0.5) WITHIN GROUP (ORDER BY days), percentile_cont(0.9) WITHIN GROUP (ORDER BY days), max(days)
	FROM waits GROUP BY unit ORDER BY unit`
	rows, err := s.Pool.Query(ctx, q, now, p.From, p.To, p.Unit)
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
