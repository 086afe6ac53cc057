package workflows

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.temporal.io/server/temporaltest"

	"github.com/stegvis/stegvis/activities"
	"github.com/stegvis/stegvis/calendar"
	"github.com/stegvis/stegvis/program"
)

// eraseExpiredStub stands in for the activity; the tests mock its answers.
func eraseExpiredStub(context.Context, activities.EraseInput) (activities.EraseResult, error) {
	return activities.EraseResult{}, errors.New("not mocked")
}

func retentionEnv(t *testing.T, start time.Time) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	env.RegisterWorkflowWithOptions(RetentionWorkflow, workflow.RegisterOptions{Name: RetentionWorkflowType})
	env.RegisterActivityWithOptions(eraseExpiredStub, activity.RegisterOptions{Name: activities.EraseExpiredName})
	t.Cleanup(func() { env.AssertExpectations(t) })
	return env
}

func TestRetentionErasesInBatchesUntilNothingIsLeft(t *testing.T) {
	env := retentionEnv(t, stockholm("2026-05-10T02:30:00"))
	var inputs []activities.EraseInput
	answers := []activities.EraseResult{{Erased: 200, More: true}, {Erased: 199, Skipped: 1, More: true}, {Erased: 17}}
	env.OnActivity(activities.EraseExpiredName, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.EraseInput) (activities.EraseResult, error) {
			inputs = append(inputs, in)
			return answers[len(inputs)-1], nil
		}).Times(3)
	env.ExecuteWorkflow(RetentionWorkflowType, RetentionInput{After: program.MustSpan("24 months")})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res RetentionResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	want := stockholm("2024-05-10T00:00:00")
	if res.Erased != 416 || res.Skipped != 1 || res.Rounds != 3 || res.More || !res.Cutoff.Equal(want) {
		t.Fatalf("result %+v, want 416 erased, 1 skipped, 3 rounds, cutoff %v", res, want)
	}
	if len(inputs) != 3 {
		t.Fatalf("%d activity calls, want 3", len(inputs))
	}
	for _, in := range inputs {
		if !in.ExitedBefore.Equal(want) || in.Limit != retentionBatch {
			t.Fatalf("activity input %+v, want cutoff %v and limit %d", in, want, retentionBatch)
		}
	}
}

func TestRetentionStopsAtItsBoundAndLeavesTheRestForTheNextRun(t *testing.T) {
	env := retentionEnv(t, stockholm("2026-05-10T02:30:00"))
	env.OnActivity(activities.EraseExpiredName, mock.Anything, mock.Anything).
		Return(activities.EraseResult{Erased: 200, More: true}, nil).Times(retentionMaxRounds)
	env.ExecuteWorkflow(RetentionWorkflowType, RetentionInput{After: program.MustSpan("90 days")})
	var res RetentionResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Rounds != retentionMaxRounds || res.Erased != 200*retentionMaxRounds || !res.More {
		t.Fatalf("result %+v, want %d rounds and more left", res, retentionMaxRounds)
	}
	if want := stockholm("2026-02-09T00:00:00"); !res.Cutoff.Equal(want) {
		t.Fatalf("cutoff %v, want %v", res.Cutoff, want)
	}
}

func TestRetentionFailsWhenTheActivityFails(t *testing.T) {
	env := retentionEnv(t, stockholm("2026-05-10T02:30:00"))
	env.OnActivity(activities.EraseExpiredName, mock.Anything, mock.Anything).
		Return(activities.EraseResult{}, temporal.NewNonRetryableApplicationError("database gone", "test", nil)).Once()
	env.ExecuteWorkflow(RetentionWorkflowType, RetentionInput{After: program.MustSpan("24 months")})
	if err := env.GetWorkflowError(); err == nil || !strings.Contains(err.Error(), "database gone") {
		t.Fatalf("workflow error %v", err)
	}
}

func TestRetentionRefusesAPeriodItCannotCountWithoutTouchingAnything(t *testing.T) {
	for _, after := range []program.Span{{}, program.MustSpan("20 workdays"), program.MustSpan("0 months"), program.MustSpan("0s")} {
		env := retentionEnv(t, stockholm("2026-05-10T02:30:00"))
		env.ExecuteWorkflow(RetentionWorkflowType, RetentionInput{After: after})
		var appErr *temporal.ApplicationError
		if err := env.GetWorkflowError(); !errors.As(err, &appErr) || appErr.Type() != "InvalidRetention" || !appErr.NonRetryable() {
			t.Fatalf("%q: workflow error %v, want a non-retryable InvalidRetention", after, err)
		}
		// AssertExpectations (at cleanup) with no mocked activity: none ran.
	}
}

