package workflows

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/stegvis/stegvis/activities"
	"github.com/stegvis/stegvis/calendar"
	"github.com/stegvis/stegvis/program"
)

// sent is a notification as the test saw it, with the (skipped) time it was recorded.
type sent struct {
	activities.Notification
	RecordedAt time.Time
}

// memoryNotifications records notifications in memory; the workflow tests are about
// the journey's timing, not about PostgreSQL (the API tests use the real database).
type memoryNotifications struct {
	mu   sync.Mutex
	now  func() time.Time
	sent []sent
	ids  map[string]bool
}

func (m *memoryNotifications) InsertNotification(_ context.Context, n activities.Notification) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ids[n.ID] {
		return false, nil
	}
	m.ids[n.ID] = true
	m.sent = append(m.sent, sent{Notification: n, RecordedAt: m.now()})
	return true, nil
}

// memoryJournal keeps the read model's events in memory for workflow tests.
type memoryJournal struct {
	mu     sync.Mutex
	events map[string][]activities.JourneyEvent // by participant
	last   map[string]activities.JourneySnapshot
}

func newMemoryJournal() *memoryJournal {
	return &memoryJournal{events: map[string][]activities.JourneyEvent{}, last: map[string]activities.JourneySnapshot{}}
}

func (m *memoryJournal) RecordJourneyEvents(_ context.Context, in activities.JourneyEvents) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := map[int64]bool{}
	for _, e := range m.events[in.ParticipantID] {
		seen[e.Seq] = true
	}
	for _, e := range in.Events {
		if !seen[e.Seq] {
			m.events[in.ParticipantID] = append(m.events[in.ParticipantID], e)
		}
	}
	m.last[in.ParticipantID] = in.Snapshot
	return nil
}

func (m *memoryNotifications) sentFor(participantID string) []sent {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []sent
	for _, s := range m.sent {
		if s.ParticipantID == participantID {
			out = append(out, s)
		}
	}
	return out
}

// kindsFor lists the notifications of one deadline ("" for all) as kind@local time.
func (m *memoryNotifications) kindsFor(deadlineID string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, s := range m.sent {
		if deadlineID != "" && s.DeadlineID != deadlineID {
			continue
		}
		k := string(s.Kind)
		if s.Kind == program.NoticeEscalation {
			k += "-" + string(rune('0'+s.Level)) + ":" + string(s.RecipientRole)
		}
		out = append(out, k+"@"+s.RecordedAt.In(calendar.Stockholm).Format("2006-01-02T15:04"))
	}
	return out
}

type harness struct {
	testsuite.WorkflowTestSuite
	env     *testsuite.TestWorkflowEnvironment
	store   *memoryNotifications
	journal *memoryJournal
}

func newHarness(t *testing.T, startAt time.Time) *harness {
	h := &harness{}
	h.env = h.NewTestWorkflowEnvironment()
	h.env.SetStartTime(startAt)
	h.store = &memoryNotifications{now: h.env.Now, ids: map[string]bool{}}
	h.env.RegisterWorkflowWithOptions(Journey, workflow.RegisterOptions{Name: JourneyWorkflowType})
	h.journal = newMemoryJournal()
	acts := &activities.Activities{Notifications: h.store, Journal: h.journal}
	h.env.RegisterActivityWithOptions(acts.RecordNotification, activity.RegisterOptions{Name: activities.RecordNotificationName})
	h.env.RegisterActivityWithOptions(acts.RecordJourneyEvents, activity.RegisterOptions{Name: activities.RecordJourneyEventsName})
	h.env.RegisterActivityWithOptions(acts.DeliverNotification, activity.RegisterOptions{Name: activities.DeliverNotificationName})
	h.env.RegisterWorkflowWithOptions(DeliveryWorkflow, workflow.RegisterOptions{Name: DeliveryWorkflowType})
	h.env.RegisterActivityWithOptions(acts.GiveUpDelivery, activity.RegisterOptions{Name: activities.GiveUpDeliveryName})
	h.env.RegisterActivityWithOptions(activities.ScheduleDeadline, activity.RegisterOptions{Name: activities.ScheduleDeadlineName})
	t.Cleanup(func() { h.env.AssertExpectations(t) })
	return h
}

