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
			n.recipient_role, coalesce(n.recipient_id, ''), coalesce(st.email, ''), n.due_at, n.email_sent_at, n.webhook_sent_at
		FROM notifications n LEFT JOIN staff st ON st.staff_id = n.recipient_id AND st.active
		WHERE n.id = $1`, id).Scan(&d.ID, &d.Number, &d.ParticipantID, &d.Unit, &d.DeadlineID, &d.Kind, &d.Level,
		&d.RecipientRole, &d.RecipientID, &d.RecipientEmail, &d.DueAt, &d.EmailSentAt, &d.WebhookSentAt)
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
