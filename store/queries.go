package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// ParticipantRow is a participant as managers list them.
type ParticipantRow struct {
	ParticipantID   string     `json:"participantId"`
	Unit            string     `json:"unit"`
	ProgramID       string     `json:"programId"`
	ProgramVersion  int        `json:"programVersion"`
	GuideID         string     `json:"guideId,omitempty"`
	Phase           string     `json:"phase"`
	Step            int        `json:"step"`
	ReferredAt      time.Time  `json:"referredAt"`
	Priority        int        `json:"priority"`
	PlanSignedAt    *time.Time `json:"planSignedAt,omitempty"`
	ExitedAt        *time.Time `json:"exitedAt,omitempty"`
	ExitReason      string     `json:"exitReason,omitempty"`
	NextDueAt       *time.Time `json:"nextDueAt,omitempty"`
	OverdueCount    int        `json:"overdueCount"`
	EscalationLevel int        `json:"escalationLevel"` // the highest among open deadlines
}

// ParticipantFilter narrows a participant list. Zero values do not filter.
type ParticipantFilter struct {
	Unit            string
	GuideID         string
	Phase           string
	Step            *int
	Overdue         bool
	WaitingForGuide bool
	NotExited       bool
	Scope           Scope  // whom the caller may see; the zero Scope sees nobody
	After           string // keyset: participant ids after this one
	Limit           int
}

// participantColumns are a participant's row and three figures from their open
// deadlines (the next due, how many have passed, the highest escalation), which
// participantFrom joins in: one probe of deadlines_open_participant_idx per participant
// listed, where three subqueries each read the participant's deadlines.
const participantColumns = `p.participant_id, p.unit, p.program_id, p.program_version, coalesce(p.guide_id, ''), p.phase, p.step,
	p.referred_at, p.priority, p.plan_signed_at, p.exited_at, coalesce(p.exit_reason, ''),
	od.next_due_at, od.overdue, od.escalation`

const participantFrom = `participants p CROSS JOIN LATERAL (
		SELECT min(d.due_at) AS next_due_at, count(*) FILTER (WHERE d.due_at <= $1) AS overdue,
		       coalesce(max(d.escalation_level), 0) AS escalation
		FROM deadlines d WHERE d.participant_id = p.participant_id AND d.status = 'open') od`