// at schedules fn at a Stockholm wall-clock time, relative to the harness start.
func (h *harness) at(start time.Time, when string, fn func()) {
	w, err := time.ParseInLocation("2006-01-02T15:04:05", when, calendar.Stockholm)
	if err != nil {
		panic(err)
	}
	h.env.RegisterDelayedCallback(fn, w.Sub(start))
}

func (h *harness) run(t *testing.T, in JourneyInput) {
	t.Helper()
	h.env.ExecuteWorkflow(JourneyWorkflowType, in)
	if !h.env.IsWorkflowCompleted() {
		t.Fatal("workflow did not end; the test must cancel it")
	}
}

func (h *harness) state(t *testing.T) JourneyState {
	t.Helper()
	v, err := h.env.QueryWorkflow(QueryState)
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	var s JourneyState
	if err := v.Get(&s); err != nil {
		t.Fatalf("decode state: %v", err)
	}
	return s
}

// update sends an update; check runs when the workflow has answered it. The test
// environment answers after the delayed callback that sent it has returned.
func (h *harness) update(t *testing.T, name string, arg any, check func(JourneyState, error)) {
	t.Helper()
	h.env.UpdateWorkflow(name, "", &testsuite.TestUpdateCallback{
		OnAccept: func() {},
		OnReject: func(err error) { check(JourneyState{}, err) },
		OnComplete: func(v any, err error) {
			var st JourneyState
			if err == nil {
				st = v.(JourneyState)
			}
			check(st, err)
		},
	}, arg)
}

// mustUpdate sends an update that must succeed.
func (h *harness) mustUpdate(t *testing.T, name string, arg any, check func(JourneyState)) {
	h.update(t, name, arg, func(st JourneyState, err error) {
		if err != nil {
			t.Errorf("%s: %v", name, err)
			return
		}
		if check != nil {
			check(st)
		}
	})
}

func stockholm(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02T15:04:05", s, calendar.Stockholm)
	if err != nil {
		panic(err)
	}
	return t
}

func input(programID string, referred time.Time, guide string) JourneyInput {
	p, ok := program.Lookup(programID)
	if !ok {
		panic(programID)
	}
	return JourneyInput{
		Start:   StartJourney{ParticipantID: "p-1001", ProgramID: programID, Unit: "arbetsmarknad", ReferredAt: referred, GuideID: guide},
		Program: p,
	}
}

func validPlan(signed time.Time) Plan {
	return Plan{
		SignedAt:       signed,
		MainActivity:   "work training at the municipal depot",
		WeeklySchedule: []ScheduleSlot{{Day: "monday", From: "09:00", To: "12:00"}, {Day: "wednesday", From: "09:00", To: "15:00"}},
		SubGoals:       []string{"write a CV", "apply for three jobs a week"},
		FollowUpAt:     signed.AddDate(0, 0, 14),
	}
}

// deadline finds a deadline of the state by id.
func deadline(t *testing.T, s JourneyState, id string) Deadline {
	t.Helper()
	for _, d := range s.Deadlines {
		if d.ID == id {
			return d
		}
	}
	t.Fatalf("no deadline %s in %+v", id, s.Deadlines)
	return Deadline{}
}

// viewOf finds a deadline of a view by id, open or completed.
func viewOf(t *testing.T, v JourneyView, id string) DeadlineView {
	t.Helper()
	for _, d := range append(append([]DeadlineView{}, v.Deadlines...), v.Completed...) {
		if d.ID == id {
			return d
		}
	}
	t.Fatalf("no deadline %s in the view", id)
	return DeadlineView{}
}

func equal(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("notifications:\n got  %v\n want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("notification %d:\n got  %v\n want %v", i, got, want)
		}
	}
}

