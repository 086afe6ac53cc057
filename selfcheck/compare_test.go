package selfcheck

import (
	"testing"
	"time"

	"github.com/stegvis/stegvis/activities"
	"github.com/stegvis/stegvis/program"
	"github.com/stegvis/stegvis/store"
	"github.com/stegvis/stegvis/workflows"
)

// The rules by which a journey's open deadlines are held against the read model's,
// each with the case it lets pass and, where it has one, the case it reports.
func TestCompareHoldsTheJourneyAgainstTheReadModel(t *testing.T) {
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	reminder := time.Date(2026, 12, 7, 7, 0, 0, 0, time.UTC) // two hours ago
	due := time.Date(2026, 12, 8, 7, 0, 0, 0, time.UTC)      // tomorrow
	escalation := time.Date(2026, 12, 9, 7, 0, 0, 0, time.UTC)
	plan := func(sent ...workflows.NoticeRecord) workflows.Deadline {
		return workflows.Deadline{ID: "plan", Kind: workflows.DeadlinePlan, Sent: sent, Schedule: program.Schedule{
			DueAt: due, Notices: []program.Notice{{Kind: program.NoticeReminder, At: reminder}, {Kind: program.NoticeDue, At: due},
				{Kind: program.NoticeEscalation, Level: 1, At: escalation}}}}
	}
	at := func(t time.Time) *time.Time { return &t }
	met := plan()
	met.MetAt = at(now.Add(-time.Hour))
	rm := func(next *time.Time) []store.OpenDeadlineRow {
		return []store.OpenDeadlineRow{{ParticipantID: "p", DeadlineID: "plan", NextNoticeAt: next, NextNoticeKnown: true}}
	}
	fresh := store.JourneyRow{ParticipantID: "p", Unit: "u", UpdatedAt: now.Add(-time.Minute)}
	old := store.JourneyRow{ParticipantID: "p", Unit: "u", UpdatedAt: now.Add(-time.Hour)}
	c := &Checker{Grace: 10 * time.Minute}
	for _, tc := range []struct {
		name    string
		j       store.JourneyRow
		rm      []store.OpenDeadlineRow
		state   workflows.JourneyState
		problem string // "" when they agree
	}{
		{"the same next notice agrees", old, rm(at(due)), workflows.JourneyState{Deadlines: []workflows.Deadline{plan(workflows.NoticeRecord{Index: 0, At: reminder})}}, ""},
		{"within the tolerance agrees", old, rm(at(due.Add(30 * time.Second))), workflows.JourneyState{Deadlines: []workflows.Deadline{plan(workflows.NoticeRecord{Index: 0, At: reminder})}}, ""},
		{"a later next notice in the read model is reported", old, rm(at(escalation)), workflows.JourneyState{Deadlines: []workflows.Deadline{plan(workflows.NoticeRecord{Index: 0, At: reminder})}},
			"plan: the read model plans the next notice at 2026-12-09 08:00, the journey at 2026-12-08 08:00"},
		{"a skipped reminder the read model still plans agrees", old, rm(at(reminder)), workflows.JourneyState{Deadlines: []workflows.Deadline{plan(workflows.NoticeRecord{Index: 0, At: reminder, Skipped: true})}}, ""},
		{"a reminder sent within the grace period agrees", old, rm(at(now.Add(-5 * time.Minute))), workflows.JourneyState{Deadlines: []workflows.Deadline{plan(workflows.NoticeRecord{Index: 0, At: reminder})}}, ""},
		{"a reminder sent two hours ago that the read model still plans is reported", old, rm(at(reminder)), workflows.JourneyState{Deadlines: []workflows.Deadline{plan(workflows.NoticeRecord{Index: 0, At: reminder})}},
			"plan: the read model plans the next notice at 2026-12-07 08:00, the journey at 2026-12-08 08:00"},
		{"no notice left in the read model is reported", old, rm(nil), workflows.JourneyState{Deadlines: []workflows.Deadline{plan()}},
			"plan: the read model has no notice left, the journey plans the next at 2026-12-07 08:00"},
		{"a deadline met in the journey, open in the read model, is reported", old, rm(at(reminder)), workflows.JourneyState{Deadlines: []workflows.Deadline{met}},
			"plan: open in the read model, met or closed in the journey"},
		{"a deadline open in the journey, missing from the read model, is reported", old, nil, workflows.JourneyState{Deadlines: []workflows.Deadline{plan()}},
			"plan: open in the journey, not in the read model"},
		{"a write on its way is not compared", fresh, nil, workflows.JourneyState{Deadlines: []workflows.Deadline{plan()}, Outbox: make([]activities.JourneyEvent, 1)}, ""},
		{"a read model row from before next notice times only compares what is open", old,
			[]store.OpenDeadlineRow{{ParticipantID: "p", DeadlineID: "plan"}}, workflows.JourneyState{Deadlines: []workflows.Deadline{plan()}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := c.compare(now, tc.j, tc.rm, tc.state)
			switch {
			case tc.problem == "" && f != nil:
				t.Fatalf("reported %q", f.Problem)
			case tc.problem != "" && f == nil:
				t.Fatalf("not reported, want %q", tc.problem)
			case tc.problem != "" && f.Problem != "The read model and the journey of participant p disagree on open deadlines: "+tc.problem+".":
				t.Fatalf("problem %q, want %q", f.Problem, tc.problem)
			}
		})
	}
}
