package workflows

import (
	"fmt"
	"testing"
	"time"

	"github.com/stegvis/stegvis/calendar"
	"github.com/stegvis/stegvis/program"
)

// TestAWholeYearOnTimeSendsNoEscalation walks each shipped programme through a year in
// which the guide does everything on time: the first meeting and the mapping on day 1,
// the plan within the deadline, the deepened plan and the first follow-up, a review
// every four weeks, the steps by their milestones, and an exit into work. Not one
// escalation goes out, every deadline is met on time, and the history stays bounded.
func TestAWholeYearOnTimeSendsNoEscalation(t *testing.T) {
	for _, programID := range []string{"jobbgaranti", "steg"} {
		t.Run(programID, func(t *testing.T) {
			start := stockholm("2026-01-12T09:00:00") // a Monday
			h := newHarness(t, start)
			on := func(day time.Time, fn func()) { h.env.RegisterDelayedCallback(fn, calendar.At(day, 10, 0).Sub(start)) }
			at := func(day time.Time) time.Time { return calendar.At(day, 9, 30) }
			day1 := calendar.Swedish().AddWorkdays(start, 1)
			on(day1, func() {
				h.mustUpdate(t, UpdateRecordMeeting, Meeting{Kind: MeetingFirst, Outcome: OutcomeHeld, OccurredAt: at(day1)}, nil)
			})
			on(day1.Add(time.Minute), func() { h.mustUpdate(t, UpdateRecordMapping, validMapping("2026-01-13T09:30:00"), nil) })
			planDay := calendar.Swedish().AddWorkdays(start, 4)
			on(planDay, func() { h.mustUpdate(t, UpdateRecordPlan, validPlan(at(planDay)), nil) })
			followUp := calendar.AddDays(planDay, 13)
			on(followUp, func() {
				h.mustUpdate(t, UpdateRecordMeeting, Meeting{Kind: MeetingFollowUp, Outcome: OutcomeHeld, OccurredAt: at(followUp)}, nil)
			})
			if programID == "jobbgaranti" {
				deep := calendar.AddDays(planDay, 25)
				on(deep, func() {
					h.mustUpdate(t, UpdateRecordDeepenedPlan, DeepenedPlan{SignedAt: at(deep), Summary: "work training with a provider"}, nil)
				})
			}
			// A review every four weeks, on the first day of each window.
			review := calendar.AddDays(followUp, 28)
			reviews := 0
			for review.Before(stockholm("2027-01-01T00:00:00")) {
				day := review
				on(day, func() {
					h.mustUpdate(t, UpdateRecordMeeting, Meeting{Kind: MeetingReview, Outcome: OutcomeHeld, OccurredAt: at(day),
						Participants: []string{"participant", "guide", "case_worker"}}, nil)
				})
				reviews++
				review = calendar.AddDays(review, 28)
			}
			if programID == "steg" {
				for k, passed := range []string{"2026-03-20", "2026-06-19", "2026-09-18", "2026-12-18", "2027-01-08"} {
					day, _ := time.ParseInLocation(time.DateOnly, passed, calendar.Stockholm)
					step := k + 1
					on(day, func() { h.mustUpdate(t, UpdatePassStep, PassStep{Step: step, PassedAt: at(day)}, nil) })
				}
			}
			exitDay := stockholm("2027-01-11T00:00:00")
			on(exitDay, func() {
				h.mustUpdate(t, UpdateExit, Exit{Reason: ExitEmploymentRegular, At: at(exitDay)}, func(s JourneyState) {
					v := s.View(h.env.Now())
					for _, d := range v.Completed {
						if d.Status == StatusMet && !*d.OnTime {
							t.Errorf("deadline %s met late (due %s, met %s)", d.ID, d.DueDate, d.MetAt)
						}
						if d.Status == StatusClosed && d.Kind != DeadlineReview {
							t.Errorf("deadline %s was still open at the exit", d.ID)
						}
					}
					if s.Meetings.Reviews < reviews || (programID == "steg" && s.Step != 5) {
						t.Errorf("reviews %d (want %d), step %d", s.Meetings.Reviews, reviews, s.Step)
					}
				})
			})
			h.env.ExecuteWorkflow(JourneyWorkflowType, input(programID, start, "g-anna"))
			if err := h.env.GetWorkflowError(); err != nil {
				t.Fatalf("the year did not end in an exit: %v", err)
			}
			reminders := 0
			for _, n := range h.store.sent {
				if n.Kind == program.NoticeEscalation {
					t.Errorf("escalation in an on-time year: %s level %d at %s", n.DeadlineID, n.Level, n.RecordedAt)
				}
				reminders++
			}
			if reminders < reviews {
				t.Errorf("only %d reminders in a year of %d reviews", reminders, reviews)
			}
		})
	}
}

// TestEveryMissedDeadlineClimbsItsWholeLadder lets each deadline of each shipped
// programme pass with nothing recorded and checks that every reminder and every
// escalation level of its rule goes out once, at its time.
func TestEveryMissedDeadlineClimbsItsWholeLadder(t *testing.T) {
	type tc struct {
		programID, deadlineID string
		rule                  *program.DeadlineRule
		anchor                string // when the deadline's counting starts
		guide                 string
		planAt                string // record the plan then, to open the plan's deadlines
	}
	var tests []tc
	for _, id := range []string{"jobbgaranti", "steg"} {
		p, _ := program.Lookup(id)
		d := p.Deadlines
		tests = append(tests,
			tc{id, "guide", d.Guide, "2026-03-02T09:00:00", "", ""},
			tc{id, "first_meeting", d.FirstMeeting, "2026-03-02T09:00:00", "g-anna", ""},
			tc{id, "mapping", d.Mapping, "2026-03-02T09:00:00", "g-anna", ""},
			tc{id, "plan", &d.Plan, "2026-03-02T09:00:00", "g-anna", ""},
			tc{id, "first_follow_up", d.FirstFollowUp, "2026-03-03T09:00:00", "g-anna", "2026-03-03T09:00:00"},
		)
		if d.DeepenedPlan != nil {
			tests = append(tests, tc{id, "deepened_plan", d.DeepenedPlan, "2026-03-03T09:00:00", "g-anna", "2026-03-03T09:00:00"})
		}
	}
	for _, tt := range tests {
		t.Run(tt.programID+"/"+tt.deadlineID, func(t *testing.T) {
			start := stockholm("2026-03-02T09:00:00")
			h := newHarness(t, start)
			if tt.planAt != "" {
				h.at(start, "2026-03-03T10:00:00", func() { h.mustUpdate(t, UpdateRecordPlan, validPlan(stockholm(tt.planAt)), nil) })
			}
			h.at(start, "2026-06-30T10:00:00", h.env.CancelWorkflow)
			h.run(t, input(tt.programID, start, tt.guide))

			sched := tt.rule.Schedule(calendar.Swedish(), stockholm(tt.anchor))
			var want []string
			for _, n := range sched.Notices {
				k := string(n.Kind)
				if n.Kind == program.NoticeEscalation {
					k += fmt.Sprintf("-%d:%s", n.Level, n.To)
				}
				want = append(want, k+"@"+n.At.In(calendar.Stockholm).Format("2006-01-02T15:04"))
			}
			if len(tt.rule.Escalations) == 0 || len(want) < 2 {
				t.Fatalf("rule without a ladder: %+v", tt.rule)
			}
			equal(t, h.store.kindsFor(tt.deadlineID), want)
		})
	}
}