func TestPlanReminderFiresBeforeTheDeadlineAndEscalationsAfterIt(t *testing.T) {
	// Referred Monday 2 March 2026: the plan is due by the end of Monday 9 March.
	start := stockholm("2026-03-02T09:00:00")
	h := newHarness(t, start)
	h.at(start, "2026-03-09T12:00:00", func() {
		s := h.state(t)
		if d := deadline(t, s, "plan"); d.DueDate != "2026-03-09" {
			t.Errorf("plan due %s, want 2026-03-09", d.DueDate)
		}
		if d := viewOf(t, s.View(h.env.Now()), "plan"); d.Status != StatusDue {
			t.Errorf("status on the due day = %s, want due", d.Status)
		}
	})
	h.at(start, "2026-03-10T12:00:00", func() {
		d := viewOf(t, h.state(t).View(h.env.Now()), "plan")
		if d.Status != StatusOverdue || d.EscalationLevel != 1 {
			t.Errorf("the day after: status %s level %d, want overdue level 1", d.Status, d.EscalationLevel)
		}
	})
	h.at(start, "2026-03-20T12:00:00", h.env.CancelWorkflow)
	h.run(t, input("jobbgaranti", start, "g-anna"))

	equal(t, h.store.kindsFor("plan"), []string{
		"reminder@2026-03-06T08:00",
		"due@2026-03-09T08:00",
		"escalation-1:team_lead@2026-03-10T08:00",
		"escalation-2:unit_manager@2026-03-12T08:00",
	})
	if h.store.sent[0].RecipientID != "g-anna" || h.store.sent[0].RecipientRole != program.RoleGuide {
		t.Errorf("the reminder goes to the guide, got %s %q", h.store.sent[0].RecipientRole, h.store.sent[0].RecipientID)
	}
}

func TestPlanDeadlineCountsWorkingDaysAndSkipsEaster(t *testing.T) {
	// Referred on the Wednesday before Easter: Good Friday and Easter Monday are public
	// holidays, so five working days end on Friday 10 April, not Wednesday 8 April.
	start := stockholm("2026-04-01T10:00:00")
	h := newHarness(t, start)
	h.at(start, "2026-04-16T12:00:00", h.env.CancelWorkflow)
	h.run(t, input("jobbgaranti", start, "g-anna"))

	equal(t, h.store.kindsFor("plan"), []string{
		"reminder@2026-04-09T08:00",
		"due@2026-04-10T08:00",
		"escalation-1:team_lead@2026-04-13T08:00",
		"escalation-2:unit_manager@2026-04-15T08:00",
	})
}

func TestPlanRecordedInTimeMeansNoEscalation(t *testing.T) {
	start := stockholm("2026-03-02T09:00:00")
	h := newHarness(t, start)
	h.at(start, "2026-03-09T14:00:00", func() {
		h.mustUpdate(t, UpdateRecordPlan, validPlan(stockholm("2026-03-09T13:30:00")), func(st JourneyState) {
			if st.Phase != PhaseActive || st.Plan == nil {
				t.Errorf("after the plan: phase %s", st.Phase)
			}
			if d := viewOf(t, st.View(h.env.Now()), "plan"); d.Status != StatusMet || !*d.OnTime {
				t.Errorf("the plan deadline should be met on time: %+v", d)
			}
		})
	})
	h.at(start, "2026-03-31T12:00:00", h.env.CancelWorkflow)
	h.run(t, input("jobbgaranti", start, "g-anna"))

	equal(t, h.store.kindsFor("plan"), []string{"reminder@2026-03-06T08:00", "due@2026-03-09T08:00"})
}

func TestEscalationRechecksTheJourneyWhenItsTimerFires(t *testing.T) {
	// The plan is recorded one second before the escalation's timer: nothing escalates.
	start := stockholm("2026-03-02T09:00:00")
	h := newHarness(t, start)
	h.at(start, "2026-03-10T07:59:59", func() {
		h.mustUpdate(t, UpdateRecordPlan, validPlan(stockholm("2026-03-09T16:00:00")), nil)
	})
	h.at(start, "2026-03-31T12:00:00", h.env.CancelWorkflow)
	h.run(t, input("jobbgaranti", start, "g-anna"))

	equal(t, h.store.kindsFor("plan"), []string{"reminder@2026-03-06T08:00", "due@2026-03-09T08:00"})
}

func TestLatePlanStopsTheLadderAndIsRecordedAsLate(t *testing.T) {
	start := stockholm("2026-03-02T09:00:00")
	h := newHarness(t, start)
	h.at(start, "2026-03-11T10:00:00", func() {
		h.mustUpdate(t, UpdateRecordPlan, validPlan(stockholm("2026-03-11T09:00:00")), func(st JourneyState) {
			c := viewOf(t, st.View(h.env.Now()), "plan")
			if *c.OnTime || c.EscalationLevel != 1 {
				t.Errorf("a plan signed two days late: onTime=%v level=%d", *c.OnTime, c.EscalationLevel)
			}
		})
	})
	h.at(start, "2026-03-31T12:00:00", h.env.CancelWorkflow)
	h.run(t, input("jobbgaranti", start, "g-anna"))

	equal(t, h.store.kindsFor("plan"), []string{"reminder@2026-03-06T08:00", "due@2026-03-09T08:00", "escalation-1:team_lead@2026-03-10T08:00"})
}

