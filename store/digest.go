package store

import (
	"context"
	"fmt"
	"time"

	"github.com/stegvis/stegvis/activities"
)

// Digests collects, for every active staff member with an email address, what is due
// today or overdue among the participants they guide, and the reminders addressed to
// them that no digest has carried yet.
func (s *Store) Digests(ctx context.Context, endOfDay time.Time) ([]activities.Digest, error) {
	var out []activities.Digest
	rows, err := s.Pool.Query(ctx, `
		SELECT st.staff_id, st.email, 'deadline', p.participant_id, d.deadline_id,
		       to_char(d.due_date, 'YYYY-MM-DD'), d.due_at < now(), 0::bigint
		FROM staff st JOIN participants p ON p.guide_id = st.staff_id
		JOIN deadlines d ON d.participant_id = p.participant_id AND d.status = 'open' AND d.due_at <= $1
		WHERE st.active AND coalesce(st.email, '') <> '' AND p.phase NOT IN ('exited', 'paused')
		UNION ALL
		SELECT st.staff_id, st.email, 'reminder', n.participant_id, n.deadline_id,
		       to_char(n.due_at AT TIME ZONE 'Europe/Stockholm', 'YYYY-MM-DD'), false, n.number
		FROM staff st JOIN notifications n ON n.recipient_id = st.staff_id
		WHERE st.active AND coalesce(st.email, '') <> '' AND n.kind IN ('reminder', 'due') AND n.digest_sent_at IS NULL
		ORDER BY 1, 3, 6, 4`, endOfDay)
	if err != nil {
		return nil, fmt.Errorf("collect digests: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var staffID, email, what string
		var it activities.DigestItem
		if err := rows.Scan(&staffID, &email, &what, &it.ParticipantID, &it.DeadlineID, &it.DueDate, &it.Overdue, &it.Number); err != nil {
			return nil, fmt.Errorf("read digest item: %w", err)
		}
		if len(out) == 0 || out[len(out)-1].StaffID != staffID {
			out = append(out, activities.Digest{StaffID: staffID, Email: email})
		}
		d := &out[len(out)-1]
		if what == "reminder" {
			d.Reminders = append(d.Reminders, it)
		} else {
			d.Deadlines = append(d.Deadlines, it)
		}
	}
	return out, rows.Err()
}

// MarkDigested records that these reminders went out in a digest.
func (s *Store) MarkDigested(ctx context.Context, numbers []int64) error {
	if len(numbers) == 0 {
		return nil
	}
	_, err := s.Pool.Exec(ctx, `UPDATE notifications SET digest_sent_at = now() WHERE number = ANY($1) AND digest_sent_at IS NULL`, numbers)
	if err != nil {
		return fmt.Errorf("mark digested: %w", err)
	}
	return nil
}
