package workflows

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rickar/cal/v2"
	"github.com/rickar/cal/v2/se"
	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.temporal.io/server/temporaltest"

	"github.com/stegvis/stegvis/activities"
	"github.com/stegvis/stegvis/calendar"
	"github.com/stegvis/stegvis/program"
)

// historiesDir holds JSON histories recorded from each released version of the journey
// and retention workflows. They are committed and never edited: a change to workflow code that cannot
// replay them would break running journeys.
const historiesDir = "testdata/histories"

var recordHistories = flag.Bool("record-histories", false, "run journeys on a real Temporal server and write their histories to "+historiesDir)

func TestReplayCommittedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(historiesDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no histories in %s: run `make histories` and commit them", historiesDir)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(Journey, workflow.RegisterOptions{Name: JourneyWorkflowType})
			r.RegisterWorkflowWithOptions(RetentionWorkflow, workflow.RegisterOptions{Name: RetentionWorkflowType})
			r.RegisterWorkflowWithOptions(SelfCheckWorkflow, workflow.RegisterOptions{Name: SelfCheckWorkflowType})
			r.RegisterWorkflowWithOptions(DeliveryWorkflow, workflow.RegisterOptions{Name: DeliveryWorkflowType})
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatalf("the current workflow code cannot replay %s: %v\n"+
					"Guard the change with workflow.GetVersion (see README, \"Changing workflow code\").", f, err)
			}
		})
	}
}

// TestRecordHistories writes the histories the replay test uses. It runs only with
// -record-histories (make histories), against a real Temporal server in process. Each
// workflow records in its own subtest, so one can be recorded without rewriting the
// others: go test ./workflows -run TestRecordHistories/retention -record-histories.
func TestRecordHistories(t *testing.T) {
	if !*recordHistories {
		t.Skip("run with -record-histories to record new histories")
	}
	if err := os.MkdirAll(historiesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Run("journey", recordJourneyHistories)
	t.Run("retention", recordRetentionHistories)
	t.Run("self-check", recordSelfCheckHistories)
	t.Run("delivery", recordDeliveryHistories)
}

// fakeSelfCheck answers RunSelfCheck with a fixed summary.
type fakeSelfCheck struct{ summary activities.SelfCheckSummary }

func (f fakeSelfCheck) RunSelfCheck(context.Context) (activities.SelfCheckSummary, error) {
	return f.summary, nil
}

// recordSelfCheckHistories records a self-check run that found two problems.
func recordSelfCheckHistories(t *testing.T) {
	ts := temporaltest.NewServer(temporaltest.WithT(t))
	f := fakeSelfCheck{summary: activities.SelfCheckSummary{Findings: 2, Notified: 2,
		ByKind: map[string]int{"journey_without_workflow": 1, "delivery_failed": 1}}}
	w := ts.NewWorker(TaskQueue, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(SelfCheckWorkflow, workflow.RegisterOptions{Name: SelfCheckWorkflowType})
		r.RegisterActivityWithOptions(f.RunSelfCheck, activity.RegisterOptions{Name: activities.RunSelfCheckName})
	})
	defer w.Stop()
	c := ts.GetDefaultClient()
	ctx := context.Background()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: SelfCheckWorkflowID, TaskQueue: TaskQueue}, SelfCheckWorkflowType)
	if err != nil {
		t.Fatal(err)
	}
	var res activities.SelfCheckSummary
	if err := run.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if res.Findings != 2 || res.Notified != 2 || res.ByKind["delivery_failed"] != 1 {
		t.Fatalf("self-check result %+v", res)
	}
	writeHistory(t, c, run.GetID(), filepath.Join(historiesDir, "self-check-v1-two-findings.json"))
}

