package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stegvis/stegvis/api"
)

// stormProgram is the plain-duration programme of the open-journeys and storm rows:
// every journey referred at the same instant has its reminder due at the same instant
// as all the others.
const stormProgram = "bench-storm"

// stormTimes: the reminder comes once every journey has been started and set up,
// which on two cores takes 20–40 ms a journey (BENCHMARKS.md). The deadline itself,
// and its escalations, come an hour after the reminder, after the run: a journey that
// acts on its reminder only once the deadline has passed skips it as stale, by design,
// so a deadline close behind would turn a slow storm into skipped reminders instead of
// late ones (the first full run, 2026-11-24, recorded 561 of 10,000 reminders with the
// deadline 15 s behind). Escalations are measured, exactly once, by the end-to-end test.
func stormTimes(open int) (within, remindBefore, esc1, esc2 time.Duration) {
	remindAt := max(25*time.Second, time.Duration(open)*40*time.Millisecond).Round(time.Second)
	return remindAt + time.Hour, time.Hour, 5 * time.Second, 10 * time.Second
}

func writeStormProgram(dir string, open int) error {
	within, before, e1, e2 := stormTimes(open)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	y := fmt.Sprintf(`id: %s
version: 1
name: "Bench: every deadline due at one instant"
source: "not a real programme; make bench's reminder storm"
deadlines:
  plan:
    within: %s
    remindBefore: %s
    escalations:
      - { after: %s, to: team_lead }
      - { after: %s, to: unit_manager }
`, stormProgram, within, before, e1, e2)
	return os.WriteFile(filepath.Join(dir, stormProgram+".yaml"), []byte(y), 0o644)
}

// wave is one rung of the storm: every journey's notice of one kind and level.
type wave struct {
	kind    string
	level   int
	planned time.Time
	label   string
}

// benchStorm starts c.open journeys through the API, all referred at one instant, reads
// the processes' memory and the databases' sizes, then waits for the storm: each
// journey's reminder, due at the same instant for all.
// A notice counts when its row is in the notifications table, which is the inbox the
// API serves (GET /v1/notifications); its lateness is created_at − planned_at.
func benchStorm(ctx context.Context, e *env, c config) ([]Row, error) {
	within, before, _, _ := stormTimes(c.open)
	t0 := time.Now().Truncate(time.Second)
	prefix := fmt.Sprintf("bs-%s-", e.runID)
	start := func(i int) error {
		return e.call(ctx, http.MethodPost, "/v1/participants", e.system, api.StartRequest{
			ParticipantID: fmt.Sprintf("%s%d", prefix, i), ProgramID: stormProgram, Unit: benchUnit,
			ReferredAt: t0.Format(time.RFC3339), GuideID: benchGuide,
		}, http.StatusCreated)
	}
	lat, wall, failed, err := pool(c.open, c.concurrency, c.maxErr(c.open), start)
	if err != nil {
		return nil, err
	}
	started := len(lat)
	what := fmt.Sprintf("%d open journeys", c.open)
	rows := []Row{
		row(what, "time to start them all through the API", "s", wall.Seconds(), nil, c.open, ""),
		row(what, "starts/s", "/s", float64(started)/wall.Seconds(), nil, c.open, ""),
		row(what, "failed starts", "", float64(failed), nil, c.open, "< 1"),
	}
	// Memory once they all run (their first tasks done, timers set).
	n, err := waitProjected(ctx, e, []string{prefix}, started)
	if err != nil {
		return nil, err
	}
	rows = append(rows, row(what, "time until all are set up (first task run, in the read model)", "s", time.Since(t0).Seconds(), nil, n, ""))
	for _, p := range []*proc{e.worker, e.api} {
		now, _, err := p.rss()
		if err != nil {
			return nil, err
		}
		rows = append(rows, row(what, p.name+" RSS", "MiB", now, nil, c.open, ""))
	}

	waves := []wave{{"reminder", 0, t0.Add(within - before), "reminders"}}
	if wall > within-before {
		fmt.Fprintf(os.Stderr, "  warning: starting took %.0f s, longer than the %.0f s before the reminders: the first journeys' reminders came due before the last ones started\n",
			wall.Seconds(), (within - before).Seconds())
	}
	storm := fmt.Sprintf("reminder storm: %d deadlines due at one instant", started)
	deadline := waves[len(waves)-1].planned.Add(10 * time.Minute)
	for _, w := range waves {
		got, err := waitWave(ctx, e, prefix, w, started, deadline)
		if err != nil {
			return nil, err
		}
		if got.count < started {
			if c.small {
				return nil, fmt.Errorf("%s: %d of %d recorded by %s", w.label, got.count, started, deadline.Format(time.TimeOnly))
			}
			rows = append(rows, row(storm, w.label+": recorded within 10 min", "", float64(got.count), nil, started, ""))
			continue
		}
		rows = append(rows,
			row(storm, w.label+": all recorded, seconds after the instant", "s", got.last.Sub(w.planned).Seconds(), nil, started, "< 60"),
			row(storm, w.label+": timer lateness p50", "ms", got.p50, nil, started, ""),
			row(storm, w.label+": timer lateness p99", "ms", got.p99, nil, started, ""),
			row(storm, w.label+": recorded twice", "", float64(got.count-got.distinct), nil, started, "< 1"),
		)
	}
	for _, p := range []*proc{e.worker, e.api} {
		_, peak, err := p.rss()
		if err != nil {
			return nil, err
		}
		rows = append(rows, row(what, p.name+" peak RSS (through the storm)", "MiB", peak, nil, c.open, ""))
	}
	ts, err := e.temporalSize(ctx)
	if err != nil {
		return nil, err
	}
	var pg int64
	if err := e.st.Pool.QueryRow(ctx, "SELECT pg_database_size(current_database())").Scan(&pg); err != nil {
		return nil, err
	}
	rows = append(rows,
		row(what, "Temporal database size (all journeys of the run)", "MiB", ts, nil, c.open, ""),
		row(what, "stegvis PostgreSQL size (before the read-model seed)", "MiB", float64(pg)/(1<<20), nil, c.open, ""))
	return rows, nil
}

