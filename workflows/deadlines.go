package workflows

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/stegvis/stegvis/activities"
	"github.com/stegvis/stegvis/program"
)

// opening asks for one deadline to be opened.
type opening struct {
	id     string
	kind   DeadlineKind
	rule   *program.DeadlineRule
	anchor time.Time // counted from here
	due    time.Time // or due on this day, when set
	window bool      // a review: planned on due (or the window's start), overdue after the window
	// evaluate and step mark a step milestone.
	evaluate bool
	step     int
}

// openDeadlines computes the dates of new deadlines in one local activity, whose result
// history records, and adds them to the journey. A programme without a rule for a
// kind simply has no such deadline.
func (j *journey) openDeadlines(ctx workflow.Context, open ...opening) error {
	keep, in := scheduleInputs(open)
	if len(in) == 0 {
		return nil
	}
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 10 * time.Second})
	var out []program.Schedule
	if err := workflow.ExecuteLocalActivity(lctx, activities.ScheduleDeadlines, in).Get(lctx, &out); err != nil {
		return fmt.Errorf("schedule deadlines: %w", err)
	}
	j.addDeadlines(keep, out)
	return nil
}

// scheduleInputs drops the openings whose rule the programme leaves out and returns
// the rest with what the scheduler needs for each.
func scheduleInputs(open []opening) ([]opening, []activities.ScheduleInput) {
	var (
		keep []opening
		in   []activities.ScheduleInput
	)
	for _, o := range open {
		if o.rule == nil {
			continue
		}
		keep = append(keep, o)
		in = append(in, activities.ScheduleInput{Rule: *o.rule, Anchor: o.anchor, Due: o.due, Window: o.window})
	}
	return keep, in
}

func (j *journey) addDeadlines(keep []opening, out []program.Schedule) {
	for i, o := range keep {
		j.state.Deadlines = append(j.state.Deadlines, Deadline{ID: o.id, Kind: o.kind, Schedule: out[i], Anchor: o.anchor,
			Evaluate: o.evaluate, Step: o.step})
	}
	j.changed = true
}

// openInitialDeadlines opens what a referral starts: a guide (when none was given),
// the first meeting, the mapping and the plan, all counted from the referral.
func (j *journey) openInitialDeadlines(ctx workflow.Context) error {
	return j.openDeadlines(ctx, j.initialOpenings()...)
}

func (j *journey) initialOpenings() []opening {
	d := j.program.Deadlines
	ref := j.state.ReferredAt
	open := []opening{
		{id: string(DeadlineFirstMeeting), kind: DeadlineFirstMeeting, rule: d.FirstMeeting, anchor: ref},
		{id: string(DeadlineMapping), kind: DeadlineMapping, rule: d.Mapping, anchor: ref},
		{id: string(DeadlinePlan), kind: DeadlinePlan, rule: &d.Plan, anchor: ref},
	}
	if j.state.GuideID == "" {
		open = append([]opening{{id: string(DeadlineGuide), kind: DeadlineGuide, rule: d.Guide, anchor: ref}}, open...)
	}
	for _, st := range j.program.Steps {
		// A milestone is a deadline of its own: a reminder on the day, no ladder; passing
		// it unmet opens an evaluation.
		rule := program.DeadlineRule{Within: st.By}
		open = append(open, opening{id: fmt.Sprintf("%s-%d", DeadlineStep, st.Step), kind: DeadlineStep, rule: &rule,
			anchor: ref, evaluate: true, step: st.Step})
	}
	return open
}

// Opened is the state a new journey's first workflow task leaves: the referral and its
// first deadlines, computed by the same code and the same scheduler the workflow runs
// as a local activity. The API answers a start with it instead of a query, which could
// only be answered once a worker had run that task (issue 7: that wait cost 10× the
// start itself under load). Notices a backdated referral has already missed are sent
// by the workflow afterwards and show in the next read.
func Opened(in JourneyInput) (JourneyState, error) {
	if in.State != nil {
		return *in.State, nil
	}
	j := newJourney(in)
	keep, sin := scheduleInputs(j.initialOpenings())
	out, err := activities.ScheduleDeadlines(context.Background(), sin)
	if err != nil {
		return JourneyState{}, fmt.Errorf("schedule deadlines: %w", err)
	}
	j.addDeadlines(keep, out)
	return j.state, nil
}

// open returns the earliest open deadline of a kind, or nil.
func (j *journey) open(kind DeadlineKind) *Deadline {
	return j.earliestOpen(func(d *Deadline) bool { return d.Kind == kind })
}

func (j *journey) earliestOpen(match func(*Deadline) bool) *Deadline {
	var found *Deadline
	for i := range j.state.Deadlines {
		d := &j.state.Deadlines[i]
		if match(d) && d.isOpen() && (found == nil || d.DueAt.Before(found.DueAt)) {
			found = d
		}
	}
	return found
}

