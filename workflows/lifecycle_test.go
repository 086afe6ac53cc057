package workflows

import (
	"errors"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/stegvis/stegvis/program"
)

func isConflict(err error) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.Type() == ErrTypeConflict
}

func TestStepsArePassedInOrderAndMeetTheirMilestones(t *testing.T) {
	start := stockholm("2026-01-12T09:00:00")
	h := newHarness(t, start)
	h.at(start, "2026-02-02T10:00:00", func() {
		h.update(t, UpdatePassStep, PassStep{Step: 2, PassedAt: stockholm("2026-02-02T09:00:00")}, func(_ JourneyState, err error) {
			if !isConflict(err) {
				t.Errorf("step 2 before step 1: want a conflict, got %v", err)
			}
		})
	})
	h.at(start, "2026-02-02T11:00:00", func() {
		h.mustUpdate(t, UpdatePassStep, PassStep{Step: 1, PassedAt: stockholm("2026-02-02T09:00:00")}, func(s JourneyState) {
			if d := viewOf(t, s.View(h.env.Now()), "step-1"); s.Step != 1 || d.Status != StatusMet || !*d.OnTime {
				t.Errorf("step 1 by its milestone: %+v", d)
			}
		})
	})
	h.at(start, "2026-02-03T10:00:00", h.env.CancelWorkflow)
	h.run(t, input("steg", start, "g-anna"))
}

func TestAMissedStepMilestoneOpensAnEvaluation(t *testing.T) {
	// Steg: step 1 by 3 months after referral. Not passed by 12 April: an evaluation
	// meeting falls due, with its own reminders and ladder.
	start := stockholm("2026-01-12T09:00:00")
	h := newHarness(t, start)
	h.at(start, "2026-04-13T10:00:00", func() {
		s := h.state(t)
		if d := deadline(t, s, "step-1"); d.DueDate != "2026-04-12" || !d.Evaluated {
			t.Errorf("step 1 milestone: %+v", d)
		}
		if e := deadline(t, s, "evaluation-step-1"); e.DueDate != "2026-04-27" {
			t.Errorf("evaluation due %s, want ten working days after the milestone (2026-04-27)", e.DueDate)
		}
	})
	h.at(start, "2026-04-24T10:00:00", func() {
		h.mustUpdate(t, UpdateRecordMeeting, meeting(MeetingEvaluation, OutcomeHeld, "2026-04-24T09:00:00"), func(s JourneyState) {
			if d := viewOf(t, s.View(h.env.Now()), "evaluation-step-1"); d.Status != StatusMet {
				t.Errorf("evaluation after the meeting: %+v", d)
			}
		})
	})
	h.at(start, "2026-05-10T10:00:00", h.env.CancelWorkflow)
	h.run(t, input("steg", start, "g-anna"))
	equal(t, h.store.kindsFor("evaluation-step-1"), []string{"reminder@2026-04-23T08:00"})
}

func TestAPauseStopsTheClockAndResumeMovesDeadlinesByThePausedWorkingDays(t *testing.T) {
	// Referred Monday 2 March: plan due Monday 9 March. Sick from Wednesday 4 March to
	// Wednesday 11 March: five working days (4, 5, 6, 9, 10). Nothing is sent while paused;
	// the plan is then due five working days later, Monday 16 March.
	start := stockholm("2026-03-02T09:00:00")
	h := newHarness(t, start)
	h.at(start, "2026-03-04T10:00:00", func() {
		h.mustUpdate(t, UpdatePause, Pause{Reason: PauseSickLeave, From: stockholm("2026-03-04T00:00:00")}, func(s JourneyState) {
			if s.Phase != PhasePaused {
				t.Errorf("phase %s", s.Phase)
			}
		})
	})
	h.at(start, "2026-03-11T10:00:00", func() {
		h.mustUpdate(t, UpdateResume, Resume{At: stockholm("2026-03-11T00:00:00")}, func(s JourneyState) {
			if d := deadline(t, s, "plan"); d.DueDate != "2026-03-16" {
				t.Errorf("plan due %s after the pause, want 2026-03-16", d.DueDate)
			}
			if s.Phase != PhasePlanning || len(s.Pauses) != 1 || s.Pauses[0].WorkdaysOff != 5 {
				t.Errorf("after resume: %s %+v", s.Phase, s.Pauses)
			}
		})
	})
	h.at(start, "2026-03-20T10:00:00", h.env.CancelWorkflow)
	h.run(t, input("jobbgaranti", start, "g-anna"))

	equal(t, h.store.kindsFor("plan"), []string{
		"reminder@2026-03-13T08:00",
		"due@2026-03-16T08:00",
		"escalation-1:team_lead@2026-03-17T08:00",
		"escalation-2:unit_manager@2026-03-19T08:00",
	})
}

