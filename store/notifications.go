package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stegvis/stegvis/activities"
)

// InsertNotification writes a notification once; a second write with the same id is a
// no-op and reports inserted=false.
func (s *Store) InsertNotification(ctx context.Context, n activities.Notification) (bool, error) {
	var recipient *string
	if n.RecipientID != "" {
		recipient = &n.RecipientID
	}
	tag, err := s.Pool.Exec(ctx, `
		INSERT INTO notifications (id, participant_id, unit, deadline_id, deadline_kind, kind, level,
		                           recipient_role, recipient_id, due_at, planned_at, resolved_from)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		ON CONFLICT (id) DO NOTHING`,
		n.ID, n.ParticipantID, n.Unit, n.DeadlineID, n.DeadlineKind, string(n.Kind), n.Level,
		string(n.RecipientRole), recipient, n.DueAt, n.PlannedAt, nullable(n.ResolvedFrom))
	if err != nil {
		return false, fmt.Errorf("insert notification: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// NotificationsFor lists a participant's notifications, oldest first.
func (s *Store) NotificationsFor(ctx context.Context, participantID string) ([]activities.Notification, error) {
	rows, err := s.Pool.Query(ctx, `
		SELECT id, participant_id, unit, deadline_id, deadline_kind, kind, level,
		       recipient_role, coalesce(recipient_id, ''), due_at, planned_at
		FROM notifications WHERE participant_id = $1 ORDER BY planned_at, id`, participantID)
	if err != nil {
		return nil, fmt.Errorf("list notifications: %w", err)
	}
	defer rows.Close()
	var out []activities.Notification
	for rows.Next() {
		var n activities.Notification
		if err := rows.Scan(&n.ID, &n.ParticipantID, &n.Unit, &n.DeadlineID, &n.DeadlineKind, &n.Kind, &n.Level,
			&n.RecipientRole, &n.RecipientID, &n.DueAt, &n.PlannedAt); err != nil {
			return nil, fmt.Errorf("read notification: %w", err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// InboxItem is a notification in someone's inbox.
type InboxItem struct {
	Number        int64      `json:"number"`
	ParticipantID string     `json:"participantId"`
	Unit          string     `json:"unit"`
	DeadlineID    string     `json:"deadlineId"`
	Kind          string     `json:"kind"`
	Level         int        `json:"level"`
	RecipientRole string     `json:"recipientRole"`
	RecipientID   string     `json:"recipientId"`
	DueAt         time.Time  `json:"dueAt"`
	CreatedAt     time.Time  `json:"createdAt"`
	ReadAt        *time.Time `json:"readAt,omitempty"`
	// Message says what is wrong and what to do, for a self-check finding (kind
	// self_check, deadlineId its finding kind); other notices have none.
	Message string `json:"message,omitempty"`
	// DeliveryFailed is set when a channel could not deliver the notification for good
	// (DeliveryFailure says which and why, without personal data) until an admin marks
	// it handled.
	DeliveryFailed    bool       `json:"deliveryFailed,omitempty"`
	DeliveryFailedAt  *time.Time `json:"deliveryFailedAt,omitempty"`
	DeliveryFailure   string     `json:"deliveryFailure,omitempty"`
	DeliveryHandledAt *time.Time `json:"deliveryHandledAt,omitempty"`
	DeliveryHandledBy string     `json:"deliveryHandledBy,omitempty"`
}

const inboxColumns = `number, participant_id, unit, deadline_id, kind, level, recipient_role, coalesce(recipient_id, ''), due_at, created_at, read_at,
	coalesce(message, ''), delivery_failed_at, coalesce(delivery_failure, ''), delivery_handled_at, coalesce(delivery_handled_by, '')`

func scanInbox(r pgx.CollectableRow) (InboxItem, error) {
	var it InboxItem
	err := r.Scan(&it.Number, &it.ParticipantID, &it.Unit, &it.DeadlineID, &it.Kind, &it.Level, &it.RecipientRole,
		&it.RecipientID, &it.DueAt, &it.CreatedAt, &it.ReadAt,
		&it.Message, &it.DeliveryFailedAt, &it.DeliveryFailure, &it.DeliveryHandledAt, &it.DeliveryHandledBy)
	it.DeliveryFailed = it.DeliveryFailedAt != nil
	return it, err
}

// Inbox lists a person's notifications, newest first.
func (s *Store) Inbox(ctx context.Context, recipient string, unreadOnly bool, limit int) ([]InboxItem, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+inboxColumns+`
		FROM notifications WHERE recipient_id = $1 AND (NOT $2 OR read_at IS NULL)
		ORDER BY created_at DESC, number DESC LIMIT $3`, recipient, unreadOnly, limit)
	if err != nil {
		return nil, fmt.Errorf("read inbox: %w", err)
	}
	return pgx.CollectRows(rows, scanInbox)
}

// RoleInbox lists, newest first, the notifications addressed to whoever holds a role
// rather than to a person: the self-check's findings for the admins, who are not in
// the org chart. Any admin reads and marks them.
func (s *Store) RoleInbox(ctx context.Context, role string, unreadOnly bool, limit int) ([]InboxItem, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+inboxColumns+`
		FROM notifications WHERE recipient_role = $1 AND recipient_id IS NULL AND kind = 'self_check' AND (NOT $2 OR read_at IS NULL)
		ORDER BY created_at DESC, number DESC LIMIT $3`, role, unreadOnly, limit)
	if err != nil {
		return nil, fmt.Errorf("read the %s inbox: %w", role, err)
	}
	return pgx.CollectRows(rows, scanInbox)
}

// MarkReadForRole marks a notification of a role's inbox (RoleInbox) as read.
// ErrNotFound when the role's inbox has no such notification.
func (s *Store) MarkReadForRole(ctx context.Context, number int64, role string) (InboxItem, error) {
	return s.markRead(ctx, `number = $1 AND recipient_role = $2 AND recipient_id IS NULL AND kind = 'self_check'`, number, role)
}

// MarkRead marks a notification as read by its recipient; reading it again keeps the
// first time. ErrNotFound when the recipient has no such notification.
func (s *Store) MarkRead(ctx context.Context, number int64, recipient string) (InboxItem, error) {
	return s.markRead(ctx, `number = $1 AND recipient_id = $2`, number, recipient)
}

// markRead marks the one notification where selects (number $1, whose inbox $2) as read.
func (s *Store) markRead(ctx context.Context, where string, number int64, whose string) (InboxItem, error) {
	rows, err := s.Pool.Query(ctx, `UPDATE notifications SET read_at = coalesce(read_at, now())
		WHERE `+where+` RETURNING `+inboxColumns, number, whose)
	if err != nil {
		return InboxItem{}, fmt.Errorf("mark read: %w", err)
	}
	it, err := pgx.CollectExactlyOneRow(rows, scanInbox)
	if errors.Is(err, pgx.ErrNoRows) {
		return InboxItem{}, ErrNotFound
	}
	if err != nil {
		return InboxItem{}, fmt.Errorf("mark read: %w", err)
	}
	return it, nil
}

// ErrNoDeliveryFailure: the notification has a recipient and was delivered or is still
// being delivered, so there is nothing to mark handled.
var ErrNoDeliveryFailure = errors.New("the notification has no delivery failure")

// MarkDeliveryHandled records that an admin has handled a notification that reached
// nobody: its delivery failed for good (told the person another way, fixed the
// address), or it was written without a recipient (followed up by hand, the role filled
// in the org chart). Marking it again keeps the first time. ErrNotFound when there is
// no such notification, ErrNoDeliveryFailure when it reached its recipient.
func (s *Store) MarkDeliveryHandled(ctx context.Context, number int64, by string) (InboxItem, error) {
	rows, err := s.Pool.Query(ctx, `UPDATE notifications SET delivery_handled_at = coalesce(delivery_handled_at, now()),
			delivery_handled_by = coalesce(delivery_handled_by, $2)
		WHERE number = $1 AND kind <> 'self_check' AND (delivery_failed_at IS NOT NULL OR recipient_id IS NULL)
		RETURNING `+inboxColumns, number, by)
	if err != nil {
		return InboxItem{}, fmt.Errorf("mark delivery handled: %w", err)
	}
	it, err := pgx.CollectExactlyOneRow(rows, scanInbox)
	if errors.Is(err, pgx.ErrNoRows) {
		var exists bool
		if err := s.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM notifications WHERE number = $1)`, number).Scan(&exists); err != nil {
			return InboxItem{}, fmt.Errorf("mark delivery handled: %w", err)
		}
		if exists {
			return InboxItem{}, ErrNoDeliveryFailure
		}
		return InboxItem{}, ErrNotFound
	}
	if err != nil {
		return InboxItem{}, fmt.Errorf("mark delivery handled: %w", err)
	}
	return it, nil
}