// recordDeliveryHistories records a delivery that fails twice, as a mail server down
// would, and then succeeds.
func recordDeliveryHistories(t *testing.T) {
	ts := temporaltest.NewServer(temporaltest.WithT(t))
	var mu sync.Mutex
	failures := 2
	w := ts.NewWorker(TaskQueue, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(DeliveryWorkflow, workflow.RegisterOptions{Name: DeliveryWorkflowType})
		r.RegisterActivityWithOptions(func(context.Context, string) error {
			mu.Lock()
			defer mu.Unlock()
			if failures > 0 {
				failures--
				return errors.New("dial tcp 127.0.0.1:25: connect: connection refused")
			}
			return nil
		}, activity.RegisterOptions{Name: activities.DeliverNotificationName})
	})
	defer w.Stop()
	c := ts.GetDefaultClient()
	ctx := context.Background()
	id := "run-1/plan/escalation-1"
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: DeliveryWorkflowID(id), TaskQueue: TaskQueue},
		DeliveryWorkflowType, DeliveryInput{NotificationID: id})
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	writeHistory(t, c, run.GetID(), filepath.Join(historiesDir, "delivery-v1-retried.json"))
}

// recordRetentionHistories records a retention run that takes two batches.
func recordRetentionHistories(t *testing.T) {
	ts := temporaltest.NewServer(temporaltest.WithT(t))
	f := &fakeErase{answers: []activities.EraseResult{{Erased: 200, More: true}, {Erased: 12, Skipped: 1}}}
	w := retentionWorker(ts, f)
	defer w.Stop()
	c := ts.GetDefaultClient()
	ctx := context.Background()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: RetentionWorkflowID, TaskQueue: TaskQueue},
		RetentionWorkflowType, RetentionInput{After: program.MustSpan("24 months")})
	if err != nil {
		t.Fatal(err)
	}
	var res RetentionResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if res.Erased != 212 || res.Rounds != 2 {
		t.Fatalf("retention result %+v", res)
	}
	writeHistory(t, c, run.GetID(), filepath.Join(historiesDir, "retention-v1-two-batches.json"))
}

// journeyHistoryPrefix names the journey histories the current code records. Raise it
// with every released change to the journey's workflow code, so that recording never
// overwrites the histories of an earlier version: journey-v1-* are from before
// SideEffectsApartChangeID, journey-v2-* from after it (deliveries in child workflows).
const journeyHistoryPrefix = "journey-v2"