func TestAPauseLongerThanTheProgrammeAllowsIsEscalated(t *testing.T) {
	start := stockholm("2026-03-02T09:00:00")
	h := newHarness(t, start)
	h.at(start, "2026-03-03T10:00:00", func() {
		h.mustUpdate(t, UpdatePause, Pause{Reason: PauseMedicalAssessment, From: stockholm("2026-03-03T00:00:00")}, nil)
	})
	h.at(start, "2026-09-10T10:00:00", h.env.CancelWorkflow)
	h.run(t, input("jobbgaranti", start, "g-anna"))
	// Six months from 3 March is 3 September; the team lead hears the working day after.
	equal(t, h.store.kindsFor("pause_limit-1"), []string{"due@2026-09-03T08:00", "escalation-1:team_lead@2026-09-04T08:00"})
	if got := h.store.kindsFor("plan"); len(got) != 0 {
		t.Errorf("a paused journey sent plan notices: %v", got)
	}
}

func TestATransferKeepsTheDeadlinesAndTheNewUnitHearsTheEscalations(t *testing.T) {
	start := stockholm("2026-03-02T09:00:00")
	h := newHarness(t, start)
	h.at(start, "2026-03-04T10:00:00", func() {
		h.mustUpdate(t, UpdateTransfer, Transfer{ToUnit: "vuxenutbildning", Note: "studies SFI"}, func(s JourneyState) {
			if s.Unit != "vuxenutbildning" || deadline(t, s, "plan").DueDate != "2026-03-09" || s.Transfers[0].FromUnit != "arbetsmarknad" {
				t.Errorf("after transfer: %+v", s.Transfers)
			}
		})
	})
	h.at(start, "2026-03-11T10:00:00", h.env.CancelWorkflow)
	h.run(t, input("jobbgaranti", start, "g-anna"))
	for _, n := range h.store.sent {
		if n.DeadlineID == "plan" && n.Kind == program.NoticeEscalation && n.Unit != "vuxenutbildning" {
			t.Errorf("escalation went to unit %s", n.Unit)
		}
	}
}

