// Package activities holds the journey's side effects: date arithmetic whose result
// must be recorded in history, and writes to stegvis's own PostgreSQL database.
package activities

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"

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
	// Failures records read-model writes that failed for good; nil uses Journal when it
	// can (the store does), else such failures are only logged and counted.
	Failures FailureStore
	// Metrics counts notifications, deliveries and failures; nil counts nothing.
	Metrics SideEffectMetrics
}

// failures is where permanent write failures are recorded, or nil.
func (a *Activities) failures() FailureStore {
	if a.Failures != nil {
		return a.Failures
	}
	f, _ := a.Journal.(FailureStore)
	return f
}

// Activity names of the delivery workflow's side effects.
const (
	// GiveUpDeliveryName records a delivery that transient failures kept from succeeding.
	GiveUpDeliveryName = "GiveUpDelivery"
)

// DeliverNotification sends a written notification out by the configured channels.
func (a *Activities) DeliverNotification(ctx context.Context, id string) error {
	if a.Delivery == nil {
		return nil
	}
	return a.Delivery.DeliverNotification(ctx, id, a.Metrics)
}

// GiveUpInput names a notification whose delivery was given up and after how long.
type GiveUpInput struct {
	ID    string        `json:"id"`
	After time.Duration `json:"after"`
}

// GiveUpDelivery records every channel still undelivered as failed for good.
func (a *Activities) GiveUpDelivery(ctx context.Context, in GiveUpInput) error {
	if a.Delivery == nil {
		return nil
	}
	return a.Delivery.GiveUp(ctx, in.ID, in.After, a.Metrics)
}

// RecordNotification writes a notification to PostgreSQL, once (its id is the key, so
// a retry never writes twice). Text that PostgreSQL refuses (NUL, invalid UTF-8, which
// slipped past validation) is cleaned and the notification written all the same, and
// the failure recorded and alerted; if even that is refused, the error is permanent so
// that the journey goes on to its later notices. Anything else is transient.
func (a *Activities) RecordNotification(ctx context.Context, n Notification) error {
	inserted, err := a.writeNotification(ctx, n)
	code, permanent := permanentDBError(err)
	if err != nil && !permanent {
		a.journalTransient()
		return err
	}
	if permanent {
		c := n
		c.ID, c.ParticipantID, c.Unit, c.DeadlineID, c.DeadlineKind = clean(n.ID), clean(n.ParticipantID), clean(n.Unit), clean(n.DeadlineID), clean(n.DeadlineKind)
		c.RecipientID, c.GuideID, c.ResolvedFrom = clean(n.RecipientID), clean(n.GuideID), clean(n.ResolvedFrom)
		var err2 error
		inserted, err2 = a.writeNotification(ctx, c)
		code2, permanent2 := permanentDBError(err2)
		if err2 != nil && !permanent2 {
			a.journalTransient()
			return err2
		}
		reason := fmt.Sprintf("notification %s: PostgreSQL refused its text (SQLSTATE %s); written with the text cleaned", c.ID, code)
		if permanent2 {
			reason = fmt.Sprintf("notification %s: PostgreSQL refused it (SQLSTATE %s, then %s with the text cleaned); not written", c.ID, code, code2)
		}
		journey, _, _ := strings.Cut(c.ID, "/")
		if err := a.recordJournalFailure(ctx, JournalWriteFailure{ParticipantID: c.ParticipantID, JourneyID: journey, Reason: reason}); err != nil {
			return err
		}
		if permanent2 {
			return nonRetryable(ErrTypeNotificationPermanent, reason)
		}
	}
	if inserted && a.Metrics != nil {
		a.Metrics.NotificationWritten(string(n.Kind), time.Since(n.PlannedAt))
	}
	return nil
}

func (a *Activities) writeNotification(ctx context.Context, n Notification) (bool, error) {
	if n.RecipientID == "" && a.Directory != nil {
		id, how, err := a.Directory.ResolveRecipient(ctx, string(n.RecipientRole), n.Unit, n.GuideID)
		if err != nil {
			return false, fmt.Errorf("resolve %s of %s: %w", n.RecipientRole, n.Unit, err)
		}
		if id != "" {
			n.RecipientID, n.ResolvedFrom = id, how
		}
	}
	inserted, err := a.Notifications.InsertNotification(ctx, n)
	if err != nil {
		return false, fmt.Errorf("record %s %s for deadline %s: %w", n.Kind, n.ID, n.DeadlineID, err)
	}
	return inserted, nil
}

// recordJournalFailure records, counts and logs a read-model write that failed for good.
func (a *Activities) recordJournalFailure(ctx context.Context, f JournalWriteFailure) error {
	if fs := a.failures(); fs != nil {
		if err := fs.RecordJournalWriteFailure(ctx, f); err != nil {
			return err
		}
	}
	if a.Metrics != nil {
		a.Metrics.JournalWriteFailed(ClassPermanent)
	}
	activity.GetLogger(ctx).Error("read-model write failed for good; see journal_write_failures", "participant", f.ParticipantID,
		"journey", f.JourneyID, "firstSeq", f.FirstSeq, "lastSeq", f.LastSeq, "reason", f.Reason)
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
