package workflows

import (
	"errors"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/stegvis/stegvis/program"
)

func validMapping(at string) Mapping {
	return Mapping{
		RecordedAt: stockholm(at), AdaptationNeeds: "none", InterestsAndExperience: "warehouse work, football",
		OwnView: "wants a job near home", Motivation: "to support the family", Health: "sleeps badly", WorkCapacity: "full time",
	}
}

func TestAParticipantWithoutAGuideWaitsAndTheWaitIsEscalated(t *testing.T) {
	start := stockholm("2026-03-02T09:00:00")
	h := newHarness(t, start)
	h.at(start, "2026-03-02T10:00:00", func() {
		if s := h.state(t); s.Phase != PhaseWaitingForGuide {
			t.Errorf("phase %s, want waiting_for_guide", s.Phase)
		}
	})
	h.at(start, "2026-03-06T09:00:00", func() {
		h.mustUpdate(t, UpdateAssignGuide, AssignGuide{GuideID: "g-bo"}, func(s JourneyState) {
			if s.Phase != PhasePlanning || s.GuideID != "g-bo" || deadline(t, s, "guide").MetAt == nil {
				t.Errorf("after assignment: phase %s guide %s", s.Phase, s.GuideID)
			}
		})
	})
	h.at(start, "2026-03-20T10:00:00", h.env.CancelWorkflow)
	h.run(t, input("jobbgaranti", start, ""))

	// Guide within 1 working day: due Tuesday 3 March, team lead Wednesday, unit manager Friday.
	equal(t, h.store.kindsFor("guide"), []string{
		"due@2026-03-03T08:00",
		"escalation-1:team_lead@2026-03-04T08:00",
		"escalation-2:unit_manager@2026-03-06T08:00",
	})
	// Before the assignment the plan's reminder went to the team lead; after it, the
	// due-day reminder goes to the new guide.
	for _, n := range h.store.sent {
		if n.DeadlineID == "plan" && n.Kind == program.NoticeDue && n.RecipientID != "g-bo" {
			t.Errorf("the plan's due-day reminder went to %s %q, want guide g-bo", n.RecipientRole, n.RecipientID)
		}
	}
}

func TestReassignmentKeepsTheRunningDeadlinesAndTheHandoverNote(t *testing.T) {
	start := stockholm("2026-03-02T09:00:00")
	h := newHarness(t, start)
	var before string
	h.at(start, "2026-03-04T10:00:00", func() {
		before = deadline(t, h.state(t), "plan").DueDate
		h.mustUpdate(t, UpdateAssignGuide, AssignGuide{GuideID: "g-bo", HandoverNote: "prefers mornings; interpreter needed"}, func(s JourneyState) {
			if deadline(t, s, "plan").DueDate != before || len(s.Guides) != 2 || s.Guides[1].HandoverNote == "" {
				t.Errorf("reassignment: %+v", s.Guides)
			}
		})
	})
	h.at(start, "2026-03-04T11:00:00", func() {
		h.update(t, UpdateAssignGuide, AssignGuide{GuideID: "g-bo"}, func(_ JourneyState, err error) {
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) || appErr.Type() != ErrTypeConflict {
				t.Errorf("assigning the same guide again: want a conflict, got %v", err)
			}
		})
	})
	h.at(start, "2026-03-20T10:00:00", h.env.CancelWorkflow)
	h.run(t, input("jobbgaranti", start, "g-anna"))

	for _, n := range h.store.sent {
		if n.DeadlineID == "plan" && n.RecipientRole == program.RoleGuide && n.RecipientID != "g-bo" {
			t.Errorf("after the handover, plan notice %s went to %q", n.Kind, n.RecipientID)
		}
	}
}