func TestRetentionCutoff(t *testing.T) {
	now := stockholm("2026-03-31T02:30:00")
	for _, c := range []struct {
		after string
		want  time.Time
	}{
		{"24 months", stockholm("2024-03-31T00:00:00")},
		{"1 month", stockholm("2026-02-28T00:00:00")},   // clamped to February's last day
		{"13 months", stockholm("2025-02-28T00:00:00")}, // across a year, clamped
		{"1 day", stockholm("2026-03-30T00:00:00")},     // across the change to summer time (29 March)
		{"2 weeks", stockholm("2026-03-17T00:00:00")},
		{"10m", stockholm("2026-03-31T02:20:00")},
	} {
		got, err := RetentionCutoff(now, program.MustSpan(c.after))
		if err != nil || !got.Equal(c.want) {
			t.Errorf("%s before %v: %v %v, want %v", c.after, now, got, err, c.want)
		}
		if sp := program.MustSpan(c.after); !sp.IsExact() {
			// The same day as the programme's own calendar arithmetic.
			if alt := sp.AddDate(calendar.Swedish(), now, -1); !alt.Equal(got) {
				t.Errorf("%s: %v, but program.Span.AddDate says %v", c.after, got, alt)
			}
		}
	}
}

func TestEnsureRetentionScheduleRefusesBadSettings(t *testing.T) {
	for _, c := range []struct {
		hour, minute int
		after        string
	}{{24, 0, "24 months"}, {3, 60, "24 months"}, {3, 0, ""}, {3, 0, "two years"}, {3, 0, "10 workdays"}, {3, 0, "0 days"}} {
		// No client: the settings are checked before Temporal is asked anything.
		if err := EnsureRetentionSchedule(context.Background(), nil, c.hour, c.minute, c.after); err == nil {
			t.Errorf("%02d:%02d %q accepted", c.hour, c.minute, c.after)
		}
	}
}

// fakeErase answers EraseExpired from a list, and records what it was asked.
type fakeErase struct {
	mu      sync.Mutex
	answers []activities.EraseResult
	inputs  []activities.EraseInput
}

func (f *fakeErase) EraseExpired(_ context.Context, in activities.EraseInput) (activities.EraseResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inputs = append(f.inputs, in)
	if len(f.answers) == 0 {
		return activities.EraseResult{}, nil
	}
	r := f.answers[0]
	f.answers = f.answers[1:]
	return r, nil
}

func (f *fakeErase) calls() []activities.EraseInput {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]activities.EraseInput(nil), f.inputs...)
}

func retentionWorker(ts *temporaltest.TestServer, f *fakeErase) worker.Worker {
	return ts.NewWorker(TaskQueue, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(RetentionWorkflow, workflow.RegisterOptions{Name: RetentionWorkflowType})
		r.RegisterActivityWithOptions(f.EraseExpired, activity.RegisterOptions{Name: activities.EraseExpiredName})
	})
}

// The schedule is created once and updated in place: a changed time or period takes
// effect, and a triggered run erases with the new period.
func TestEnsureRetentionScheduleCreatesThenUpdatesTheDailyRun(t *testing.T) {
	ts := temporaltest.NewServer(temporaltest.WithT(t))
	f := &fakeErase{answers: []activities.EraseResult{{Erased: 3}}}
	w := retentionWorker(ts, f)
	defer w.Stop()
	c := ts.GetDefaultClient()
	ctx := t.Context()
	if err := EnsureRetentionSchedule(ctx, c, 2, 30, "24 months"); err != nil {
		t.Fatal(err)
	}
	if err := EnsureRetentionSchedule(ctx, c, 3, 15, "36 months"); err != nil {
		t.Fatal(err)
	}
	h := c.ScheduleClient().GetHandle(ctx, RetentionScheduleID)
	desc, err := h.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	spec := desc.Schedule.Spec
	if spec.TimeZoneName != "Europe/Stockholm" || len(spec.Calendars) != 1 ||
		spec.Calendars[0].Hour[0].Start != 3 || spec.Calendars[0].Minute[0].Start != 15 {
		t.Fatalf("schedule spec %+v", spec)
	}
	if dow := spec.Calendars[0].DayOfWeek; len(dow) != 1 || dow[0].Start != 0 || dow[0].End != 6 {
		t.Fatalf("the retention run should be daily, runs on %+v", dow)
	}
	action, ok := desc.Schedule.Action.(*client.ScheduleWorkflowAction)
	if !ok || action.Workflow != RetentionWorkflowType || action.TaskQueue != TaskQueue || action.ID != RetentionWorkflowID || len(action.Args) != 1 {
		t.Fatalf("schedule action %+v", desc.Schedule.Action)
	}
	var in RetentionInput
	if err := converter.GetDefaultDataConverter().FromPayload(action.Args[0].(*commonpb.Payload), &in); err != nil {
		t.Fatal(err)
	}
	if in.After != program.MustSpan("36 months") {
		t.Fatalf("schedule input %+v, want the updated period", in)
	}

	if err := h.Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		t.Fatal(err)
	}
	var calls []activities.EraseInput
	waitFor(t, func() bool { calls = f.calls(); return len(calls) > 0 })
	want := calendar.Date(time.Now().AddDate(-3, 0, 0))
	if d := calls[0].ExitedBefore; d.Sub(want).Abs() > 24*time.Hour || !d.Equal(calendar.Date(d)) {
		t.Fatalf("the triggered run erases exits before %v, want Stockholm midnight near %v", d, want)
	}
	_ = h.Delete(ctx)
}
