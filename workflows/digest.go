package workflows

import (
	"context"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/stegvis/stegvis/activities"
)

// Names of the daily digest.
const (
	DigestWorkflowType = "DailyDigest"
	DigestScheduleID   = "stegvis-daily-digest"
	digestWorkflowID   = "stegvis-daily-digest-run"
)

// DailyDigest sends the day's digests. A Temporal Schedule starts it every morning.
func DailyDigest(ctx workflow.Context) (activities.DigestResult, error) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 10 * time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Minute, MaximumAttempts: 20},
	})
	var res activities.DigestResult
	err := workflow.ExecuteActivity(actx, activities.SendDigestsName, workflow.Now(ctx)).Get(ctx, &res)
	return res, err
}

// EnsureDigestSchedule creates the schedule that sends the digests every working
// morning at hour:minute Stockholm time, or updates its time. It is safe to call from
// every worker at start.
func EnsureDigestSchedule(ctx context.Context, c client.Client, hour, minute int) error {
	return ensureSchedule(ctx, c, DigestScheduleID, "digest", dailyAt(hour, minute, client.ScheduleRange{Start: 1, End: 5}),
		func() *client.ScheduleWorkflowAction {
			return &client.ScheduleWorkflowAction{ID: digestWorkflowID, Workflow: DigestWorkflowType, TaskQueue: TaskQueue}
		})
}