func TestTheFirstMeetingAndTheMappingAreDueOnDayOne(t *testing.T) {
	// Jobbgaranti, source document 003: day 1 the first meeting and the mapping.
	start := stockholm("2026-03-02T09:00:00")
	h := newHarness(t, start)
	h.at(start, "2026-03-03T15:00:00", func() {
		h.mustUpdate(t, UpdateRecordMapping, validMapping("2026-03-03T14:00:00"), func(s JourneyState) {
			if d := viewOf(t, s.View(h.env.Now()), "mapping"); d.Status != StatusMet || !*d.OnTime {
				t.Errorf("mapping on day 1: %+v", d)
			}
		})
	})
	h.at(start, "2026-03-10T10:00:00", h.env.CancelWorkflow)
	h.run(t, input("jobbgaranti", start, "g-anna"))

	equal(t, h.store.kindsFor("mapping"), []string{"due@2026-03-03T08:00"})
	equal(t, h.store.kindsFor("first_meeting"), []string{
		"due@2026-03-03T08:00",
		"escalation-1:team_lead@2026-03-04T08:00",
		"escalation-2:unit_manager@2026-03-06T08:00",
	})
}

func TestAMappingNamesEveryMissingArea(t *testing.T) {
	start := stockholm("2026-03-02T09:00:00")
	h := newHarness(t, start)
	h.at(start, "2026-03-03T10:00:00", func() {
		h.update(t, UpdateRecordMapping, Mapping{RecordedAt: stockholm("2026-03-03T09:00:00"), Motivation: "x"}, func(_ JourneyState, err error) {
			p, ok := AsFieldErrors(err)
			if !ok || len(p) != 5 {
				t.Errorf("want five missing areas, got %v", err)
			}
		})
	})
	h.at(start, "2026-03-03T11:00:00", h.env.CancelWorkflow)
	h.run(t, input("jobbgaranti", start, "g-anna"))
}

func TestThePlanOpensTheDeepenedPlanAndTheFirstFollowUp(t *testing.T) {
	start := stockholm("2026-03-02T09:00:00")
	h := newHarness(t, start)
	h.at(start, "2026-03-04T10:00:00", func() {
		h.update(t, UpdateRecordDeepenedPlan, DeepenedPlan{SignedAt: stockholm("2026-03-04T09:00:00"), Summary: "x"}, func(_ JourneyState, err error) {
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) || appErr.Type() != ErrTypeConflict {
				t.Errorf("a deepened plan before the plan: want a conflict, got %v", err)
			}
		})
	})
	h.at(start, "2026-03-06T10:00:00", func() {
		h.mustUpdate(t, UpdateRecordPlan, validPlan(stockholm("2026-03-06T09:00:00")), func(s JourneyState) {
			// Two weeks and four weeks after the plan, counted from its signing day.
			if d := deadline(t, s, "first_follow_up"); d.DueDate != "2026-03-20" {
				t.Errorf("first follow-up due %s, want 2026-03-20", d.DueDate)
			}
			if d := deadline(t, s, "deepened_plan"); d.DueDate != "2026-04-03" {
				t.Errorf("deepened plan due %s, want 2026-04-03", d.DueDate)
			}
		})
	})
	h.at(start, "2026-04-01T10:00:00", func() {
		h.mustUpdate(t, UpdateRecordDeepenedPlan, DeepenedPlan{
			SignedAt: stockholm("2026-04-01T09:00:00"), Summary: "work training with a provider",
			PurchasedServices: []PurchasedService{{Provider: "Arbetslivsresurs AB", Service: "work training"}},
		}, func(s JourneyState) {
			if d := viewOf(t, s.View(h.env.Now()), "deepened_plan"); d.Status != StatusMet || !*d.OnTime {
				t.Errorf("deepened plan: %+v", d)
			}
		})
	})
	h.at(start, "2026-04-20T10:00:00", h.env.CancelWorkflow)
	h.run(t, input("jobbgaranti", start, "g-anna"))

	equal(t, h.store.kindsFor("deepened_plan"), []string{"reminder@2026-03-31T08:00"})
}
