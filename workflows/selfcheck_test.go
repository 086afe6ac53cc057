package workflows

import (
	"context"
	"sync/atomic"
	"testing"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.temporal.io/server/temporaltest"

	"github.com/stegvis/stegvis/activities"
)

// countingSelfCheck counts the runs of RunSelfCheck.
type countingSelfCheck struct{ runs atomic.Int32 }

func (f *countingSelfCheck) RunSelfCheck(context.Context) (activities.SelfCheckSummary, error) {
	f.runs.Add(1)
	return activities.SelfCheckSummary{}, nil
}

// The self-check's schedule is created once and updated in place: a changed time takes
// effect, every day of the week, and a triggered run runs the check.
func TestEnsureSelfCheckScheduleCreatesThenUpdatesTheDailyRun(t *testing.T) {
	ts := temporaltest.NewServer(temporaltest.WithT(t))
	f := &countingSelfCheck{}
	w := ts.NewWorker(TaskQueue, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(SelfCheckWorkflow, workflow.RegisterOptions{Name: SelfCheckWorkflowType})
		r.RegisterActivityWithOptions(f.RunSelfCheck, activity.RegisterOptions{Name: activities.RunSelfCheckName})
	})
	defer w.Stop()
	c := ts.GetDefaultClient()
	ctx := t.Context()
	if err := EnsureSelfCheckSchedule(ctx, c, 6, 30); err != nil {
		t.Fatal(err)
	}
	if err := EnsureSelfCheckSchedule(ctx, c, 5, 45); err != nil {
		t.Fatal(err)
	}
	if err := EnsureSelfCheckSchedule(ctx, c, 24, 0); err == nil {
		t.Fatal("24:00 was accepted as a time of day")
	}
	h := c.ScheduleClient().GetHandle(ctx, SelfCheckScheduleID)
	desc, err := h.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	spec := desc.Schedule.Spec
	if spec.TimeZoneName != "Europe/Stockholm" || len(spec.Calendars) != 1 ||
		spec.Calendars[0].Hour[0].Start != 5 || spec.Calendars[0].Minute[0].Start != 45 {
		t.Fatalf("schedule spec %+v", spec)
	}
	if dow := spec.Calendars[0].DayOfWeek; len(dow) != 1 || dow[0].Start != 0 || dow[0].End != 6 {
		t.Fatalf("the self-check should run daily, runs on %+v", dow)
	}
	action, ok := desc.Schedule.Action.(*client.ScheduleWorkflowAction)
	if !ok || action.Workflow != SelfCheckWorkflowType || action.TaskQueue != TaskQueue || action.ID != SelfCheckWorkflowID {
		t.Fatalf("schedule action %+v", desc.Schedule.Action)
	}
	if err := h.Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return f.runs.Load() == 1 })
	_ = h.Delete(ctx)
}
