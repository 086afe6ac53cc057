// Package program holds the programmes a journey follows: their deadlines, reminders
// and escalation ladders, and the arithmetic that turns a rule into dates.
//
// A journey pins the programme it started on: the workflow receives a copy of the
// rules in its input, so changing a programme here changes new journeys only.
package program

import (
	"sort"
	"time"

	"github.com/stegvis/stegvis/calendar"
)

// Role is whom a notice goes to.
type Role string

// The roles of an escalation ladder.
const (
	RoleGuide       Role = "guide"
	RoleTeamLead    Role = "team_lead"
	RoleUnitManager Role = "unit_manager"
	RoleCaseWorker  Role = "case_worker" // the social-services officer who decides on the benefit
)

// NoticeHour is the local hour at which calendar-day reminders and escalations are
// sent: the start of a municipal working day.
const NoticeHour = 8

// Escalation is one rung of a ladder: who is told, how long after the deadline.
type Escalation struct {
	After Span `json:"after"`
	To    Role `json:"to"`
}

// DeadlineRule says when something is due and who hears about it.
type DeadlineRule struct {
	Within Span `json:"within"` // from the anchor event, e.g. the referral for the plan
	// Earliest opens a window: a review is held between Earliest and Within after the
	// last one. Zero for a plain deadline.
	Earliest     Span         `json:"earliest,omitzero"`
	RemindBefore Span         `json:"remindBefore,omitzero"` // a reminder this long before it is due
	Escalations  []Escalation `json:"escalations"`           // in order: level 1, 2, ...
}

// Deadlines are a programme's rules, by what they are for. Plan is required; a nil rule
// means the programme has no such deadline.
type Deadlines struct {
	Guide         *DeadlineRule `json:"guide,omitempty"`         // a guide assigned, from referral
	FirstMeeting  *DeadlineRule `json:"firstMeeting,omitempty"`  // the first meeting held, from referral
	Mapping       *DeadlineRule `json:"mapping,omitempty"`       // the mapping recorded, from referral
	Plan          DeadlineRule  `json:"plan"`                    // the action plan signed, from referral
	DeepenedPlan  *DeadlineRule `json:"deepenedPlan,omitempty"`  // the deepened plan, from the plan
	FirstFollowUp *DeadlineRule `json:"firstFollowUp,omitempty"` // the first follow-up, from the plan
	Review        *DeadlineRule `json:"review,omitempty"`        // each review, from the last follow-up
	Reschedule    *DeadlineRule `json:"reschedule,omitempty"`    // a new meeting, from a no-show
	Evaluation    *DeadlineRule `json:"evaluation,omitempty"`    // an evaluation, from a missed step milestone
}

// Step is a rung of the steps 1–5 ladder (source document 001): the share of
// participants who should have passed it by a time after referral.
type Step struct {
	Step          int  `json:"step"`
	By            Span `json:"by"`
	TargetPercent int  `json:"targetPercent"`
}

// PauseRule bounds stop-the-clock pauses.
type PauseRule struct {
	// MaxLength is how long a pause may last before the team lead hears of it.
	MaxLength Span `json:"maxLength,omitzero"`
}

// Attendance is the attendance requirement.
type Attendance struct {
	// NotifyCaseWorkerAfterNoShows: this many no-shows in a row notify the case worker.
	NotifyCaseWorkerAfterNoShows int `json:"notifyCaseWorkerAfterNoShows,omitempty"`
}

// Program is a versioned set of rules.
type Program struct {
	ID         string     `json:"id"`
	Version    int        `json:"version"`
	Name       string     `json:"name"`
	Source     string     `json:"source"` // the source document it encodes
	Deadlines  Deadlines  `json:"deadlines"`
	Steps      []Step     `json:"steps,omitempty"`
	Pause      PauseRule  `json:"pause"`
	Attendance Attendance `json:"attendance"`
}

// Lookup returns a shipped programme. Processes that read a programmes directory use
// their Catalog instead.
func Lookup(id string) (Program, bool) { return Default().Lookup(id) }