type waveResult struct {
	count, distinct int
	last            time.Time
	p50, p99        float64
}

func waitWave(ctx context.Context, e *env, prefix string, w wave, want int, deadline time.Time) (waveResult, error) {
	const q = `SELECT count(*), count(DISTINCT participant_id), coalesce(max(created_at), now()),
	       coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM created_at - planned_at)), 0) * 1000,
	       coalesce(percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM created_at - planned_at)), 0) * 1000
	  FROM notifications WHERE participant_id LIKE $1 AND kind = $2 AND level = $3`
	for {
		var r waveResult
		if err := e.st.Pool.QueryRow(ctx, q, strings.ReplaceAll(prefix, "_", `\_`)+"%", w.kind, w.level).
			Scan(&r.count, &r.distinct, &r.last, &r.p50, &r.p99); err != nil {
			return r, fmt.Errorf("count %s: %w", w.label, err)
		}
		if r.count >= want || time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "  %s: %d recorded\n", w.label, r.count)
			return r, nil
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// temporalSize is the disk the Temporal server uses: its SQLite files (with their
// write-ahead logs), or its two PostgreSQL databases.
func temporalSize(ctx context.Context, e *env, dir, pgURL string) (float64, error) {
	if pgURL == "" {
		var total int64
		for _, pat := range []string{"temporal.db*", "visibility.db*"} {
			files, _ := filepath.Glob(filepath.Join(dir, pat))
			for _, f := range files {
				if fi, err := os.Stat(f); err == nil {
					total += fi.Size()
				}
			}
		}
		return float64(total) / (1 << 20), nil
	}
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var n int64
	name := strings.TrimPrefix(conn.Config().Database, "/")
	err = conn.QueryRow(ctx, "SELECT pg_database_size($1) + pg_database_size($1 || '_visibility')", name).Scan(&n)
	return float64(n) / (1 << 20), err
}
