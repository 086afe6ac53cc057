package workflows

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/stegvis/stegvis/activities"
)

// Names of the daily self-check, which proves every journey alive (issue 13).
const (
	// SelfCheckWorkflowType is the registered name of SelfCheckWorkflow.
	SelfCheckWorkflowType = "SelfCheck"
	// SelfCheckScheduleID is the Temporal Schedule that starts it every morning.
	SelfCheckScheduleID = "stegvis-self-check"
	// SelfCheckWorkflowID is the workflow ID of the runs the schedule starts.
	SelfCheckWorkflowID = "stegvis-self-check-run"
)

// SelfCheckWorkflow runs the self-check as one activity: it compares the read model
// with the running journeys and the org chart, and notifies the unit managers (admins
// for what belongs to no unit) of what it finds. A Temporal Schedule starts it daily.
func SelfCheckWorkflow(ctx workflow.Context) (activities.SelfCheckSummary, error) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		// It queries every running journey, eight at a time: minutes for tens of
		// thousands. The heartbeat notices a worker that died half-way.
		StartToCloseTimeout: 30 * time.Minute,
		HeartbeatTimeout:    2 * time.Minute,
		// A few attempts, not many: the next morning's run comes anyway, and a check
		// that keeps failing shows in stegvis_self_check_last_success_timestamp_seconds.
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 30 * time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Minute, MaximumAttempts: 5},
	})
	var res activities.SelfCheckSummary
	if err := workflow.ExecuteActivity(actx, activities.RunSelfCheckName).Get(ctx, &res); err != nil {
		return res, err
	}
	workflow.GetLogger(ctx).Info("self-check done", "findings", res.Findings, "notified", res.Notified)
	return res, nil
}

// EnsureSelfCheckSchedule creates the schedule that runs the self-check every day at
// hour:minute Stockholm time, or updates its time. It is safe to call from every
// worker at start.
func EnsureSelfCheckSchedule(ctx context.Context, c client.Client, hour, minute int) error {
	if hour < 0 || hour > 23 || minute < 0 || minute > 59 {
		return fmt.Errorf("self-check time %02d:%02d: not a time of day", hour, minute)
	}
	return ensureSchedule(ctx, c, SelfCheckScheduleID, "self-check", dailyAt(hour, minute), func() *client.ScheduleWorkflowAction {
		return &client.ScheduleWorkflowAction{ID: SelfCheckWorkflowID, Workflow: SelfCheckWorkflowType, TaskQueue: TaskQueue}
	})
}
