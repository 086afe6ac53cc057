package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/stegvis/stegvis/api"
	"github.com/stegvis/stegvis/program"
	"github.com/stegvis/stegvis/workflows"
)

const (
	// Working days: nothing of these journeys comes due while the bench runs, so the
	// start and Update rows measure the round trips, not a worker busy with notices.
	benchProgram = "jobbgaranti"
	benchUnit    = "arbetsmarknad"
	benchGuide   = "g-anna"
)

// call sends one API request and fails on any status but want. In the small run a
// 503 (the engine did not answer in time: a slow machine, not a bug) is retried a few
// times, so that make test never fails on timings.
func (e *env) call(ctx context.Context, method, path, token string, body any, want int) error {
	for attempt := 1; ; attempt++ {
		err := e.call1(ctx, method, path, token, body, want)
		var unavailable errUnavailable
		if !e.retry503 || attempt == 5 || !errors.As(err, &unavailable) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt) * time.Second):
		}
	}
}

type errUnavailable struct{ error }

func (e *env) call1(ctx context.Context, method, path, token string, body any, want int) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		if resp.StatusCode == http.StatusServiceUnavailable {
			return errUnavailable{fmt.Errorf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, bytes.TrimSpace(b))}
		}
		return fmt.Errorf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, bytes.TrimSpace(b))
	}
	return nil
}

// benchStarts starts N journeys through the API and N through the raw SDK, same
// workflow, same server, same concurrency; the raw ones go first and second in turn
// in two halves, so that neither side always meets the fuller database.
func benchStarts(ctx context.Context, e *env, c config) (apiIDs, rawIDs []string, rows []Row, err error) {
	prog, ok := program.Lookup(benchProgram)
	if !ok {
		return nil, nil, nil, fmt.Errorf("programme %q is not shipped", benchProgram)
	}
	today := time.Now().Format(time.DateOnly)
	referred, _ := time.ParseInLocation(time.DateOnly, today, time.Local)
	apiIDs = make([]string, c.journeys)
	rawIDs = make([]string, c.journeys)
	for i := range c.journeys {
		apiIDs[i] = fmt.Sprintf("ba-%s-%d", e.runID, i)
		rawIDs[i] = fmt.Sprintf("br-%s-%d", e.runID, i)
	}
	viaAPI := func(i int) error {
		return e.call(ctx, http.MethodPost, "/v1/participants", e.system, api.StartRequest{
			ParticipantID: apiIDs[i], ProgramID: benchProgram, Unit: benchUnit, ReferredAt: today, GuideID: benchGuide,
		}, http.StatusCreated)
	}
	raw := func(i int) error {
		start := workflows.StartJourney{ParticipantID: rawIDs[i], ProgramID: benchProgram, Unit: benchUnit, ReferredAt: referred, GuideID: benchGuide}
		_, err := e.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: workflows.JourneyWorkflowID(rawIDs[i]), TaskQueue: workflows.TaskQueue, WorkflowExecutionErrorWhenAlreadyStarted: true,
		}, workflows.JourneyWorkflowType, workflows.JourneyInput{Start: start, Program: prog, Index: true})
		return err
	}
	half := c.journeys / 2
	first := time.Now()
	var apiLat, rawLat []time.Duration
	var apiWall, rawWall time.Duration
	var apiFailed, rawFailed int
	okAPI := make([]bool, c.journeys)
	for _, part := range [][2]int{{0, half}, {half, c.journeys}} {
		lo, hi := part[0], part[1]
		order := []bool{true, false} // api first in the first half, raw first in the second
		if lo > 0 {
			order = []bool{false, true}
		}
		for _, isAPI := range order {
			f := raw
			if isAPI {
				f = func(i int) error {
					err := viaAPI(i)
					okAPI[i] = err == nil
					return err
				}
			}
			lat, wall, failed, err := pool(hi-lo, c.concurrency, c.maxErr(hi-lo), func(i int) error { return f(lo + i) })
			if err != nil {
				return nil, nil, nil, err
			}
			if isAPI {
				apiLat, apiWall, apiFailed = append(apiLat, lat...), apiWall+wall, apiFailed+failed
			} else {
				rawLat, rawWall, rawFailed = append(rawLat, lat...), rawWall+wall, rawFailed+failed
			}
		}
	}
	// Only the starts that were answered with 201 count.
	apiRate := float64(len(apiLat)) / apiWall.Seconds()
	rawRate := float64(len(rawLat)) / rawWall.Seconds()
	var started []string
	for i, ok := range okAPI {
		if ok {
			started = append(started, apiIDs[i])
		}
	}
	apiIDs = started
	// A start is answered once Temporal has it; the journey's first task (deadlines,
	// search attributes, the read model) runs after. Wait for all of them, so the next
	// rows do not measure this backlog, and say how fast the whole took.
	n, err := waitProjected(ctx, e, []string{"ba-" + e.runID + "-", "br-" + e.runID + "-"}, len(started)+len(rawLat))
	if err != nil {
		return nil, nil, nil, err
	}
	processed := time.Since(first)
	const what = "journey starts through the API"
	rows = []Row{
		row(what, "starts/s", "/s", apiRate, ptr(rawRate), c.journeys, "≥ 200"),
		row(what, "throughput vs raw SDK", "/s", apiRate, ptr(rawRate), c.journeys, "≥ 0.85×"),
		row(what, "p50 latency", "ms", pct(apiLat, 50), ptr(pct(rawLat, 50)), c.journeys, ""),
		row(what, "p99 latency", "ms", pct(apiLat, 99), ptr(pct(rawLat, 99)), c.journeys, ""),
		row(what, "failed starts (5xx/timeouts)", "", float64(apiFailed), ptr(float64(rawFailed)), c.journeys, "< 1"),
		row("journeys set up end to end (API and raw together)", "first task run and in the read model, per second", "/s",
			float64(n)/processed.Seconds(), nil, n, ""),
	}
	return apiIDs, rawIDs, rows, nil
}

