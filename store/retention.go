package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stegvis/stegvis/activities"
)

// ErasureCandidate is a participant whose retention period has passed since their exit.
type ErasureCandidate = activities.ErasureCandidate

// Retention's entries in the audit log.
const (
	RetentionActor       = "system:retention"
	RetentionEraseAction = "retention.erase"
)

// planSignedSummary is what is left of a plan_signed event's summary after erasure:
// the original ends with the plan's main activity, which is free text.
const planSignedSummary = "action plan signed"

// DueForErasure lists the participants who exited before exitedBefore and whose
// personal data has not been erased since that exit, the oldest exit first. A
// participant who came back and left again is due once more for the later exit.
func (s *Store) DueForErasure(ctx context.Context, exitedBefore time.Time, limit int) ([]ErasureCandidate, error) {
	rows, err := s.Pool.Query(ctx, `SELECT p.participant_id, p.exited_at FROM participants p
		WHERE p.phase = 'exited' AND p.exited_at < $1
		  AND NOT EXISTS (SELECT 1 FROM erasures e WHERE e.participant_id = p.participant_id AND e.exited_at >= p.exited_at)
		ORDER BY p.exited_at, p.participant_id LIMIT $2`, exitedBefore, limit)
	if err != nil {
		return nil, fmt.Errorf("find participants due for erasure: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ErasureCandidate, error) {
		var c ErasureCandidate
		return c, r.Scan(&c.ParticipantID, &c.ExitedAt)
	})
}

// ErasePersonalData erases, in one transaction, who a participant is (name, personal
// identity number and the key that sealed them; the case worker is staff and stays)
// and the free text of their journey events, records the erasure, and writes the audit
// log. The read model, deadlines and the rest of the events stay: they are the
// pseudonymised statistics. A second call for the same exit does nothing.
func (s *Store) ErasePersonalData(ctx context.Context, participantID string, exitedAt time.Time) error {
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		// Recording the erasure first makes a repeated call a no-op: it finds the row.
		tag, err := tx.Exec(ctx, `INSERT INTO erasures (participant_id, exited_at) VALUES ($1, $2)
			ON CONFLICT (participant_id) DO UPDATE SET exited_at = EXCLUDED.exited_at, erased_at = now()
			WHERE erasures.exited_at < EXCLUDED.exited_at`, participantID, exitedAt)
		if err != nil {
			return fmt.Errorf("record erasure: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return nil // already erased for this exit
		}
		ident, err := tx.Exec(ctx, `UPDATE participant_identity
			SET personal_number = NULL, name = NULL, key_id = NULL, erased_at = now()
			WHERE participant_id = $1`, participantID)
		if err != nil {
			return fmt.Errorf("erase participant identity: %w", err)
		}
		// The only free text among the event summaries is the plan's main activity
		// (workflows/handlers.go). program_migrated carries an administrator's reason,
		// which is about the programme, not the participant: it stays.
		events, err := tx.Exec(ctx, `UPDATE journey_events SET summary = $2
			WHERE participant_id = $1 AND kind = 'plan_signed' AND summary <> $2`, participantID, planSignedSummary)
		if err != nil {
			return fmt.Errorf("erase free text of journey events: %w", err)
		}
		detail := map[string]any{
			"exitedAt":       exitedAt.UTC().Format(time.RFC3339),
			"identityErased": ident.RowsAffected() > 0,
			"eventsScrubbed": events.RowsAffected(),
		}
		if _, err := tx.Exec(ctx, `INSERT INTO audit_log (actor, action, participant_id, outcome, detail)
			VALUES ($1, $2, $3, 'allowed', $4)`, RetentionActor, RetentionEraseAction, participantID, detail); err != nil {
			return fmt.Errorf("write audit log: %w", err)
		}
		return nil
	})
}
