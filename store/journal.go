package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stegvis/stegvis/activities"
)

// RecordJourneyEvents appends events, once each, and applies the snapshot to the read
// model unless a later state of the participant is already there, in one transaction.
func (s *Store) RecordJourneyEvents(ctx context.Context, in activities.JourneyEvents) error {
	if len(in.Events) == 0 {
		return nil
	}
	snap, err := json.Marshal(in.Snapshot)
	if err != nil {
		return fmt.Errorf("encode snapshot: %w", err)
	}
	seqs := make([]int64, len(in.Events))
	eventIDs := make([]string, len(in.Events))
	ats := make([]time.Time, len(in.Events))
	kinds := make([]string, len(in.Events))
	summaries := make([]string, len(in.Events))
	for i, e := range in.Events {
		seqs[i], eventIDs[i], ats[i], kinds[i], summaries[i] = e.Seq, fmt.Sprintf("%s/%d", in.JourneyID, e.Seq), e.At, e.Kind, e.Summary
	}
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		// The batch in one statement: the reports' trigger on journey_events (migration
		// 000011) then works the journey out once per batch, not once per event.
		_, err := tx.Exec(ctx, `INSERT INTO journey_events (participant_id, event_id, journey_id, seq, at, kind, summary, referred_at, snapshot)
			SELECT $1, e.event_id, $2, e.seq, e.at, e.kind, e.summary, $3, $4::jsonb
			FROM unnest($5::text[], $6::bigint[], $7::timestamptz[], $8::text[], $9::text[]) AS e(event_id, seq, at, kind, summary)
			ON CONFLICT (participant_id, event_id) DO NOTHING`,
			in.ParticipantID, in.JourneyID, in.Snapshot.ReferredAt, snap, eventIDs, seqs, ats, kinds, summaries)
		if err != nil {
			return fmt.Errorf("insert journey events: %w", err)
		}
		last := in.Events[len(in.Events)-1].Seq
		return applySnapshot(ctx, tx, in.ParticipantID, in.JourneyID, last, in.Snapshot)
	})
}

// applySnapshot writes a participant's row and deadlines, if the snapshot is newer
// than what the read model holds: a later journey, or a later event of the same one.
func applySnapshot(ctx context.Context, tx pgx.Tx, participantID, journeyID string, seq int64, s activities.JourneySnapshot) error {
	var (
		guide      *string
		exitReason *string
	)
	if s.GuideID != "" {
		guide = &s.GuideID
	}
	if s.ExitReason != "" {
		exitReason = &s.ExitReason
	}
	tag, err := tx.Exec(ctx, `
		INSERT INTO participants (participant_id, journey_id, seq, referred_at, unit, program_id, program_version,
		                          guide_id, phase, step, plan_signed_at, exited_at, exit_reason, priority, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, now())
		ON CONFLICT (participant_id) DO UPDATE SET
			journey_id = EXCLUDED.journey_id, seq = EXCLUDED.seq, referred_at = EXCLUDED.referred_at,
			unit = EXCLUDED.unit, program_id = EXCLUDED.program_id, program_version = EXCLUDED.program_version,
			guide_id = EXCLUDED.guide_id, phase = EXCLUDED.phase, step = EXCLUDED.step,
			plan_signed_at = EXCLUDED.plan_signed_at, exited_at = EXCLUDED.exited_at,
			exit_reason = EXCLUDED.exit_reason, priority = EXCLUDED.priority, updated_at = now()
		WHERE (participants.referred_at, participants.journey_id, participants.seq)
		    < (EXCLUDED.referred_at, EXCLUDED.journey_id, EXCLUDED.seq)`,
		participantID, journeyID, seq, s.ReferredAt, s.Unit, s.ProgramID, s.ProgramVersion,
		guide, s.Phase, s.Step, s.PlanSignedAt, s.ExitedAt, exitReason, priority(s.Priority))
	if err != nil {
		return fmt.Errorf("project participant: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return nil // an older snapshot arrived late; the newer one stays
	}
	if _, err := tx.Exec(ctx, `DELETE FROM deadlines WHERE participant_id = $1`, participantID); err != nil {
		return fmt.Errorf("project deadlines: %w", err)
	}
	rows := make([][]any, 0, len(s.Deadlines))
	for _, d := range s.Deadlines {
		due, err := time.Parse(time.DateOnly, d.DueDate)
		if err != nil {
			return fmt.Errorf("deadline %s: due date %q: %w", d.ID, d.DueDate, err)
		}
		rows = append(rows, []any{participantID, d.ID, d.Kind, due, d.DueAt, d.Status, d.MetAt, d.EscalationLevel, d.NextNoticeAt, s.NextNotices})
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"deadlines"},
		[]string{"participant_id", "deadline_id", "kind", "due_date", "due_at", "status", "met_at", "escalation_level", "next_notice_at", "next_notice_known"},
		pgx.CopyFromRows(rows))
	if err != nil {
		return fmt.Errorf("project deadlines: %w", err)
	}
	return nil
}

// Rebuild empties the read model and fills it again from the event table: for each
// participant, the snapshot of the latest event of their latest journey; and the
// reports' projection (report_journeys, report_deadlines), which a trigger keeps as
// events are written, is worked out again from every journey's events.
func (s *Store) Rebuild(ctx context.Context) (participants int, err error) {
	err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `TRUNCATE deadlines, participants`); err != nil {
			return fmt.Errorf("empty the read model: %w", err)
		}
		rows, err := tx.Query(ctx, `
			SELECT DISTINCT ON (participant_id) participant_id, journey_id, seq, snapshot
			FROM journey_events
			ORDER BY participant_id, referred_at DESC, journey_id DESC, seq DESC`)
		if err != nil {
			return fmt.Errorf("read journey events: %w", err)
		}
		type latest struct {
			participant, journey string
			seq                  int64
			snap                 activities.JourneySnapshot
		}
		var all []latest
		for rows.Next() {
			var l latest
			if err := rows.Scan(&l.participant, &l.journey, &l.seq, &l.snap); err != nil {
				rows.Close()
				return fmt.Errorf("read journey event: %w", err)
			}
			all = append(all, l)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, l := range all {
			if err := applySnapshot(ctx, tx, l.participant, l.journey, l.seq, l.snap); err != nil {
				return err
			}
		}
		participants = len(all)
		if _, err := tx.Exec(ctx, `TRUNCATE report_deadlines, report_journeys`); err != nil {
			return fmt.Errorf("empty the reports' projection: %w", err)
		}
		if _, err := tx.Exec(ctx, `SELECT report_refresh(ARRAY(SELECT DISTINCT journey_id FROM journey_events))`); err != nil {
			return fmt.Errorf("project journeys for the reports: %w", err)
		}
		return nil
	})
	return participants, err
}

func priority(p int) int {
	if p == 0 {
		return 2
	}
	return p
}