// meet closes the earliest open deadline of a kind as met at the time the thing
// happened (not when it was recorded), and reports whether there was one.
func (j *journey) meet(kind DeadlineKind, at time.Time) bool {
	return j.meetDeadline(j.open(kind), at)
}

// meetID closes an open deadline by id as met at a time.
func (j *journey) meetID(id string, at time.Time) bool {
	return j.meetDeadline(j.earliestOpen(func(d *Deadline) bool { return d.ID == id }), at)
}

func (j *journey) meetDeadline(d *Deadline, at time.Time) bool {
	if d == nil {
		return false
	}
	d.MetAt = &at
	j.changed = true
	return true
}

// closeAll ends every open deadline unmet, for a reason.
func (j *journey) closeAll(at time.Time, reason string) {
	for i := range j.state.Deadlines {
		d := &j.state.Deadlines[i]
		if d.isOpen() {
			d.ClosedAt, d.ClosedReason = &at, reason
		}
	}
	j.changed = true
}

// event adds to the journey's short timeline, keeping the latest TimelineLength, and
// records it for the read model.
func (j *journey) event(at time.Time, kind, summary string) {
	j.state.Timeline = append(j.state.Timeline, TimelineEvent{At: at, Kind: kind, Summary: summary})
	if n := len(j.state.Timeline); n > TimelineLength {
		j.state.Timeline = append([]TimelineEvent(nil), j.state.Timeline[n-TimelineLength:]...)
	}
	j.record(at, kind, summary)
}

// record queues an event for the read model; the loop writes the queue.
func (j *journey) record(at time.Time, kind, summary string) {
	j.state.EventSeq++
	j.state.Outbox = append(j.state.Outbox, activities.JourneyEvent{Seq: j.state.EventSeq, At: at, Kind: kind, Summary: summary})
	j.changed = true
}

// flush writes the queued events, with the journey as it is now, through an activity.
// Handlers may queue more while it waits; only the written ones leave the queue.
func (j *journey) flush(ctx workflow.Context) error {
	n := len(j.state.Outbox)
	if n == 0 {
		return nil
	}
	batch := append([]activities.JourneyEvent(nil), j.state.Outbox...)
	err := workflow.ExecuteActivity(notificationContext(ctx), activities.RecordJourneyEventsName, activities.JourneyEvents{
		ParticipantID: j.state.Start.ParticipantID,
		JourneyID:     workflow.GetInfo(ctx).FirstRunID,
		Events:        batch,
		Snapshot:      j.snapshot(),
	}).Get(ctx, nil)
	if err != nil {
		return fmt.Errorf("record journey events: %w", err)
	}
	j.state.Outbox = append([]activities.JourneyEvent(nil), j.state.Outbox[n:]...)
	return nil
}

// NextNoticeAt is when the deadline's first notice not yet handled (sent or skipped)
// is planned, or nil when every notice is handled or the deadline is met or closed. A
// pause leaves it as it is: the journey holds the notice until the resume shifts it.
// The read model keeps it, and the self-check compares the two.
//
// The snapshot carries it without a workflow.GetVersion guard: it only adds a field to
// an activity's input, which replay does not compare, so the commands stay the same.
func (d *Deadline) NextNoticeAt() *time.Time {
	if !d.isOpen() {
		return nil
	}
	for k := range d.Notices {
		if !d.handled(k) {
			at := d.Notices[k].At
			return &at
		}
	}
	return nil
}

// snapshot is the journey as the read model keeps it.
func (j *journey) snapshot() activities.JourneySnapshot {
	s := activities.JourneySnapshot{
		Unit: j.state.Unit, ProgramID: j.state.Program.ID, ProgramVersion: j.state.Program.Version,
		GuideID: j.state.GuideID, Phase: string(j.state.Phase), Step: j.state.Step, ReferredAt: j.state.ReferredAt,
		Priority:    j.state.Start.EffectivePriority(),
		Deadlines:   make([]activities.DeadlineSnapshot, 0, len(j.state.Deadlines)),
		NextNotices: true,
	}
	if j.state.Plan != nil {
		signed := j.state.Plan.SignedAt
		s.PlanSignedAt = &signed
	}
	if j.state.Exit != nil {
		at := j.state.Exit.At
		s.ExitedAt, s.ExitReason = &at, string(j.state.Exit.Reason)
	}
	for i := range j.state.Deadlines {
		d := &j.state.Deadlines[i]
		status := "open"
		switch {
		case d.MetAt != nil:
			status = "met"
		case d.ClosedAt != nil:
			status = "closed"
		}
		s.Deadlines = append(s.Deadlines, activities.DeadlineSnapshot{
			ID: d.ID, Kind: string(d.Kind), DueDate: d.DueDate, DueAt: d.DueAt, Status: status, MetAt: d.MetAt,
			EscalationLevel: d.escalationLevel(), NextNoticeAt: d.NextNoticeAt(),
		})
	}
	return s
}