func scanParticipants(rows pgx.Rows) ([]ParticipantRow, error) {
	defer rows.Close()
	out := []ParticipantRow{}
	for rows.Next() {
		var r ParticipantRow
		if err := rows.Scan(&r.ParticipantID, &r.Unit, &r.ProgramID, &r.ProgramVersion, &r.GuideID, &r.Phase, &r.Step,
			&r.ReferredAt, &r.Priority, &r.PlanSignedAt, &r.ExitedAt, &r.ExitReason, &r.NextDueAt, &r.OverdueCount, &r.EscalationLevel); err != nil {
			return nil, fmt.Errorf("read participant: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Participants lists participants by id, filtered, one page at a time (keyset paging:
// pass the last id of a page as After to get the next).
func (s *Store) Participants(ctx context.Context, now time.Time, f ParticipantFilter) ([]ParticipantRow, error) {
	where := []string{"true"}
	args := []any{now}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", fmt.Sprintf("$%d", len(args))))
	}
	if f.Unit != "" {
		add("p.unit = ?", f.Unit)
	}
	if f.GuideID != "" {
		add("p.guide_id = ?", f.GuideID)
	}
	if f.Phase != "" {
		add("p.phase = ?", f.Phase)
	}
	if f.Step != nil {
		add("p.step = ?", *f.Step)
	}
	if f.Overdue {
		where = append(where, "EXISTS (SELECT 1 FROM deadlines d WHERE d.participant_id = p.participant_id AND d.status = 'open' AND d.due_at <= $1)")
	}
	if f.NotExited {
		where = append(where, "p.phase <> 'exited'")
	}
	if f.WaitingForGuide {
		where = append(where, "p.guide_id IS NULL AND p.phase <> 'exited'")
	}
	if f.After != "" {
		add("p.participant_id > ?", f.After)
	}
	where = append(where, f.Scope.sql(&args))
	args = append(args, f.Limit)
	q := fmt.Sprintf("SELECT %s FROM %s WHERE %s ORDER BY p.participant_id LIMIT $%d", participantColumns, participantFrom, strings.Join(where, " AND "), len(args))
	rows, err := s.Pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list participants: %w", err)
	}
	return scanParticipants(rows)
}

// QueueRow is a participant waiting for a guide.
type QueueRow struct {
	ParticipantRow
	WaitingDays int `json:"waitingDays"`
}

// Queue lists the participants without a guide: the most urgent need first, then the
// longest wait.
func (s *Store) Queue(ctx context.Context, now time.Time, unit string, scope Scope) ([]QueueRow, error) {
	args := []any{now}
	cond := ""
	if unit != "" {
		args = append(args, unit)
		cond = " AND p.unit = $2"
	}
	cond += " AND " + scope.sql(&args)
	// Planned for its arguments (queryPlanned): a unit's queue may be three or three thousand.
	rows, err := s.queryPlanned(ctx, fmt.Sprintf(`SELECT %s FROM %s
		WHERE p.guide_id IS NULL AND p.phase <> 'exited'%s ORDER BY p.priority, p.referred_at, p.participant_id`, participantColumns, participantFrom, cond), args...)
	if err != nil {
		return nil, fmt.Errorf("list the queue: %w", err)
	}
	list, err := scanParticipants(rows)
	if err != nil {
		return nil, err
	}
	out := make([]QueueRow, len(list))
	for i, p := range list {
		out[i] = QueueRow{ParticipantRow: p, WaitingDays: int(now.Sub(p.ReferredAt).Hours() / 24)}
	}
	return out, nil
}

// OverdueRow is one deadline that has passed unmet.
type OverdueRow struct {
	ParticipantID   string    `json:"participantId"`
	Unit            string    `json:"unit"`
	GuideID         string    `json:"guideId,omitempty"`
	DeadlineID      string    `json:"deadlineId"`
	Kind            string    `json:"kind"`
	DueDate         string    `json:"dueDate"`
	DueAt           time.Time `json:"dueAt"`
	DaysOverdue     int       `json:"daysOverdue"`
	EscalationLevel int       `json:"escalationLevel"`
}

// OverdueKey is where a page of the overdue list ends: the list is ordered by it.
type OverdueKey struct {
	DueAt         time.Time
	ParticipantID string
	DeadlineID    string
}

// OverdueFilter narrows the overdue list and pages it (keyset: After is the last row's key
// of the page before; Limit rows at most).
type OverdueFilter struct {
	Unit, GuideID string
	After         *OverdueKey
	Limit         int
	Scope         Scope
}

// Overdue lists open deadlines that have passed, most overdue first.
func (s *Store) Overdue(ctx context.Context, now time.Time, f OverdueFilter) ([]OverdueRow, error) {
	args := []any{now}
	cond := ""
	if f.Unit != "" {
		args = append(args, f.Unit)
		cond += fmt.Sprintf(" AND p.unit = $%d", len(args))
	}
	if f.GuideID != "" {
		args = append(args, f.GuideID)
		cond += fmt.Sprintf(" AND p.guide_id = $%d", len(args))
	}
	if f.After != nil {
		args = append(args, f.After.DueAt, f.After.ParticipantID, f.After.DeadlineID)
		cond += fmt.Sprintf(" AND (d.due_at, d.participant_id, d.deadline_id) > ($%d, $%d, $%d)", len(args)-2, len(args)-1, len(args))
	}
	cond += " AND " + f.Scope.sql(&args)
	args = append(args, f.Limit)
	// Planned for its arguments (queryPlanned): one guide's few deadlines or a large unit's
	// tens of thousands want different plans. A page is read along deadlines_open_due_idx
	// and stops at the limit, however many deadlines have passed.
	rows, err := s.queryPlanned(ctx, fmt.Sprintf(`SELECT p.participant_id, p.unit, coalesce(p.guide_id, ''), d.deadline_id, d.kind,
			to_char(d.due_date, 'YYYY-MM-DD'), d.due_at, d.escalation_level
		FROM deadlines d JOIN participants p USING (participant_id)
		WHERE d.status = 'open' AND d.due_at <= $1%s
		ORDER BY d.due_at, d.participant_id, d.deadline_id LIMIT $%d`, cond, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("list overdue deadlines: %w", err)
	}
	defer rows.Close()
	out := []OverdueRow{}
	for rows.Next() {
		var r OverdueRow
		if err := rows.Scan(&r.ParticipantID, &r.Unit, &r.GuideID, &r.DeadlineID, &r.Kind, &r.DueDate, &r.DueAt, &r.EscalationLevel); err != nil {
			return nil, fmt.Errorf("read overdue deadline: %w", err)
		}
		// Whole days since the deadline passed; a deadline passed this morning is 0.
		r.DaysOverdue = int(now.Sub(r.DueAt).Hours() / 24)
		out = append(out, r)
	}
	return out, rows.Err()
}
