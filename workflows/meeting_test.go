package workflows

import (
	"errors"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/stegvis/stegvis/program"
)

func meeting(kind MeetingKind, outcome Outcome, at string) Meeting {
	return Meeting{Kind: kind, Outcome: outcome, OccurredAt: stockholm(at), Participants: []string{"participant", "guide"}}
}

func TestAHeldFirstMeetingMeetsItsDeadline(t *testing.T) {
	start := stockholm("2026-03-02T09:00:00")
	h := newHarness(t, start)
	h.at(start, "2026-03-03T11:00:00", func() {
		h.mustUpdate(t, UpdateRecordMeeting, meeting(MeetingFirst, OutcomeHeld, "2026-03-03T10:00:00"), func(s JourneyState) {
			if d := viewOf(t, s.View(h.env.Now()), "first_meeting"); d.Status != StatusMet || !*d.OnTime {
				t.Errorf("first meeting on day 1: %+v", d)
			}
		})
	})
	h.at(start, "2026-03-10T10:00:00", h.env.CancelWorkflow)
	h.run(t, input("jobbgaranti", start, "g-anna"))
	equal(t, h.store.kindsFor("first_meeting"), []string{"due@2026-03-03T08:00"})
}

func TestTheFirstFollowUpOpensAReviewWhoseLadderWaitsForTheWindowToClose(t *testing.T) {
	// Follow-ups: two weeks after the plan, then every 4–6 weeks (source document 001).
	start := stockholm("2026-03-02T09:00:00")
	h := newHarness(t, start)
	h.at(start, "2026-03-06T10:00:00", func() {
		h.mustUpdate(t, UpdateRecordPlan, validPlan(stockholm("2026-03-06T09:00:00")), nil)
	})
	h.at(start, "2026-03-19T11:00:00", func() {
		h.mustUpdate(t, UpdateRecordMeeting, meeting(MeetingFollowUp, OutcomeHeld, "2026-03-19T10:00:00"), func(s JourneyState) {
			v := s.View(h.env.Now())
			if d := viewOf(t, v, "first_follow_up"); d.Status != StatusMet || !*d.OnTime {
				t.Errorf("first follow-up: %+v", d)
			}
			r := deadline(t, s, "review-1")
			if r.WindowFrom != "2026-04-16" || r.WindowTo != "2026-04-30" || r.DueDate != "2026-04-16" {
				t.Errorf("review window %s..%s planned %s, want 2026-04-16..2026-04-30 planned on its first day", r.WindowFrom, r.WindowTo, r.DueDate)
			}
		})
	})
	// Past the planned day but inside the window: reminded, not escalated.
	h.at(start, "2026-04-28T10:00:00", func() {
		if d := viewOf(t, h.state(t).View(h.env.Now()), "review-1"); d.Status != StatusDue || d.EscalationLevel != 0 {
			t.Errorf("inside the window: %+v", d)
		}
	})
	h.at(start, "2026-05-06T10:00:00", h.env.CancelWorkflow)
	h.run(t, input("jobbgaranti", start, "g-anna"))

	// The window closes Thursday 30 April; Friday 1 May is a public holiday, so two
	// working days later is Tuesday 5 May.
	equal(t, h.store.kindsFor("review-1"), []string{
		"reminder@2026-04-14T08:00",
		"due@2026-04-16T08:00",
		"escalation-1:team_lead@2026-05-05T08:00",
	})
}

func TestAReviewSetsTheNextReviewInsideTheWindow(t *testing.T) {
	start := stockholm("2026-03-02T09:00:00")
	h := newHarness(t, start)
	h.at(start, "2026-03-06T10:00:00", func() {
		h.mustUpdate(t, UpdateRecordPlan, validPlan(stockholm("2026-03-06T09:00:00")), nil)
	})
	h.at(start, "2026-03-19T11:00:00", func() {
		m := meeting(MeetingFollowUp, OutcomeHeld, "2026-03-19T10:00:00")
		m.NextReviewAt = stockholm("2026-05-20T00:00:00")
		h.update(t, UpdateRecordMeeting, m, func(_ JourneyState, err error) {
			p, ok := AsFieldErrors(err)
			if !ok || p[0].Field != "nextReviewAt" || !strings.Contains(p[0].Message, "2026-04-16 to 2026-04-30") {
				t.Errorf("a review outside the window: %v", err)
			}
		})
	})
	h.at(start, "2026-03-19T12:00:00", func() {
		m := meeting(MeetingFollowUp, OutcomeHeld, "2026-03-19T10:00:00")
		m.NextReviewAt = stockholm("2026-04-23T00:00:00")
		h.mustUpdate(t, UpdateRecordMeeting, m, func(s JourneyState) {
			if r := deadline(t, s, "review-1"); r.DueDate != "2026-04-23" {
				t.Errorf("planned review on %s, want 2026-04-23", r.DueDate)
			}
		})
	})
	h.at(start, "2026-04-23T11:00:00", func() {
		h.mustUpdate(t, UpdateRecordMeeting, meeting(MeetingReview, OutcomeHeld, "2026-04-23T10:00:00"), func(s JourneyState) {
			if d := viewOf(t, s.View(h.env.Now()), "review-1"); d.Status != StatusMet {
				t.Errorf("review-1 after the review: %+v", d)
			}
			if r := deadline(t, s, "review-2"); r.WindowFrom != "2026-05-21" {
				t.Errorf("the next window counts from this review: %s", r.WindowFrom)
			}
		})
	})
	h.at(start, "2026-04-24T10:00:00", h.env.CancelWorkflow)
	h.run(t, input("jobbgaranti", start, "g-anna"))
}

