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
	spec := client.ScheduleSpec{
		Calendars: []client.ScheduleCalendarSpec{{
			Hour: []client.ScheduleRange{{Start: hour}}, Minute: []client.ScheduleRange{{Start: minute}},
			DayOfWeek: []client.ScheduleRange{{Start: 1, End: 5}},
		}},
		TimeZoneName: "Europe/Stockholm",
	}
	_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:   DigestScheduleID,
		Spec: spec,
		Action: &client.ScheduleWorkflowAction{
			ID: digestWorkflowID, Workflow: DigestWorkflowType, TaskQueue: TaskQueue,
		},
	})
	if err == nil {
		return nil
	}
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return fmt.Errorf("create the digest schedule: %w", err)
	}
	h := c.ScheduleClient().GetHandle(ctx, DigestScheduleID)
	return h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
		s := in.Description.Schedule
		s.Spec = &spec
		return &client.ScheduleUpdate{Schedule: &s}, nil
	}})
}