func TestImportedJourneyCatchesUpWithOneNotificationPerLevel(t *testing.T) {
	// A caseload imported on 20 March with a referral on 2 March: the deadline passed
	// long ago. No stale reminders; each escalation level once, at once.
	start := stockholm("2026-03-20T10:00:00")
	h := newHarness(t, start)
	h.at(start, "2026-03-20T11:00:00", func() {
		d := viewOf(t, h.state(t).View(h.env.Now()), "plan")
		if d.Status != StatusOverdue || d.EscalationLevel != 2 || d.NextNotice != nil {
			t.Errorf("imported journey: %+v", d)
		}
	})
	h.at(start, "2026-03-31T12:00:00", h.env.CancelWorkflow)
	h.run(t, input("jobbgaranti", stockholm("2026-03-02T09:00:00"), "g-anna"))

	equal(t, h.store.kindsFor("plan"), []string{
		"escalation-1:team_lead@2026-03-20T10:00",
		"escalation-2:unit_manager@2026-03-20T10:00",
	})
}

func TestCatchUpSendsOnlyTheLatestReminder(t *testing.T) {
	// Imported on the due day: the reminder of the day before is stale, the due-day one is not.
	start := stockholm("2026-03-09T10:00:00")
	h := newHarness(t, start)
	h.at(start, "2026-03-09T11:00:00", h.env.CancelWorkflow)
	h.run(t, input("jobbgaranti", stockholm("2026-03-02T09:00:00"), "g-anna"))

	equal(t, h.store.kindsFor("plan"), []string{"due@2026-03-09T10:00"})
}

func TestJourneyWithoutGuideRemindsTheTeamLead(t *testing.T) {
	start := stockholm("2026-03-02T09:00:00")
	h := newHarness(t, start)
	h.at(start, "2026-03-06T09:00:00", h.env.CancelWorkflow)
	h.run(t, input("jobbgaranti", start, ""))

	var plan []sent
	for _, n := range h.store.sent {
		if n.DeadlineID == "plan" {
			plan = append(plan, n)
		}
	}
	if len(plan) != 1 || plan[0].Kind != program.NoticeReminder || plan[0].RecipientRole != program.RoleTeamLead {
		t.Fatalf("want one plan reminder to the team lead, got %+v", plan)
	}
}

func TestPlanValidatorRejectsAnIncompletePlanAndKeepsTheState(t *testing.T) {
	start := stockholm("2026-03-02T09:00:00")
	h := newHarness(t, start)
	h.at(start, "2026-03-03T10:00:00", func() {
		bad := Plan{SignedAt: stockholm("2026-03-04T10:00:00"), WeeklySchedule: []ScheduleSlot{{Day: "mon", From: "9", To: "12:00"}}}
		h.update(t, UpdateRecordPlan, bad, func(_ JourneyState, err error) {
			p, ok := AsFieldErrors(err)
			if !ok {
				t.Errorf("want field errors, got %v", err)
				return
			}
			fields := map[string]bool{}
			for _, f := range p {
				fields[f.Field] = true
			}
			for _, f := range []string{"signedAt", "mainActivity", "weeklySchedule[0].day", "weeklySchedule[0].from", "subGoals", "followUpAt"} {
				if !fields[f] {
					t.Errorf("no error for %s in %v", f, p)
				}
			}
		})
	})
	h.at(start, "2026-03-03T10:01:00", func() {
		if s := h.state(t); s.Plan != nil || s.Phase != PhasePlanning {
			t.Errorf("a rejected plan changed the state: %+v", s)
		}
		h.mustUpdate(t, UpdateRecordPlan, validPlan(stockholm("2026-03-03T09:30:00")), nil)
	})
	h.at(start, "2026-03-03T10:02:00", func() {
		h.update(t, UpdateRecordPlan, validPlan(stockholm("2026-03-03T09:45:00")), func(_ JourneyState, err error) {
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) || appErr.Type() != ErrTypeConflict {
				t.Errorf("a second plan: want a conflict, got %v", err)
			}
		})
	})
	h.at(start, "2026-03-03T10:03:00", func() {
		if s := h.state(t); s.Plan == nil || !s.Plan.SignedAt.Equal(stockholm("2026-03-03T09:30:00")) {
			t.Errorf("the conflicting plan replaced the first one: %+v", s.Plan)
		}
	})
	h.at(start, "2026-03-04T10:00:00", h.env.CancelWorkflow)
	h.run(t, input("jobbgaranti", start, "g-anna"))
}

