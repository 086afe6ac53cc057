package workflows

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/stegvis/stegvis/activities"
	"github.com/stegvis/stegvis/calendar"
	"github.com/stegvis/stegvis/program"
)

const (
	// retentionBatch is how many participants one EraseExpired call handles.
	retentionBatch = 200
	// retentionMaxRounds bounds one run; whatever is left waits for the next night.
	retentionMaxRounds = 50
)

// RetentionInput says how long personal data is kept after a participant's exit.
type RetentionInput struct {
	// After is the retention period: days, weeks or months ("24 months"), or an exact
	// duration for demos and tests ("10m"). Working days are not accepted.
	After program.Span `json:"after"`
}

// RetentionResult is what a retention run did.
type RetentionResult struct {
	// Cutoff is the exit time before which personal data was erased.
	Cutoff  time.Time `json:"cutoff"`
	Erased  int       `json:"erased"`
	Skipped int       `json:"skipped,omitempty"` // journeys still running
	Rounds  int       `json:"rounds"`
	// More says that the run stopped at its bound with more left for the next run.
	More bool `json:"more,omitempty"`
}

// CheckRetention says what is wrong with a retention period, or nil.
func CheckRetention(after program.Span) error {
	switch after.Unit {
	case program.Days, program.Weeks, program.Months:
		if after.N <= 0 {
			return fmt.Errorf("retention period %q: must be longer than zero", after)
		}
	case program.Exact:
		if after.Duration <= 0 {
			return fmt.Errorf("retention period %q: must be longer than zero", after)
		}
	case program.Workdays:
		return fmt.Errorf("retention period %q: count it in days, weeks or months, not working days", after)
	case "":
		return errors.New("no retention period: set one such as \"24 months\"")
	default:
		return fmt.Errorf("retention period: unknown unit %q", after.Unit)
	}
	return nil
}

// RetentionCutoff is the exit time before which personal data is due for erasure at
// now: now minus the period; for a calendar period, Stockholm midnight of that day, so
// a participant is erased on the first run after the whole period has passed.
func RetentionCutoff(now time.Time, after program.Span) (time.Time, error) {
	if err := CheckRetention(after); err != nil {
		return time.Time{}, err
	}
	// Days, weeks and months need only the time zone, never the holiday list, so the
	// result is the same on every replay. (program.Span.AddDate would do the same, but
	// it can reach the holiday list for working days.)
	switch after.Unit {
	case program.Days:
		return calendar.AddDays(now, -after.N), nil
	case program.Weeks:
		return calendar.AddDays(now, -7*after.N), nil
	case program.Months:
		// Clamp to the month's last day, as program.Span.AddDate does: a month before
		// 31 March is 28 (or 29) February.
		d := calendar.Date(now)
		first := time.Date(d.Year(), d.Month()-time.Month(after.N), 1, 0, 0, 0, 0, calendar.Stockholm)
		last := first.AddDate(0, 1, -1).Day()
		return time.Date(first.Year(), first.Month(), min(d.Day(), last), 0, 0, 0, 0, calendar.Stockholm), nil
	}
	return now.Add(-after.Duration), nil // exact
}

// RetentionWorkflow erases the personal data and free text of every participant whose
// exit lies longer ago than the retention period, in batches, and returns how many it
// erased. The pseudonymised statistics stay. A Temporal Schedule starts it every night.
func RetentionWorkflow(ctx workflow.Context, in RetentionInput) (RetentionResult, error) {
	cutoff, err := RetentionCutoff(workflow.Now(ctx), in.After)
	if err != nil {
		return RetentionResult{}, temporal.NewNonRetryableApplicationError(err.Error(), "InvalidRetention", nil)
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Minute,
		HeartbeatTimeout:    2 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 10 * time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Minute, MaximumAttempts: 10},
	})
	res := RetentionResult{Cutoff: cutoff}
	for res.Rounds < retentionMaxRounds {
		var r activities.EraseResult
		err := workflow.ExecuteActivity(actx, activities.EraseExpiredName,
			activities.EraseInput{ExitedBefore: cutoff, Limit: retentionBatch}).Get(ctx, &r)
		if err != nil {
			return res, err
		}
		res.Rounds++
		res.Erased += r.Erased
		res.Skipped += r.Skipped
		res.More = r.More
		if !r.More {
			break
		}
	}
	workflow.GetLogger(ctx).Info("retention run done", "erased", res.Erased, "skipped", res.Skipped,
		"rounds", res.Rounds, "more", res.More)
	return res, nil
}

// EnsureRetentionSchedule creates the schedule that runs the retention workflow every
// day at hour:minute Stockholm time, erasing personal data the period after (as
// program.ParseSpan reads it, e.g. "24 months") after an exit, or updates its time and
// period. It is safe to call from every worker at start.
func EnsureRetentionSchedule(ctx context.Context, c client.Client, hour, minute int, after string) error {
	if hour < 0 || hour > 23 || minute < 0 || minute > 59 {
		return fmt.Errorf("retention time %02d:%02d: not a time of day", hour, minute)
	}
	span, err := program.ParseSpan(after)
	if err != nil {
		return fmt.Errorf("retention period: %w", err)
	}
	if err := CheckRetention(span); err != nil {
		return err
	}
	return ensureSchedule(ctx, c, RetentionScheduleID, "retention", dailyAt(hour, minute), func() *client.ScheduleWorkflowAction {
		return &client.ScheduleWorkflowAction{
			ID: RetentionWorkflowID, Workflow: RetentionWorkflowType, TaskQueue: TaskQueue,
			Args: []any{RetentionInput{After: span}},
		}
	})
}
