package workflows

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// dailyAt is a schedule for hour:minute, Stockholm time, on the given days of the week
// (none: every day).
func dailyAt(hour, minute int, days ...client.ScheduleRange) client.ScheduleSpec {
	return client.ScheduleSpec{
		Calendars: []client.ScheduleCalendarSpec{{
			Hour: []client.ScheduleRange{{Start: hour}}, Minute: []client.ScheduleRange{{Start: minute}},
			DayOfWeek: days,
		}},
		TimeZoneName: "Europe/Stockholm",
	}
}

// ensureSchedule creates a Temporal Schedule, or brings an existing one to spec and
// action: every worker does it at start, so the one started last with a changed
// setting wins, and no schedule is ever doubled. what names it in an error.
func ensureSchedule(ctx context.Context, c client.Client, id, what string, spec client.ScheduleSpec, action func() *client.ScheduleWorkflowAction) error {
	_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{ID: id, Spec: spec, Action: action()})
	if err == nil {
		return nil
	}
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return fmt.Errorf("create the %s schedule: %w", what, err)
	}
	h := c.ScheduleClient().GetHandle(ctx, id)
	return h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
		s := in.Description.Schedule
		s.Spec = &spec
		s.Action = action()
		return &client.ScheduleUpdate{Schedule: &s}, nil
	}})
}