func TestContinueAsNewCarriesTheWholeState(t *testing.T) {
	start := stockholm("2026-03-02T09:00:00")
	h := newHarness(t, start)
	h.at(start, "2026-03-06T09:00:00", func() { h.env.SetContinueAsNewSuggested(true) })
	h.at(start, "2026-03-06T10:00:00", func() {
		// An update wakes the loop, which sees the suggestion and continues as new
		// after the update has finished.
		h.mustUpdate(t, UpdateRecordPlan, validPlan(stockholm("2026-03-06T09:30:00")), nil)
	})
	h.env.ExecuteWorkflow(JourneyWorkflowType, input("jobbgaranti", start, "g-anna"))

	var can *workflow.ContinueAsNewError
	if !errors.As(h.env.GetWorkflowError(), &can) {
		t.Fatalf("want continue-as-new, got %v", h.env.GetWorkflowError())
	}
	var next JourneyInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.State == nil || next.State.Plan == nil || deadline(t, *next.State, "plan").MetAt == nil || len(deadline(t, *next.State, "plan").Sent) != 1 {
		t.Fatalf("state not carried over: %+v", next.State)
	}
	if next.Program.ID != "jobbgaranti" || next.Start.ParticipantID != "p-1001" {
		t.Fatalf("input not carried over: %+v", next)
	}

	// The next run picks up where this one left off: no deadline is opened twice and no
	// notice is sent again.
	h2 := newHarness(t, stockholm("2026-03-06T10:00:00"))
	h2.at(stockholm("2026-03-06T10:00:00"), "2026-03-20T10:00:00", h2.env.CancelWorkflow)
	h2.run(t, next)
	if got := h2.store.kindsFor("plan"); len(got) != 0 {
		t.Fatalf("continued run sent plan notices again: %v", got)
	}
}

func TestDemoProgrammeSendsEveryNoticeToTheMinute(t *testing.T) {
	// Exact durations: reminder at 2 minutes, due at 3 (the deadline itself), escalations
	// at 4 and 5. The notice at the deadline is not stale: it announces it.
	start := stockholm("2026-03-02T09:00:00")
	h := newHarness(t, start)
	h.at(start, "2026-03-02T09:10:00", h.env.CancelWorkflow)
	h.run(t, input("demo", start, "g-anna"))

	equal(t, h.store.kindsFor("plan"), []string{
		"reminder@2026-03-02T09:02",
		"due@2026-03-02T09:03",
		"escalation-1:team_lead@2026-03-02T09:04",
		"escalation-2:unit_manager@2026-03-02T09:05",
	})
}

func TestImportedAfterMidnightOfTheDueDaySkipsTheStaleReminders(t *testing.T) {
	// Imported at 07:00 the day after the due day: overdue, but the first escalation
	// (08:00) has not fired yet. Neither "due tomorrow" nor "due today" is sent.
	start := stockholm("2026-03-10T07:00:00")
	h := newHarness(t, start)
	h.at(start, "2026-03-10T09:00:00", h.env.CancelWorkflow)
	h.run(t, input("jobbgaranti", stockholm("2026-03-02T09:00:00"), "g-anna"))

	equal(t, h.store.kindsFor("plan"), []string{"escalation-1:team_lead@2026-03-10T08:00"})
}

func TestAPlanSentWithTheStartMeetsTheDeadline(t *testing.T) {
	// The update arrives before the deadline's dates are computed: the handler waits for
	// them, so the deadline is opened and then met, never left open beside a signed plan.
	start := stockholm("2026-03-02T09:00:00")
	h := newHarness(t, start)
	h.env.RegisterDelayedCallback(func() {
		h.mustUpdate(t, UpdateRecordPlan, validPlan(start), nil)
	}, 0)
	h.at(start, "2026-03-20T09:00:00", func() {
		if d := viewOf(t, h.state(t).View(h.env.Now()), "plan"); d.Status != StatusMet {
			t.Errorf("plan deadline left open: %+v", d)
		}
		h.env.CancelWorkflow()
	})
	h.run(t, input("jobbgaranti", start, "g-anna"))
	equal(t, h.store.kindsFor("plan"), nil)
}
