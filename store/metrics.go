package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stegvis/stegvis/metrics"
)

// ReadModelCounts counts the read model for the business metrics: participants' latest
// journeys by programme, unit and phase, and open deadlines by kind and escalation level
// with how many of them are due before now. Two aggregates over the read model in one
// snapshot; the collector asks at most once per METRICS_REFRESH.
func (s *Store) ReadModelCounts(ctx context.Context, now time.Time) (metrics.ReadModelCounts, error) {
	out := metrics.ReadModelCounts{Journeys: []metrics.JourneyCount{}, Deadlines: []metrics.DeadlineCount{}}
	// One repeatable-read snapshot: the journeys and the deadlines counted at one moment.
	tx, err := s.Pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return out, fmt.Errorf("count the read model: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	rows, err := tx.Query(ctx, `SELECT program_id, unit, phase, count(*) FROM participants GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`)
	if err != nil {
		return out, fmt.Errorf("count journeys: %w", err)
	}
	for rows.Next() {
		var j metrics.JourneyCount
		if err := rows.Scan(&j.Program, &j.Unit, &j.Phase, &j.N); err != nil {
			rows.Close()
			return out, fmt.Errorf("count journeys: %w", err)
		}
		out.Journeys = append(out.Journeys, j)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("count journeys: %w", err)
	}
	// Overdue as the managers' lists count it (participantFrom): due at or before now.
	rows, err = tx.Query(ctx, `
		SELECT kind, escalation_level, count(*), count(*) FILTER (WHERE due_at <= $1)
		FROM deadlines WHERE status = 'open' GROUP BY 1, 2 ORDER BY 1, 2`, now)
	if err != nil {
		return out, fmt.Errorf("count open deadlines: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var d metrics.DeadlineCount
		if err := rows.Scan(&d.Kind, &d.Level, &d.Open, &d.Overdue); err != nil {
			return out, fmt.Errorf("count open deadlines: %w", err)
		}
		out.Deadlines = append(out.Deadlines, d)
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("count open deadlines: %w", err)
	}
	rows.Close()
	if out.SelfCheck, err = selfCheckCounts(ctx, tx); err != nil {
		return out, err
	}
	return out, nil
}

// selfCheckCounts reads the self-check's unresolved findings by kind and when its
// recording run last ran.
func selfCheckCounts(ctx context.Context, tx pgx.Tx) (metrics.SelfCheckCounts, error) {
	out := metrics.SelfCheckCounts{Findings: map[string]int{}}
	rows, err := tx.Query(ctx, `SELECT kind, count(*) FROM self_check_findings WHERE resolved_at IS NULL GROUP BY 1`)
	if err != nil {
		return out, fmt.Errorf("count self-check findings: %w", err)
	}
	for rows.Next() {
		var kind string
		var n int
		if err := rows.Scan(&kind, &n); err != nil {
			rows.Close()
			return out, fmt.Errorf("count self-check findings: %w", err)
		}
		out.Findings[kind] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("count self-check findings: %w", err)
	}
	err = tx.QueryRow(ctx, `SELECT last_run_at, last_success_at FROM self_check_runs`).Scan(&out.LastRun, &out.LastSuccess)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return out, fmt.Errorf("read the self-check's last run: %w", err)
	}
	return out, nil
}