// recordJourneyHistories records the journey scenarios.
func recordJourneyHistories(t *testing.T) {
	ts := temporaltest.NewServer(temporaltest.WithT(t))
	mem := &memoryNotifications{ids: map[string]bool{}, now: time.Now}
	// One journey's first read-model write fails a whole turn of the loop, so its
	// history holds the retry timer of the new path.
	flaky := &flakyJournal{JournalStore: newMemoryJournal(), participant: "hist-journal-retry", failures: 3}
	w := journeyWorkerWith(ts, mem, flaky)
	defer w.Stop()
	c := ts.GetDefaultClient()
	ctx := context.Background()
	now := time.Now().In(calendar.Stockholm)
	if err := RegisterSearchAttributes(ctx, c, ts.GetDefaultNamespace(), 0); err != nil {
		t.Fatal(err)
	}

	scenarios := []struct {
		name     string
		referred time.Time
		program  string
		plan     *time.Time
		noGuide  bool
		life     bool
	}{
		{name: "plan-on-time", referred: now.Add(-time.Hour), program: "jobbgaranti", plan: ptr(now.Add(-time.Minute))},
		{name: "imported-escalated-then-late-plan", referred: now.AddDate(0, 0, -30), program: "jobbgaranti", plan: ptr(now.Add(-time.Minute))},
		{name: "steg-waiting", referred: calendar.Date(now), program: "steg"},
		{name: "steg-step-pause-transfer-exit", referred: now.AddDate(0, 0, -3), program: "steg", plan: ptr(now.Add(-2 * time.Hour)), life: true},
		{name: "guide-mapping-plan-deepened", referred: now.AddDate(0, 0, -2), program: "jobbgaranti", plan: ptr(now.Add(-time.Minute)), noGuide: true},
		{name: "journal-retry", referred: now.AddDate(0, 0, -30), program: "jobbgaranti"},
	}
	for _, sc := range scenarios {
		guide := "g-anna"
		if sc.noGuide {
			guide = ""
		}
		in := input(sc.program, sc.referred, guide)
		in.Start.ParticipantID = "hist-" + sc.name
		in.Index = sc.life || sc.noGuide // two histories keep search attributes up to date
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: JourneyWorkflowID(in.Start.ParticipantID), TaskQueue: TaskQueue},
			JourneyWorkflowType, in)
		if err != nil {
			t.Fatal(err)
		}
		send := func(name string, arg any) {
			h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: run.GetID(), UpdateName: name,
				Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted})
			if err == nil {
				err = h.Get(ctx, nil)
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		if sc.noGuide {
			send(UpdateAssignGuide, AssignGuide{GuideID: "g-bo", HandoverNote: "first guide"})
			m := validMapping("2026-01-01T00:00:00")
			m.RecordedAt = now.Add(-time.Hour)
			send(UpdateRecordMapping, m)
		}
		if sc.name == "journal-retry" {
			waitFor(t, func() bool { return flaky.written() })
		}
		if sc.name == "imported-escalated-then-late-plan" {
			waitFor(t, func() bool {
				n := 0
				for _, s := range mem.sentFor(in.Start.ParticipantID) {
					if s.DeadlineID == "plan" {
						n++
					}
				}
				return n == 2
			})
		}
		if sc.plan != nil {
			send(UpdateRecordPlan, validPlan(*sc.plan))
		}
		if sc.life {
			send(UpdatePassStep, PassStep{Step: 1, PassedAt: now.Add(-time.Hour)})
			send(UpdatePause, Pause{Reason: PauseSickLeave, From: now.Add(-50 * time.Minute)})
			send(UpdateResume, Resume{At: now.Add(-40 * time.Minute)})
			send(UpdateTransfer, Transfer{ToUnit: "vuxenutbildning"})
			v2 := in.Program
			v2.Version = 2
			send(UpdateMigrateProgram, MigrateProgram{Program: v2, RequestedBy: "admin-eva", Reason: "new rules"})
			send(UpdateExit, Exit{Reason: ExitStudies, At: now})
			if err := c.GetWorkflow(ctx, run.GetID(), "").Get(ctx, nil); err != nil {
				t.Fatal(err)
			}
		}
		if sc.noGuide {
			send(UpdateRecordMeeting, Meeting{Kind: MeetingOther, Outcome: OutcomeNoShow, OccurredAt: now.Add(-20 * time.Minute)})
			send(UpdateRecordMeeting, Meeting{Kind: MeetingOther, Outcome: OutcomeNoShow, OccurredAt: now.Add(-10 * time.Minute)})
			send(UpdateRecordMeeting, Meeting{Kind: MeetingFollowUp, Outcome: OutcomeHeld, OccurredAt: now, Participants: []string{"participant", "guide", "case_worker"}})
			send(UpdateRecordDeepenedPlan, DeepenedPlan{SignedAt: now, Summary: "work training with a provider",
				PurchasedServices: []PurchasedService{{Provider: "Arbetslivsresurs AB", Service: "work training"}}})
		}
		if _, err := c.QueryWorkflow(ctx, run.GetID(), "", QueryState); err != nil {
			t.Fatal(err)
		}
		writeHistory(t, c, run.GetID(), filepath.Join(historiesDir, fmt.Sprintf("%s-%s.json", journeyHistoryPrefix, sc.name)))
	}
}

func ptr[T any](v T) *T { return &v }

// journeyWorker runs the journey workflow on a test server, with notifications in memory.
func journeyWorker(ts *temporaltest.TestServer, mem *memoryNotifications) worker.Worker {
	return journeyWorkerWith(ts, mem, newMemoryJournal())
}

// flakyJournal fails a participant's first writes as PostgreSQL down would.
type flakyJournal struct {
	activities.JournalStore
	participant string
	mu          sync.Mutex
	failures    int
	ok          bool
}

func (f *flakyJournal) RecordJourneyEvents(ctx context.Context, in activities.JourneyEvents) error {
	f.mu.Lock()
	if in.ParticipantID == f.participant {
		if f.failures > 0 {
			f.failures--
			f.mu.Unlock()
			return errors.New("connection refused")
		}
		f.ok = true
	}
	f.mu.Unlock()
	return f.JournalStore.RecordJourneyEvents(ctx, in)
}

func (f *flakyJournal) written() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ok
}