func TestAnExitInEveryPhaseClosesTheJourney(t *testing.T) {
	type step struct {
		at   string
		name string
		arg  any
	}
	tests := []struct {
		name    string
		guide   string
		before  []step
		phase   Phase
		reason  ExitReason
		program string
	}{
		{name: "waiting for a guide", phase: PhaseWaitingForGuide, reason: ExitMoved, program: "jobbgaranti"},
		{name: "planning", guide: "g-anna", phase: PhasePlanning, reason: ExitDeclined, program: "jobbgaranti"},
		{name: "active", guide: "g-anna", phase: PhaseActive, reason: ExitEmploymentRegular, program: "steg",
			before: []step{{"2026-03-05T10:00:00", UpdateRecordPlan, validPlan(stockholm("2026-03-05T09:00:00"))}}},
		{name: "paused", guide: "g-anna", phase: PhasePlanning, reason: ExitOtherAgency, program: "steg",
			before: []step{{"2026-03-05T10:00:00", UpdatePause, Pause{Reason: PauseSickLeave, From: stockholm("2026-03-05T00:00:00")}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := stockholm("2026-03-02T09:00:00")
			h := newHarness(t, start)
			for _, b := range tt.before {
				h.at(start, b.at, func() { h.mustUpdate(t, b.name, b.arg, nil) })
			}
			h.at(start, "2026-03-06T10:00:00", func() {
				h.mustUpdate(t, UpdateExit, Exit{Reason: tt.reason, At: stockholm("2026-03-06T09:00:00")}, func(s JourneyState) {
					if s.Phase != PhaseExited || s.Exit.Phase != tt.phase {
						t.Errorf("exit: phase %s, left from %s, want %s", s.Phase, s.Exit.Phase, tt.phase)
					}
					for _, d := range s.View(h.env.Now()).Deadlines {
						t.Errorf("deadline %s still open after the exit", d.ID)
					}
				})
			})
			h.env.ExecuteWorkflow(JourneyWorkflowType, input(tt.program, start, tt.guide))
			if !h.env.IsWorkflowCompleted() || h.env.GetWorkflowError() != nil {
				t.Fatalf("the journey should complete after an exit: %v", h.env.GetWorkflowError())
			}
			var res JourneyResult
			if err := h.env.GetWorkflowResult(&res); err != nil || res.Phase != PhaseExited {
				t.Fatalf("result %+v %v", res, err)
			}
			for _, n := range h.store.sent {
				if n.RecordedAt.After(stockholm("2026-03-06T10:00:00")) {
					t.Errorf("a notice after the exit: %+v", n.Notification)
				}
			}
		})
	}
}

func TestAnExitForAnotherReasonNeedsANote(t *testing.T) {
	start := stockholm("2026-03-02T09:00:00")
	h := newHarness(t, start)
	h.at(start, "2026-03-03T10:00:00", func() {
		h.update(t, UpdateExit, Exit{Reason: ExitOther, At: stockholm("2026-03-03T09:00:00")}, func(_ JourneyState, err error) {
			if p, ok := AsFieldErrors(err); !ok || p[0].Field != "note" {
				t.Errorf("got %v", err)
			}
		})
	})
	h.at(start, "2026-03-03T11:00:00", h.env.CancelWorkflow)
	h.run(t, input("jobbgaranti", start, "g-anna"))
}

func TestAPauseInsideAReviewWindowMovesTheWindow(t *testing.T) {
	// Review window 16–30 April. Sick 20–27 April: five working days. The window now
	// closes Friday 8 May (1 May is a holiday), and nobody is escalated before it.
	start := stockholm("2026-03-02T09:00:00")
	h := newHarness(t, start)
	h.at(start, "2026-03-06T10:00:00", func() {
		h.mustUpdate(t, UpdateRecordPlan, validPlan(stockholm("2026-03-06T09:00:00")), nil)
	})
	h.at(start, "2026-03-19T11:00:00", func() {
		h.mustUpdate(t, UpdateRecordMeeting, meeting(MeetingFollowUp, OutcomeHeld, "2026-03-19T10:00:00"), nil)
	})
	h.at(start, "2026-04-20T10:00:00", func() {
		h.mustUpdate(t, UpdatePause, Pause{Reason: PauseCareOfRelative, From: stockholm("2026-04-20T00:00:00")}, nil)
	})
	h.at(start, "2026-04-27T10:00:00", func() {
		h.mustUpdate(t, UpdateResume, Resume{At: stockholm("2026-04-27T00:00:00")}, func(s JourneyState) {
			if r := deadline(t, s, "review-1"); r.WindowTo != "2026-05-08" {
				t.Errorf("window closes %s after the pause, want 2026-05-08", r.WindowTo)
			}
		})
	})
	h.at(start, "2026-05-11T18:00:00", h.env.CancelWorkflow)
	h.run(t, input("jobbgaranti", start, "g-anna"))
	for _, k := range h.store.kindsFor("review-1") {
		if len(k) > 10 && k[:10] == "escalation" {
			t.Errorf("escalated inside the moved window: %s", k)
		}
	}
}

func TestADeadlineAlreadyOverdueWhenThePauseBeganDoesNotMove(t *testing.T) {
	// The first meeting was due Tuesday 3 March and ran out; the plan (due 9 March) had
	// not. A pause from 5 to 12 March moves only the plan.
	start := stockholm("2026-03-02T09:00:00")
	h := newHarness(t, start)
	h.at(start, "2026-03-05T10:00:00", func() {
		h.mustUpdate(t, UpdatePause, Pause{Reason: PauseSickLeave, From: stockholm("2026-03-05T00:00:00")}, nil)
	})
	h.at(start, "2026-03-12T10:00:00", func() {
		h.mustUpdate(t, UpdateResume, Resume{At: stockholm("2026-03-12T00:00:00")}, func(s JourneyState) {
			if d := deadline(t, s, "first_meeting"); d.DueDate != "2026-03-03" {
				t.Errorf("the overdue first meeting moved to %s", d.DueDate)
			}
			if d := deadline(t, s, "plan"); d.DueDate != "2026-03-16" {
				t.Errorf("the plan should move by five working days, to 16 March: %s", d.DueDate)
			}
		})
	})
	h.at(start, "2026-03-12T11:00:00", h.env.CancelWorkflow)
	h.run(t, input("jobbgaranti", start, "g-anna"))
}
