package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/stegvis/stegvis/activities"
)

// DeliveryOf reads a notification by id, with its recipient's email from the org chart.
func (s *Store) DeliveryOf(ctx context.Context, id string) (activities.DeliveryInfo, error) {
	var d activities.DeliveryInfo
	err := s.Pool.QueryRow(ctx, `SELECT n.id, n.number, n.participant_id, n.unit, n.deadline_id, n.kind, n.level,
			n.recipient_role, coalesce(n.recipient_id, ''), coalesce(st.email, ''), n.due_at, n.email_sent_at, n.webhook_sent_at,
			coalesce(n.delivery_failure, '')
		FROM notifications n LEFT JOIN staff st ON st.staff_id = n.recipient_id AND st.active
		WHERE n.id = $1`, id).Scan(&d.ID, &d.Number, &d.ParticipantID, &d.Unit, &d.DeadlineID, &d.Kind, &d.Level,
		&d.RecipientRole, &d.RecipientID, &d.RecipientEmail, &d.DueAt, &d.EmailSentAt, &d.WebhookSentAt,
		&d.DeliveryFailure)
	if errors.Is(err, pgx.ErrNoRows) {
		return d, fmt.Errorf("notification %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return d, fmt.Errorf("read notification %s: %w", id, err)
	}
	return d, nil
}

// MarkDelivered records that a channel ("email" or "webhook") delivered a notification.
func (s *Store) MarkDelivered(ctx context.Context, id, channel string) error {
	col := map[string]string{"email": "email_sent_at", "webhook": "webhook_sent_at"}[channel]
	if col == "" {
		return fmt.Errorf("unknown channel %q", channel)
	}
	_, err := s.Pool.Exec(ctx, `UPDATE notifications SET `+col+` = coalesce(`+col+`, now()) WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("mark %s delivered: %w", channel, err)
	}
	return nil
}

// MarkDeliveryFailed records that a channel cannot deliver a notification: the first
// failure's time, and each channel's reason once ("email: SMTP 550 ...; webhook: ...").
func (s *Store) MarkDeliveryFailed(ctx context.Context, id, reason string) error {
	_, err := s.Pool.Exec(ctx, `UPDATE notifications SET delivery_failed_at = coalesce(delivery_failed_at, now()),
			delivery_failure = CASE WHEN delivery_failure IS NULL OR delivery_failure = '' THEN $2
			                        ELSE delivery_failure || '; ' || $2 END
		WHERE id = $1 AND (delivery_failure IS NULL OR strpos(delivery_failure, $2) = 0)`, id, reason)
	if err != nil {
		return fmt.Errorf("record delivery failure: %w", err)
	}
	return nil
}

// RecordJournalWriteFailure records a read-model write that failed for good. A journey
// whose state carries the bad text fails the same way on every write: those extend the
// open row's range of events instead of adding a row each.
func (s *Store) RecordJournalWriteFailure(ctx context.Context, f activities.JournalWriteFailure) error {
	var first, last *int64
	if f.LastSeq > 0 {
		first, last = &f.FirstSeq, &f.LastSeq
	}
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE journal_write_failures
			SET first_seq = least(first_seq, $3), last_seq = greatest(last_seq, $4)
			WHERE participant_id = $1 AND journey_id = $2 AND reason = $5 AND resolved_at IS NULL AND last_seq IS NOT NULL AND $4::bigint IS NOT NULL`,
			f.ParticipantID, f.JourneyID, first, last, f.Reason)
		if err != nil {
			return fmt.Errorf("record journal write failure: %w", err)
		}
		if tag.RowsAffected() > 0 {
			return nil
		}
		_, err = tx.Exec(ctx, `INSERT INTO journal_write_failures (participant_id, journey_id, first_seq, last_seq, reason)
			VALUES ($1, $2, $3, $4, $5)`, f.ParticipantID, f.JourneyID, first, last, f.Reason)
		if err != nil {
			return fmt.Errorf("record journal write failure: %w", err)
		}
		return nil
	})
}