// NoticeKind tells reminders from escalations.
type NoticeKind string

// The kinds of notice.
const (
	NoticeReminder   NoticeKind = "reminder"   // before the deadline
	NoticeDue        NoticeKind = "due"        // on the day it falls due
	NoticeEscalation NoticeKind = "escalation" // after it has passed
	NoticeAttendance NoticeKind = "attendance" // no-shows in a row, for the case worker
)

// Notice is one planned notification of a deadline.
type Notice struct {
	Kind  NoticeKind `json:"kind"`
	Level int        `json:"level,omitempty"` // escalation level, 1-based
	To    Role       `json:"to"`
	At    time.Time  `json:"at"`
}

// Schedule is a rule turned into instants.
type Schedule struct {
	DueDate         string    `json:"dueDate"` // the Stockholm day by which it must be done
	DueFrom         time.Time `json:"dueFrom"` // status turns from upcoming to due
	DueAt           time.Time `json:"dueAt"`   // status turns overdue; anything before meets it
	Notices         []Notice  `json:"notices"` // sorted by At
	CalendarVersion string    `json:"calendarVersion"`
	// A review's window: the planned day (DueDate) lies inside it; overdue only after
	// WindowTo. Empty for plain deadlines.
	WindowFrom string `json:"windowFrom,omitempty"`
	WindowTo   string `json:"windowTo,omitempty"`
}

// Schedule computes the dates of a deadline counted from the anchor instant.
//
// Calendar spans: the deadline is the end of the due day; reminders and escalations go
// out at NoticeHour on their day, so nobody is told at midnight. Exact spans (demos):
// every instant is the anchor plus the durations, to the second; a rule is either all
// calendar spans or all exact ones.
func (r DeadlineRule) Schedule(c *calendar.Calendar, anchor time.Time) Schedule {
	if r.Within.IsExact() {
		return r.ScheduleDue(c, anchor.Add(r.Within.Duration))
	}
	return r.ScheduleDue(c, r.Within.AddDate(c, anchor, 1))
}

// Window returns the first and last day of a review window opened at anchor: from
// Earliest to Within after it. Without Earliest the window is the one day Within.
func (r DeadlineRule) Window(c *calendar.Calendar, anchor time.Time) (from, to time.Time) {
	if r.Within.IsExact() {
		to = anchor.Add(r.Within.Duration)
		from = anchor.Add(r.Earliest.Duration)
		if r.Earliest.IsZero() {
			from = to
		}
		return from, to
	}
	to = r.Within.AddDate(c, anchor, 1)
	from = to
	if !r.Earliest.IsZero() {
		from = r.Earliest.AddDate(c, anchor, 1)
	}
	return from, to
}

// ScheduleDue computes the notices of a deadline due on a given day (calendar rules:
// the Stockholm day of due) or at a given instant (exact rules).
func (r DeadlineRule) ScheduleDue(c *calendar.Calendar, due time.Time) Schedule {
	var s Schedule
	s.CalendarVersion = calendar.Version
	if r.Within.IsExact() {
		s.DueAt = due.In(calendar.Stockholm)
		s.DueFrom = s.DueAt
		s.DueDate = s.DueAt.Format(time.DateOnly)
		if r.RemindBefore.Duration > 0 {
			s.Notices = append(s.Notices, Notice{Kind: NoticeReminder, To: RoleGuide, At: s.DueAt.Add(-r.RemindBefore.Duration)})
		}
		s.Notices = append(s.Notices, Notice{Kind: NoticeDue, To: RoleGuide, At: s.DueAt})
		for i, e := range r.Escalations {
			s.Notices = append(s.Notices, Notice{Kind: NoticeEscalation, Level: i + 1, To: e.To, At: s.DueAt.Add(e.After.Duration)})
		}
	} else {
		due = calendar.Date(due)
		s.DueDate = due.Format(time.DateOnly)
		s.DueFrom = due
		s.DueAt = calendar.EndOfDay(due)
		if r.RemindBefore.N > 0 {
			s.Notices = append(s.Notices, Notice{Kind: NoticeReminder, To: RoleGuide, At: calendar.At(r.RemindBefore.AddDate(c, due, -1), NoticeHour, 0)})
		}
		s.Notices = append(s.Notices, Notice{Kind: NoticeDue, To: RoleGuide, At: calendar.At(due, NoticeHour, 0)})
		for i, e := range r.Escalations {
			s.Notices = append(s.Notices, Notice{Kind: NoticeEscalation, Level: i + 1, To: e.To, At: calendar.At(e.After.AddDate(c, due, 1), NoticeHour, 0)})
		}
	}
	sort.SliceStable(s.Notices, func(i, j int) bool { return s.Notices[i].At.Before(s.Notices[j].At) })
	return s
}