// benchMeetings records a held first meeting on M API-started journeys through the
// API, and the same Update through the raw SDK on M raw-started ones.
func benchMeetings(ctx context.Context, e *env, c config, apiIDs, rawIDs []string) ([]Row, error) {
	viaAPI := func(i int) error {
		return e.call(ctx, http.MethodPost, "/v1/participants/"+apiIDs[i]+"/meetings", e.guide, api.MeetingRequest{
			Kind: "first_meeting", Outcome: "held", OccurredAt: time.Now().Format(time.RFC3339), Participants: []string{"participant", "guide"},
		}, http.StatusOK)
	}
	raw := func(i int) error {
		h, err := e.tc.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID: workflows.JourneyWorkflowID(rawIDs[i]), UpdateName: workflows.UpdateRecordMeeting,
			Args: []any{workflows.Meeting{Kind: "first_meeting", Outcome: "held", OccurredAt: time.Now().Truncate(time.Second),
				Participants: []string{"participant", "guide"}}},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err != nil {
			return err
		}
		var st workflows.JourneyState
		return h.Get(ctx, &st)
	}
	apiLat, _, apiFailed, err := pool(len(apiIDs), c.concurrency, c.maxErr(len(apiIDs)), viaAPI)
	if err != nil {
		return nil, err
	}
	rawLat, _, rawFailed, err := pool(len(rawIDs), c.concurrency, c.maxErr(len(rawIDs)), raw)
	if err != nil {
		return nil, err
	}
	const what = "meeting recorded through the API (Update round trip)"
	return []Row{
		row(what, "p50", "ms", pct(apiLat, 50), ptr(pct(rawLat, 50)), len(apiIDs), ""),
		row(what, "p99", "ms", pct(apiLat, 99), ptr(pct(rawLat, 99)), len(apiIDs), "< 100"),
		row(what, "failed Updates", "", float64(apiFailed), ptr(float64(rawFailed)), len(apiIDs), "< 1"),
	}, nil
}

// waitProjected waits until the read model has want participants whose ids start with
// one of the prefixes: their journeys' first tasks have run. It gives up after 30 min.
func waitProjected(ctx context.Context, e *env, prefixes []string, want int) (int, error) {
	like := make([]string, len(prefixes))
	for i, p := range prefixes {
		like[i] = strings.ReplaceAll(p, "_", `\_`) + "%"
	}
	deadline := time.Now().Add(30 * time.Minute)
	for {
		var n int
		if err := e.st.Pool.QueryRow(ctx, "SELECT count(*) FROM participants WHERE participant_id LIKE ANY($1)", like).Scan(&n); err != nil {
			return n, fmt.Errorf("count projected journeys: %w", err)
		}
		if n >= want {
			return n, nil
		}
		if time.Now().After(deadline) {
			return n, fmt.Errorf("only %d of %d journeys reached the read model within 30 min", n, want)
		}
		select {
		case <-ctx.Done():
			return n, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
