package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// What the self-check (package selfcheck) reads of the read model and the org chart,
// and the findings it remembers. The queries return ids and times only: no names, no
// free text.

// JourneyRow is a participant's row in the read model, as the self-check compares it.
type JourneyRow struct {
	ParticipantID string
	JourneyID     string
	Seq           int64
	Unit          string
	Phase         string
	UpdatedAt     time.Time
}

// ActiveJourneys lists the participants the read model shows in a journey (any phase
// but exited).
func (s *Store) ActiveJourneys(ctx context.Context) ([]JourneyRow, error) {
	return s.journeyRows(ctx, `WHERE phase <> 'exited'`, nil)
}

// JourneysOf reads the read model's rows of the given participants, exited ones too.
func (s *Store) JourneysOf(ctx context.Context, participantIDs []string) ([]JourneyRow, error) {
	return s.journeyRows(ctx, `WHERE participant_id = ANY($1)`, participantIDs)
}

func (s *Store) journeyRows(ctx context.Context, where string, ids []string) ([]JourneyRow, error) {
	args := []any{}
	if ids != nil {
		args = append(args, ids)
	}
	rows, err := s.Pool.Query(ctx, `SELECT participant_id, journey_id, seq, unit, phase, updated_at FROM participants `+where+
		` ORDER BY participant_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("read the participants of the read model: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (JourneyRow, error) {
		var j JourneyRow
		return j, r.Scan(&j.ParticipantID, &j.JourneyID, &j.Seq, &j.Unit, &j.Phase, &j.UpdatedAt)
	})
}

// OpenDeadlineRow is an open deadline of the read model with its next notice time.
// NextNoticeKnown is false for a row written before the read model kept that time.
type OpenDeadlineRow struct {
	ParticipantID   string
	DeadlineID      string
	NextNoticeAt    *time.Time
	NextNoticeKnown bool
}

// OpenDeadlines lists the open deadlines of the given participants.
func (s *Store) OpenDeadlines(ctx context.Context, participantIDs []string) ([]OpenDeadlineRow, error) {
	rows, err := s.Pool.Query(ctx, `SELECT participant_id, deadline_id, next_notice_at, next_notice_known FROM deadlines
		WHERE participant_id = ANY($1) AND status = 'open' ORDER BY participant_id, deadline_id`, participantIDs)
	if err != nil {
		return nil, fmt.Errorf("read the open deadlines of the read model: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (OpenDeadlineRow, error) {
		var d OpenDeadlineRow
		return d, r.Scan(&d.ParticipantID, &d.DeadlineID, &d.NextNoticeAt, &d.NextNoticeKnown)
	})
}

// OrgChartGap is an active journey whose unit, guide or case worker the org chart does
// not have as active in that role. Each *State is "" when all is well, else "missing"
// (no such id), "inactive" (deactivated) or "role:<role>" (the id holds another role).
type OrgChartGap struct {
	ParticipantID   string
	Unit            string
	UnitState       string
	GuideID         string
	GuideState      string
	CaseWorkerID    string
	CaseWorkerState string
}

// OrgChartGaps finds the active journeys whose unit, guide or case worker is missing
// from the org chart, deactivated, or holds another role there.
func (s *Store) OrgChartGaps(ctx context.Context) ([]OrgChartGap, error) {
	rows, err := s.Pool.Query(ctx, `
		WITH j AS (
			SELECT p.participant_id, p.unit, coalesce(p.guide_id, '') AS guide_id, coalesce(i.case_worker_id, '') AS case_worker_id,
			       CASE WHEN u.unit_id IS NULL THEN 'missing' WHEN NOT u.active THEN 'inactive' ELSE '' END AS unit_state,
			       CASE WHEN p.guide_id IS NULL THEN '' WHEN g.staff_id IS NULL THEN 'missing' WHEN NOT g.active THEN 'inactive'
			            WHEN g.role <> 'guide' THEN 'role:' || g.role ELSE '' END AS guide_state,
			       CASE WHEN coalesce(i.case_worker_id, '') = '' THEN '' WHEN c.staff_id IS NULL THEN 'missing' WHEN NOT c.active THEN 'inactive'
			            WHEN c.role <> 'case_worker' THEN 'role:' || c.role ELSE '' END AS case_worker_state
			FROM participants p
			LEFT JOIN units u ON u.unit_id = p.unit
			LEFT JOIN staff g ON g.staff_id = p.guide_id
			LEFT JOIN participant_identity i ON i.participant_id = p.participant_id
			LEFT JOIN staff c ON c.staff_id = i.case_worker_id
			WHERE p.phase <> 'exited'
		)
		SELECT participant_id, unit, unit_state, guide_id, guide_state, case_worker_id, case_worker_state FROM j
		WHERE unit_state <> '' OR guide_state <> '' OR case_worker_state <> ''
		ORDER BY participant_id`)
	if err != nil {
		return nil, fmt.Errorf("compare the journeys with the org chart: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (OrgChartGap, error) {
		var g OrgChartGap
		return g, r.Scan(&g.ParticipantID, &g.Unit, &g.UnitState, &g.GuideID, &g.GuideState, &g.CaseWorkerID, &g.CaseWorkerState)
	})
}

// UnaddressedNotices is, for one participant, the notices of their running journey
// that were written without a recipient: the org chart named nobody for the role.
type UnaddressedNotices struct {
	ParticipantID string
	Unit          string
	Roles         []string // the roles nobody held, sorted
	Deadlines     []string // the deadlines they were about, sorted
	Numbers       []int64  // the notifications, to mark handled
	Count         int
	First         time.Time
}

// UnaddressedNotifications finds, per participant whose journey runs, the notices of
// that journey that have no recipient and that no admin has marked handled. Those of
// ended journeys are no longer news, and self-check notifications to the admins have
// none by design.
func (s *Store) UnaddressedNotifications(ctx context.Context) ([]UnaddressedNotices, error) {
	rows, err := s.Pool.Query(ctx, `
		SELECT n.participant_id, n.unit, array_agg(DISTINCT n.recipient_role ORDER BY n.recipient_role),
		       array_agg(DISTINCT n.deadline_id ORDER BY n.deadline_id), array_agg(n.number ORDER BY n.number), count(*), min(n.created_at)
		FROM notifications n
		JOIN participants p ON p.participant_id = n.participant_id AND p.phase <> 'exited'
		-- A notification's id starts with the first run id of its journey.
		 AND starts_with(n.id, p.journey_id || '/')
		WHERE n.recipient_id IS NULL AND n.kind <> 'self_check' AND n.delivery_handled_at IS NULL
		GROUP BY n.participant_id, n.unit
		ORDER BY n.participant_id, n.unit`)
	if err != nil {
		return nil, fmt.Errorf("find notifications without a recipient: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (UnaddressedNotices, error) {
		var u UnaddressedNotices
		return u, r.Scan(&u.ParticipantID, &u.Unit, &u.Roles, &u.Deadlines, &u.Numbers, &u.Count, &u.First)
	})
}

// FailedDelivery is a notification whose delivery failed for good and that nobody has
// marked handled.
type FailedDelivery struct {
	Number        int64
	ParticipantID string
	Unit          string
	Kind          string
	DeadlineID    string
	RecipientID   string
	Reason        string
	FailedAt      time.Time
}

// FailedDeliveries lists the permanent delivery failures nobody has handled.
func (s *Store) FailedDeliveries(ctx context.Context) ([]FailedDelivery, error) {
	rows, err := s.Pool.Query(ctx, `SELECT number, participant_id, unit, kind, deadline_id, coalesce(recipient_id, ''),
			coalesce(delivery_failure, ''), delivery_failed_at
		FROM notifications WHERE delivery_failed_at IS NOT NULL AND delivery_handled_at IS NULL ORDER BY number`)
	if err != nil {
		return nil, fmt.Errorf("find failed deliveries: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (FailedDelivery, error) {
		var f FailedDelivery
		return f, r.Scan(&f.Number, &f.ParticipantID, &f.Unit, &f.Kind, &f.DeadlineID, &f.RecipientID, &f.Reason, &f.FailedAt)
	})
}

// FailedJournalWrites is, for one participant, the journal writes that failed and are
// not resolved.
type FailedJournalWrites struct {
	ParticipantID string
	Unit          string // from the read model; "" when it has no row
	Count         int
	FirstSeq      *int64
	LastSeq       *int64
	Reason        string // the latest
	First         time.Time
}

// UnresolvedJournalFailures lists, per participant, the unresolved journal write failures.
func (s *Store) UnresolvedJournalFailures(ctx context.Context) ([]FailedJournalWrites, error) {
	rows, err := s.Pool.Query(ctx, `
		SELECT f.participant_id, coalesce(p.unit, ''), count(*), min(f.first_seq), max(f.last_seq),
		       (array_agg(f.reason ORDER BY f.failed_at DESC, f.id DESC))[1], min(f.failed_at)
		FROM journal_write_failures f LEFT JOIN participants p ON p.participant_id = f.participant_id
		WHERE f.resolved_at IS NULL
		GROUP BY f.participant_id, p.unit ORDER BY f.participant_id`)
	if err != nil {
		return nil, fmt.Errorf("find journal write failures: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (FailedJournalWrites, error) {
		var f FailedJournalWrites
		return f, r.Scan(&f.ParticipantID, &f.Unit, &f.Count, &f.FirstSeq, &f.LastSeq, &f.Reason, &f.First)
	})
}

// ResolveJournalFailures records that an admin has dealt with a participant's
// unresolved journal write failures (found the cause; the journey's later writes bring
// the read model up to date), so that the self-check stops reporting them. It returns
// how many it resolved; 0 when there were none.
func (s *Store) ResolveJournalFailures(ctx context.Context, participantID string) (int64, error) {
	tag, err := s.Pool.Exec(ctx, `UPDATE journal_write_failures SET resolved_at = now()
		WHERE participant_id = $1 AND resolved_at IS NULL`, participantID)
	if err != nil {
		return 0, fmt.Errorf("resolve journal write failures: %w", err)
	}
	return tag.RowsAffected(), nil
}

// FindingKey names a finding across runs: its kind and what it is about.
type FindingKey struct{ Kind, Subject string }

// FindingRecord is a finding as the self-check remembers it.
type FindingRecord struct {
	FindingKey
	ParticipantID string
	Unit          string
	Problem       string
	Action        string
}

// OpenFindings returns when each finding not yet resolved was first seen.
func (s *Store) OpenFindings(ctx context.Context) (map[FindingKey]time.Time, error) {
	rows, err := s.Pool.Query(ctx, `SELECT kind, subject, first_seen_at FROM self_check_findings WHERE resolved_at IS NULL`)
	if err != nil {
		return nil, fmt.Errorf("read the self-check's findings: %w", err)
	}
	defer rows.Close()
	out := map[FindingKey]time.Time{}
	for rows.Next() {
		var k FindingKey
		var at time.Time
		if err := rows.Scan(&k.Kind, &k.Subject, &at); err != nil {
			return nil, fmt.Errorf("read the self-check's findings: %w", err)
		}
		out[k] = at
	}
	return out, rows.Err()
}

// RecordFindings remembers what a run found at now, in one transaction: a finding seen
// before keeps its first sighting, a new one (or one back after it was resolved)
// starts at now, and every open finding this run did not see is resolved. It returns
// when each finding was first seen.
func (s *Store) RecordFindings(ctx context.Context, now time.Time, found []FindingRecord) (map[FindingKey]time.Time, error) {
	out := map[FindingKey]time.Time{}
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		for _, f := range found {
			var first time.Time
			err := tx.QueryRow(ctx, `
				INSERT INTO self_check_findings AS f (kind, subject, participant_id, unit, problem, action, first_seen_at, last_seen_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
				ON CONFLICT (kind, subject) DO UPDATE SET
					participant_id = EXCLUDED.participant_id, unit = EXCLUDED.unit, problem = EXCLUDED.problem, action = EXCLUDED.action,
					first_seen_at = CASE WHEN f.resolved_at IS NULL THEN f.first_seen_at ELSE EXCLUDED.first_seen_at END,
					last_seen_at = EXCLUDED.last_seen_at, resolved_at = NULL
				RETURNING first_seen_at`,
				f.Kind, f.Subject, f.ParticipantID, f.Unit, f.Problem, f.Action, now).Scan(&first)
			if err != nil {
				return fmt.Errorf("record finding %s %s: %w", f.Kind, f.Subject, err)
			}
			out[f.FindingKey] = first
		}
		if _, err := tx.Exec(ctx, `UPDATE self_check_findings SET resolved_at = $1 WHERE resolved_at IS NULL AND last_seen_at <> $1`, now); err != nil {
			return fmt.Errorf("resolve the findings no longer found: %w", err)
		}
		return nil
	})
	return out, err
}

// RecordSelfCheckRun remembers that a recording run of the self-check ended at at,
// successfully or not, for the metrics every process serves.
func (s *Store) RecordSelfCheckRun(ctx context.Context, at time.Time, ok bool) error {
	var success *time.Time
	if ok {
		success = &at
	}
	_, err := s.Pool.Exec(ctx, `
		INSERT INTO self_check_runs (last_run_at, last_success_at) VALUES ($1, $2)
		ON CONFLICT (singleton) DO UPDATE SET last_run_at = EXCLUDED.last_run_at,
			last_success_at = coalesce(EXCLUDED.last_success_at, self_check_runs.last_success_at)`, at, success)
	if err != nil {
		return fmt.Errorf("record the self-check's run: %w", err)
	}
	return nil
}

// SelfCheckNotice is a finding addressed to an inbox.
type SelfCheckNotice struct {
	ID            string // idempotency key: one notice per finding and first sighting
	ParticipantID string
	Unit          string
	Kind          string // the finding's kind
	RecipientRole string // unit_manager, or admin for every admin's inbox
	RecipientID   string // "" for admin
	Message       string
	FirstSeen     time.Time
}

// InsertSelfCheckNotice writes a finding to an inbox once; a second write with the
// same id is a no-op and reports inserted=false.
func (s *Store) InsertSelfCheckNotice(ctx context.Context, n SelfCheckNotice) (bool, error) {
	resolvedFrom := "unit"
	if n.RecipientID == "" {
		resolvedFrom = ""
	}
	tag, err := s.Pool.Exec(ctx, `
		INSERT INTO notifications (id, participant_id, unit, deadline_id, deadline_kind, kind, level,
		                           recipient_role, recipient_id, due_at, planned_at, resolved_from, message)
		VALUES ($1, $2, $3, $4, 'self_check', 'self_check', 0, $5, $6, $7, $7, $8, $9)
		ON CONFLICT (id) DO NOTHING`,
		n.ID, n.ParticipantID, n.Unit, n.Kind, n.RecipientRole, nullable(n.RecipientID), n.FirstSeen, nullable(resolvedFrom), n.Message)
	if err != nil {
		return false, fmt.Errorf("write the self-check notice %s: %w", n.ID, err)
	}
	return tag.RowsAffected() == 1, nil
}