// ScheduleWindow schedules a review opened at anchor: reminders before and on the
// planned day (the window's first day when planned is zero), and the escalation ladder
// only after the window has closed.
func (r DeadlineRule) ScheduleWindow(c *calendar.Calendar, anchor, planned time.Time) Schedule {
	from, to := r.Window(c, anchor)
	if planned.IsZero() {
		planned = from
	}
	s := r.ScheduleDue(c, planned)
	closing := r.ScheduleDue(c, to)
	s.DueAt = closing.DueAt
	kept := s.Notices[:0]
	for _, n := range s.Notices {
		if n.Kind != NoticeEscalation {
			kept = append(kept, n)
		}
	}
	for _, n := range closing.Notices {
		if n.Kind == NoticeEscalation {
			kept = append(kept, n)
		}
	}
	s.Notices = kept
	sort.SliceStable(s.Notices, func(i, j int) bool { return s.Notices[i].At.Before(s.Notices[j].At) })
	if r.Within.IsExact() {
		s.WindowFrom, s.WindowTo = from.Format(time.RFC3339), to.Format(time.RFC3339)
	} else {
		s.WindowFrom, s.WindowTo = from.Format(time.DateOnly), to.Format(time.DateOnly)
	}
	return s
}

// Shift moves a schedule on after a pause. A calendar-day schedule (one whose due
// instant is the end of a day) moves every date by workdays working days and keeps each
// notice's clock time; an exact schedule moves every instant by length.
func Shift(c *calendar.Calendar, s Schedule, workdays int, length time.Duration) Schedule {
	out := s
	out.Notices = append([]Notice(nil), s.Notices...)
	if s.DueFrom.Equal(s.DueAt) { // exact
		out.DueAt, out.DueFrom = s.DueAt.Add(length), s.DueFrom.Add(length)
		out.DueDate = out.DueAt.Format(time.DateOnly)
		for i := range out.Notices {
			out.Notices[i].At = out.Notices[i].At.Add(length)
		}
		return out
	}
	if workdays == 0 {
		return out
	}
	move := func(t time.Time) time.Time {
		d := c.AddWorkdays(t, workdays)
		local := t.In(calendar.Stockholm)
		return time.Date(d.Year(), d.Month(), d.Day(), local.Hour(), local.Minute(), local.Second(), 0, calendar.Stockholm)
	}
	due := c.AddWorkdays(s.DueFrom, workdays)
	out.DueFrom, out.DueAt, out.DueDate = due, calendar.EndOfDay(due), due.Format(time.DateOnly)
	for i := range out.Notices {
		out.Notices[i].At = move(out.Notices[i].At)
	}
	if s.WindowFrom != "" {
		if f, err := time.ParseInLocation(time.DateOnly, s.WindowFrom, calendar.Stockholm); err == nil {
			out.WindowFrom = c.AddWorkdays(f, workdays).Format(time.DateOnly)
		}
		if t, err := time.ParseInLocation(time.DateOnly, s.WindowTo, calendar.Stockholm); err == nil {
			to := c.AddWorkdays(t, workdays)
			out.WindowTo = to.Format(time.DateOnly)
			out.DueAt = calendar.EndOfDay(to)
		}
	}
	return out
}
