package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	At            time.Time      `json:"at"`
	Actor         string         `json:"actor"`
	Action        string         `json:"action"`
	ParticipantID string         `json:"participantId,omitempty"`
	Outcome       string         `json:"outcome"`
	Detail        map[string]any `json:"detail,omitempty"`
	RequestID     string         `json:"requestId,omitempty"`
}

// Audit appends an entry to the audit log.
func (s *Store) Audit(ctx context.Context, e AuditEntry) error {
	detail, err := json.Marshal(e.Detail)
	if err != nil {
		return fmt.Errorf("audit detail: %w", err)
	}
	var participant *string
	if e.ParticipantID != "" {
		participant = &e.ParticipantID
	}
	_, err = s.Pool.Exec(ctx, `INSERT INTO audit_log (actor, action, participant_id, outcome, detail, request_id)
		VALUES ($1, $2, $3, $4, $5, $6)`, e.Actor, e.Action, participant, e.Outcome, detail, e.RequestID)
	if err != nil {
		return fmt.Errorf("write audit log: %w", err)
	}
	return nil
}

// AuditFor lists a participant's audit entries, oldest first.
func (s *Store) AuditFor(ctx context.Context, participantID string) ([]AuditEntry, error) {
	rows, err := s.Pool.Query(ctx, `SELECT at, actor, action, coalesce(participant_id, ''), outcome, detail, coalesce(request_id, '')
		FROM audit_log WHERE participant_id = $1 ORDER BY id`, participantID)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		if err := rows.Scan(&e.At, &e.Actor, &e.Action, &e.ParticipantID, &e.Outcome, &e.Detail, &e.RequestID); err != nil {
			return nil, fmt.Errorf("read audit entry: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