func TestTwoNoShowsInARowNotifyTheCaseWorker(t *testing.T) {
	start := stockholm("2026-03-02T09:00:00")
	h := newHarness(t, start)
	h.at(start, "2026-03-03T11:00:00", func() {
		h.mustUpdate(t, UpdateRecordMeeting, meeting(MeetingFirst, OutcomeNoShow, "2026-03-03T10:00:00"), func(s JourneyState) {
			if d := deadline(t, s, "reschedule-1"); d.DueDate != "2026-03-10" {
				t.Errorf("a no-show opens a rescheduling deadline five working days on: %s", d.DueDate)
			}
		})
	})
	h.at(start, "2026-03-05T11:00:00", func() {
		h.mustUpdate(t, UpdateRecordMeeting, meeting(MeetingFirst, OutcomeNoShow, "2026-03-05T10:00:00"), nil)
	})
	h.at(start, "2026-03-06T11:00:00", func() {
		h.mustUpdate(t, UpdateRecordMeeting, meeting(MeetingFirst, OutcomeHeld, "2026-03-06T10:00:00"), func(s JourneyState) {
			v := s.View(h.env.Now())
			if viewOf(t, v, "reschedule-1").Status != StatusMet || viewOf(t, v, "reschedule-2").Status != StatusMet {
				t.Errorf("a held meeting meets every pending rescheduling")
			}
			if s.Meetings.NoShowsInARow != 0 || s.Meetings.NoShows != 2 {
				t.Errorf("counts: %+v", s.Meetings)
			}
		})
	})
	h.at(start, "2026-03-09T11:00:00", func() {
		// One more no-show after a held meeting is not two in a row.
		h.mustUpdate(t, UpdateRecordMeeting, meeting(MeetingOther, OutcomeNoShow, "2026-03-09T10:00:00"), nil)
	})
	h.at(start, "2026-03-20T10:00:00", h.env.CancelWorkflow)
	h.run(t, input("jobbgaranti", start, "g-anna"))

	var caseWorker []sent
	for _, n := range h.store.sent {
		if n.Kind == program.NoticeAttendance {
			caseWorker = append(caseWorker, n)
		}
	}
	if len(caseWorker) != 1 || caseWorker[0].RecipientRole != program.RoleCaseWorker {
		t.Fatalf("want one notice to the case worker, got %+v", caseWorker)
	}
}

func TestANoShowInTheFutureIsRejected(t *testing.T) {
	start := stockholm("2026-03-02T09:00:00")
	h := newHarness(t, start)
	h.at(start, "2026-03-03T11:00:00", func() {
		h.update(t, UpdateRecordMeeting, meeting(MeetingFirst, OutcomeNoShow, "2026-03-04T10:00:00"), func(_ JourneyState, err error) {
			p, ok := AsFieldErrors(err)
			if !ok || p[0].Field != "occurredAt" || !strings.Contains(p[0].Message, "future") {
				t.Errorf("got %v", err)
			}
		})
	})
	h.at(start, "2026-03-03T12:00:00", func() {
		h.update(t, UpdateRecordMeeting, meeting(MeetingReview, OutcomeHeld, "2026-03-03T10:00:00"), func(_ JourneyState, err error) {
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) || appErr.Type() != ErrTypeConflict {
				t.Errorf("a review before the plan: want a conflict, got %v", err)
			}
		})
	})
	h.at(start, "2026-03-03T13:00:00", h.env.CancelWorkflow)
	h.run(t, input("jobbgaranti", start, "g-anna"))
}