func journeyWorkerWith(ts *temporaltest.TestServer, mem *memoryNotifications, journal activities.JournalStore) worker.Worker {
	return ts.NewWorker(TaskQueue, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(Journey, workflow.RegisterOptions{Name: JourneyWorkflowType})
		acts := &activities.Activities{Notifications: mem, Journal: journal}
		r.RegisterActivityWithOptions(acts.RecordNotification, activity.RegisterOptions{Name: activities.RecordNotificationName})
		r.RegisterActivityWithOptions(acts.RecordJourneyEvents, activity.RegisterOptions{Name: activities.RecordJourneyEventsName})
		r.RegisterActivityWithOptions(acts.DeliverNotification, activity.RegisterOptions{Name: activities.DeliverNotificationName})
		r.RegisterWorkflowWithOptions(DeliveryWorkflow, workflow.RegisterOptions{Name: DeliveryWorkflowType})
		r.RegisterActivityWithOptions(acts.GiveUpDelivery, activity.RegisterOptions{Name: activities.GiveUpDeliveryName})
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within 30s")
}

func writeHistory(t *testing.T, c client.Client, workflowID, file string) {
	t.Helper()
	var h historypb.History
	it := c.GetWorkflowHistory(context.Background(), workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, ev)
	}
	b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(&h)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d events)", file, len(h.Events))
}

// TestAChangedHolidayListDoesNotMoveRunningJourneys starts a journey on a real Temporal
// server, then restarts the worker with a holiday list that makes every Friday a day
// off. The new worker replays the journey's history: its dates come from the recorded
// local activity, so they do not move. A journey started afterwards uses the new list.
func TestAChangedHolidayListDoesNotMoveRunningJourneys(t *testing.T) {
	ts := temporaltest.NewServer(temporaltest.WithT(t))
	mem := &memoryNotifications{ids: map[string]bool{}, now: time.Now}
	newWorker := func() worker.Worker { return journeyWorker(ts, mem) }
	c := ts.GetDefaultClient()
	ctx := context.Background()
	// A Monday referral: five working days is the next Monday, with a Friday inside.
	referred := calendar.Date(time.Now())
	for referred.Weekday() != time.Monday {
		referred = calendar.AddDays(referred, -1)
	}
	planDue := func(participant string) string {
		// A query sent while a worker stops can be cancelled with its poll; ask again.
		var (
			v   converter.EncodedValue
			err error
		)
		for range 20 {
			if v, err = c.QueryWorkflow(ctx, JourneyWorkflowID(participant), "", QueryState); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			t.Fatal(err)
		}
		var s JourneyState
		if err := v.Get(&s); err != nil {
			t.Fatal(err)
		}
		return deadline(t, s, "plan").DueDate
	}
	start := func(participant string) {
		in := input("steg", referred, "g-anna")
		in.Start.ParticipantID = participant
		if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: JourneyWorkflowID(participant), TaskQueue: TaskQueue}, JourneyWorkflowType, in); err != nil {
			t.Fatal(err)
		}
	}

	w1 := newWorker()
	start("cal-before")
	before := planDue("cal-before")
	w1.Stop()

	restore := activities.UseCalendar(calendar.WithHolidays(append(append([]*cal.Holiday{}, se.Holidays...), fridays(referred)...)...))
	defer restore()
	w2 := newWorker()
	defer w2.Stop()

	if after := planDue("cal-before"); after != before {
		t.Fatalf("a running journey's plan deadline moved from %s to %s when the holiday list changed", before, after)
	}
	start("cal-after")
	if now := planDue("cal-after"); now == before {
		t.Fatalf("a new journey should count with the new holiday list, but is due %s like the old one", now)
	}
}

// fridays makes the Fridays of the next weeks days off.
func fridays(from time.Time) []*cal.Holiday {
	var out []*cal.Holiday
	for d := calendar.Date(from); d.Before(calendar.AddDays(from, 60)); d = calendar.AddDays(d, 1) {
		if d.Weekday() == time.Friday {
			out = append(out, &cal.Holiday{Name: "test Friday", Type: cal.ObservancePublic, Month: d.Month(), Day: d.Day(), Func: cal.CalcDayOfMonth})
		}
	}
	return out
}
