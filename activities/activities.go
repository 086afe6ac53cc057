// Package activities holds the journey's side effects: date arithmetic whose result
// must be recorded in history, and writes to stegvis's own PostgreSQL database.
package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/stegvis/stegvis/calendar"
	"github.com/stegvis/stegvis/program"
)

// Registered activity names. Workflows call activities by these names.
const (
	ScheduleDeadlineName   = "ScheduleDeadline"
	ScheduleDeadlinesName  = "ScheduleDeadlines"
	ShiftSchedulesName     = "ShiftSchedules"
	RecordNotificationName = "RecordNotification"
)

// ScheduleInput asks for the dates of one deadline: counted from Anchor, or due on Due
// when it is set (a review on the date the guide chose).
type ScheduleInput struct {
	Rule   program.DeadlineRule `json:"rule"`
	Anchor time.Time            `json:"anchor"`
	Due    time.Time            `json:"due,omitzero"`
	// Window schedules a review: planned on Due (or the window's first day), overdue
	// after the window closes.
	Window bool `json:"window,omitempty"`
}

// swedish is the calendar the local activities count with. It is read only through
// them, so their recorded results, not this value, decide a running journey's dates.
var swedish = calendar.Swedish()

// UseCalendar replaces the calendar the activities count with and returns a function
// that restores the previous one. For tests that change the holiday list under
// running journeys; not safe while activities run.
func UseCalendar(c *calendar.Calendar) (restore func()) {
	prev := swedish
	swedish = c
	return func() { swedish = prev }
}

// ScheduleDeadline turns a rule into dates. It runs as a local activity: the result is
// recorded in the journey's history, so a later holiday list never changes the dates of
// a running journey on replay.
func ScheduleDeadline(_ context.Context, in ScheduleInput) (program.Schedule, error) {
	if in.Window {
		return in.Rule.ScheduleWindow(swedish, in.Anchor, in.Due), nil
	}
	if !in.Due.IsZero() {
		return in.Rule.ScheduleDue(swedish, in.Due), nil
	}
	if in.Anchor.IsZero() {
		return program.Schedule{}, fmt.Errorf("schedule deadline: no anchor time")
	}
	return in.Rule.Schedule(swedish, in.Anchor), nil
}

// ScheduleDeadlines is ScheduleDeadline for several deadlines opened by one event, in
// one local activity.
func ScheduleDeadlines(ctx context.Context, in []ScheduleInput) ([]program.Schedule, error) {
	out := make([]program.Schedule, len(in))
	for i, r := range in {
		s, err := ScheduleDeadline(ctx, r)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

// Notification is one reminder or escalation for the inbox.
type Notification struct {
	// ID makes the write idempotent: a retried activity never writes twice.
	ID            string             `json:"id"`
	ParticipantID string             `json:"participantId"`
	Unit          string             `json:"unit"`
	DeadlineID    string             `json:"deadlineId"`
	DeadlineKind  string             `json:"deadlineKind"`
	Kind          program.NoticeKind `json:"kind"`
	Level         int                `json:"level"`
	RecipientRole program.Role       `json:"recipientRole"`
	RecipientID   string             `json:"recipientId,omitempty"` // the guide; others are resolved when written
	// GuideID is the participant's guide when the notice fires: their lead is the first
	// choice for an escalation.
	GuideID string `json:"guideId,omitempty"`
	// ResolvedFrom says how the recipient was found in the org chart (reports_to, unit),
	// empty when nobody was.
	ResolvedFrom string    `json:"resolvedFrom,omitempty"`
	DueAt        time.Time `json:"dueAt"`
	PlannedAt    time.Time `json:"plannedAt"`
}

// NotificationStore is where notifications are written.
type NotificationStore interface {
	InsertNotification(ctx context.Context, n Notification) (inserted bool, err error)
}

// Directory resolves who holds a role, from the org chart as it is now.
type Directory interface {
	ResolveRecipient(ctx context.Context, role, unit, guideID string) (id, how string, err error)
}

// Activities holds the dependencies of the journey's activities.
type Activities struct {
	Notifications NotificationStore
	Journal       JournalStore
	// Directory, when set, addresses notices for team leads, unit managers and case
	// workers when they are written, so a new team lead gets the next escalation.
	Directory Directory
	// Delivery sends escalations by email and webhook; nil sends nothing.
	Delivery *Delivery
	// Digests collects the daily digests; nil sends none.
	Digests DigestStore
	// Retention finds and erases the personal data of participants whose retention
	// period has passed, and Temporal deletes their journey histories; EraseExpired
	// refuses to run without both.
	Retention RetentionStore
	Temporal  RetentionTemporal
	// SelfCheck runs the daily self-check; RunSelfCheck refuses to run without it.
	SelfCheck SelfChecker
}

// DeliverNotification sends a written notification out by the configured channels.
func (a *Activities) DeliverNotification(ctx context.Context, id string) error {
	if a.Delivery == nil {
		return nil
	}
	return a.Delivery.DeliverNotification(ctx, id)
}

// RecordNotification writes a notification to PostgreSQL, once.
func (a *Activities) RecordNotification(ctx context.Context, n Notification) error {
	if n.RecipientID == "" && a.Directory != nil {
		id, how, err := a.Directory.ResolveRecipient(ctx, string(n.RecipientRole), n.Unit, n.GuideID)
		if err != nil {
			return fmt.Errorf("resolve %s of %s: %w", n.RecipientRole, n.Unit, err)
		}
		if id != "" {
			n.RecipientID, n.ResolvedFrom = id, how
		}
	}
	if _, err := a.Notifications.InsertNotification(ctx, n); err != nil {
		return fmt.Errorf("record %s %s for deadline %s: %w", n.Kind, n.ID, n.DeadlineID, err)
	}
	return nil
}

// ShiftInput moves deadlines on by a pause: every calendar-day date by the working
// days the pause covered, every exact instant by its length.
type ShiftInput struct {
	Schedules []program.Schedule `json:"schedules"`
	From      time.Time          `json:"from"`
	To        time.Time          `json:"to"`
}

// ShiftResult is the shifted schedules and the working days the pause covered.
type ShiftResult struct {
	Schedules   []program.Schedule `json:"schedules"`
	WorkdaysOff int                `json:"workdaysOff"`
}

// ShiftSchedules runs as a local activity, so the holiday list it reads is recorded.
func ShiftSchedules(_ context.Context, in ShiftInput) (ShiftResult, error) {
	if in.To.Before(in.From) {
		return ShiftResult{}, fmt.Errorf("shift schedules: pause ends before it starts")
	}
	off := 0
	for d := calendar.Date(in.From); d.Before(calendar.Date(in.To)); d = calendar.AddDays(d, 1) {
		if swedish.IsWorkday(d) {
			off++
		}
	}
	length := in.To.Sub(in.From)
	out := ShiftResult{WorkdaysOff: off, Schedules: make([]program.Schedule, len(in.Schedules))}
	for i, s := range in.Schedules {
		out.Schedules[i] = program.Shift(swedish, s, off, length)
	}
	return out, nil
}
