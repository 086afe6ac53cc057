package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/stegvis/stegvis/activities"
	"github.com/stegvis/stegvis/program"
)

// Changing this file changes what running journeys replay. Every change to the order or
// kind of commands must be guarded with workflow.GetVersion under a new change ID, and
// a history of the previous code must be committed under testdata/histories so that
// TestReplayCommittedHistories proves old journeys still replay (see README,
// "Changing workflow code").

// Journey is the workflow of one participant's journey. It is a thin entry point; the
// state and the loop live in journey.
func Journey(ctx workflow.Context, in JourneyInput) (JourneyResult, error) {
	j := newJourney(in)
	if err := j.registerHandlers(ctx); err != nil {
		return JourneyResult{}, err
	}
	if in.State == nil {
		if err := j.openInitialDeadlines(ctx); err != nil {
			return JourneyResult{}, err
		}
		j.e2ePatchStart(ctx) // a no-op outside the e2e test's patched build (e2epatch.go)
	}
	// Once per run, before any handler can run: a run that began on the old code keeps
	// the old path until it continues as new (sideeffects.go).
	j.apart = workflow.GetVersion(ctx, SideEffectsApartChangeID, workflow.DefaultVersion, 1) == 1
	j.ready = true
	return j.run(ctx)
}

type journey struct {
	program program.Program
	state   JourneyState
	// changed wakes the loop when a handler has changed the state.
	changed bool
	// lastIndex is what this run last upserted as search attributes; nil at the start
	// of a run, so every run sets them once.
	lastIndex *searchValues
	// ready is set once the journey's first deadlines exist. Handlers are registered
	// before that, so that an update sent together with the start is not rejected, and
	// wait for it before they change anything.
	ready bool
	// apart runs side effects apart from the clock (SideEffectsApartChangeID).
	apart bool
	// flushRetryAt is when queued events that could not be written are tried again, and
	// flushWait the backoff that led there (apart only).
	flushRetryAt time.Time
	flushWait    time.Duration
}

func newJourney(in JourneyInput) *journey {
	j := &journey{program: in.Program}
	if in.State != nil {
		j.state = *in.State
		return j
	}
	j.state = JourneyState{
		Start:      in.Start,
		Program:    refOf(in.Program),
		Unit:       in.Start.Unit,
		GuideID:    in.Start.GuideID,
		Phase:      PhasePlanning,
		ReferredAt: in.Start.ReferredAt,
		Deadlines:  []Deadline{},
		Indexed:    in.Index,
	}
	j.event(in.Start.ReferredAt, "referred", "referred to "+in.Program.Name+" in "+in.Start.Unit)
	if in.Start.GuideID == "" {
		j.state.Phase = PhaseWaitingForGuide
	} else {
		j.state.Guides = []GuideAssignment{{GuideID: in.Start.GuideID, From: in.Start.ReferredAt}}
	}
	return j
}

func (j *journey) run(ctx workflow.Context) (JourneyResult, error) {
	for {
		if j.state.Phase == PhaseExited {
			// Let every update in flight answer, and the read model hear of it, before
			// the workflow completes.
			if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
				return JourneyResult{}, err
			}
			if err := j.flushAll(ctx); err != nil {
				return JourneyResult{}, err
			}
			if err := j.index(ctx); err != nil {
				return JourneyResult{}, err
			}
			return JourneyResult{Phase: PhaseExited}, nil
		}
		// Reset before the work below: a handler that changes the journey while an
		// activity is awaited sets it again, and the wait at the end returns at once.
		j.changed = false
		if err := j.sendDueNotices(ctx); err != nil {
			return JourneyResult{}, err
		}
		if j.apart {
			j.flushApart(ctx) // a failure keeps the events queued and sets flushRetryAt
		} else if err := j.flush(ctx); err != nil {
			return JourneyResult{}, err
		}
		if err := j.index(ctx); err != nil {
			return JourneyResult{}, err
		}
		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return JourneyResult{}, j.continueAsNew(ctx)
		}
		next, ok := j.nextNoticeAt()
		if j.apart && len(j.state.Outbox) > 0 && !j.flushRetryAt.IsZero() && (!ok || j.flushRetryAt.Before(next)) {
			next, ok = j.flushRetryAt, true
		}
		if !ok {
			if err := workflow.Await(ctx, func() bool { return j.changed }); err != nil {
				return JourneyResult{}, err
			}
			continue
		}
		if wait := next.Sub(workflow.Now(ctx)); wait > 0 {
			if _, err := workflow.AwaitWithTimeout(ctx, wait, func() bool { return j.changed }); err != nil {
				return JourneyResult{}, err
			}
		}
	}
}

// flushAll writes every queued event before the workflow completes.
func (j *journey) flushAll(ctx workflow.Context) error {
	if j.apart {
		return j.flushBeforeExit(ctx)
	}
	return j.flush(ctx)
}

// continueAsNew starts a fresh run with the same state, once every update in flight has
// finished, so that no accepted update is lost and the history stays bounded.
func (j *journey) continueAsNew(ctx workflow.Context) error {
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return err
	}
	state := j.state
	return workflow.NewContinueAsNewError(ctx, JourneyWorkflowType, JourneyInput{
		Start: j.state.Start, Program: j.program, State: &state,
	})
}

// active reports whether a deadline's notices run now: open, and not stopped by a
// pause (the pause's own limit runs during it).
func (j *journey) active(d *Deadline) bool {
	return d.isOpen() && (j.state.Pause == nil || d.Kind == DeadlinePauseLimit)
}

// nextNoticeAt is the time of the earliest notice not yet handled on an active
// deadline, or of a step milestone whose passing opens an evaluation.
func (j *journey) nextNoticeAt() (time.Time, bool) {
	var next time.Time
	consider := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	for i := range j.state.Deadlines {
		d := &j.state.Deadlines[i]
		if !j.active(d) {
			continue
		}
		for k, n := range d.Notices {
			if !d.handled(k) {
				consider(n.At)
			}
		}
		if d.Evaluate && !d.Evaluated {
			consider(d.DueAt)
		}
	}
	return next, !next.IsZero()
}

// sendDueNotices sends every notice whose time has come. It re-checks the deadline
// before each notice, so a plan recorded a moment before an escalation stops it.
//
// A journey that wakes late (one imported with a past referral, or a worker that was
// down) catches up without a storm: a reminder is skipped once a later notice is also
// due or the deadline it announces has already passed; each escalation level is sent once.
//
// Handlers run while an activity is awaited and may add or shift deadlines, so the
// deadline is looked up again by index after every wait (deadlines are only appended).
func (j *journey) sendDueNotices(ctx workflow.Context) error {
	for i := 0; i < len(j.state.Deadlines); i++ {
		for k := 0; k < len(j.state.Deadlines[i].Notices); k++ {
			d := &j.state.Deadlines[i]
			n := d.Notices[k]
			now := workflow.Now(ctx)
			if !j.active(d) || n.At.After(now) {
				break // notices are sorted by time; the rest are later
			}
			if d.handled(k) {
				continue
			}
			if n.Kind != program.NoticeEscalation && (stale(d, n, now) || laterNoticeDue(d, k, now)) {
				d.Sent = append(d.Sent, NoticeRecord{Index: k, At: now, Skipped: true})
				continue
			}
			if err := j.notify(ctx, i, k); err != nil {
				return err
			}
			d = &j.state.Deadlines[i]
			d.Sent = append(d.Sent, NoticeRecord{Index: k, At: workflow.Now(ctx)})
			j.record(workflow.Now(ctx), "notice_"+string(n.Kind), fmt.Sprintf("%s %s to %s", d.ID, n.Kind, n.To))
		}
	}
	return j.openEvaluations(ctx)
}

// openEvaluations opens an evaluation for each step milestone that has passed unmet:
// "evaluation takes place with those who have not passed the step" (source document 001).
func (j *journey) openEvaluations(ctx workflow.Context) error {
	now := workflow.Now(ctx)
	var open []opening
	for i := range j.state.Deadlines {
		d := &j.state.Deadlines[i]
		if d.Evaluate && !d.Evaluated && j.active(d) && !now.Before(d.DueAt) {
			d.Evaluated = true
			j.event(d.DueAt, "step_milestone_missed", fmt.Sprintf("step %d not passed by its milestone; an evaluation is due", d.Step))
			open = append(open, opening{
				id: fmt.Sprintf("%s-step-%d", DeadlineEvaluation, d.Step), kind: DeadlineEvaluation,
				rule: j.program.Deadlines.Evaluation, anchor: d.DueAt,
			})
		}
	}
	return j.openDeadlines(ctx, open...)
}

// stale reports whether a reminder planned before the deadline is only being handled
// after it: "due tomorrow" is no use once it is overdue.
func stale(d *Deadline, n program.Notice, now time.Time) bool {
	return n.At.Before(d.DueAt) && !now.Before(d.DueAt)
}

// laterNoticeDue reports whether a later notice of the deadline is also due, which makes
// this reminder redundant.
func laterNoticeDue(d *Deadline, k int, now time.Time) bool {
	for m := k + 1; m < len(d.Notices); m++ {
		if !d.Notices[m].At.After(now) {
			return true
		}
	}
	return false
}

// notifyCaseWorker tells the participant's case worker of no-shows in a row.
func (j *journey) notifyCaseWorker(ctx workflow.Context, at time.Time) error {
	id := fmt.Sprintf("%s/attendance/%d", workflow.GetInfo(ctx).FirstRunID, j.state.Meetings.CaseWorkerSent)
	n := activities.Notification{
		ID:            id,
		ParticipantID: j.state.Start.ParticipantID,
		Unit:          j.state.Unit,
		DeadlineID:    "attendance",
		DeadlineKind:  "attendance",
		Kind:          program.NoticeAttendance,
		RecipientRole: program.RoleCaseWorker,
		DueAt:         at,
		PlannedAt:     at,
	}
	if j.apart {
		if written, err := j.recordNotice(ctx, n); err != nil || !written {
			return err
		}
		return startDelivery(ctx, id)
	}
	if err := workflow.ExecuteActivity(notificationContext(ctx), activities.RecordNotificationName, n).Get(ctx, nil); err != nil {
		return err
	}
	return deliver(ctx, id)
}

func notificationContext(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		// No attempt limit: a notification must not be lost because the database was
		// down for an hour. The backoff keeps retries cheap.
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute},
	})
}

func (j *journey) notify(ctx workflow.Context, i, k int) error {
	d := j.state.Deadlines[i]
	n := d.Notices[k]
	key := string(n.Kind)
	if n.Kind == program.NoticeEscalation {
		key = fmt.Sprintf("%s-%d", n.Kind, n.Level)
	}
	to, recipient := n.To, ""
	if to == program.RoleGuide {
		recipient = j.state.GuideID
		if recipient == "" {
			// Nobody to remind yet: the team lead hears about a journey without a guide.
			to = program.RoleTeamLead
		}
	}
	id := fmt.Sprintf("%s/%s/%s", workflow.GetInfo(ctx).FirstRunID, d.ID, key)
	notice := activities.Notification{
		ID:            id,
		ParticipantID: j.state.Start.ParticipantID,
		Unit:          j.state.Unit,
		DeadlineID:    d.ID,
		DeadlineKind:  string(d.Kind),
		Kind:          n.Kind,
		Level:         n.Level,
		RecipientRole: to,
		RecipientID:   recipient,
		GuideID:       j.state.GuideID,
		DueAt:         d.DueAt,
		PlannedAt:     n.At,
	}
	if j.apart {
		written, err := j.recordNotice(ctx, notice)
		if err != nil || !written || n.Kind != program.NoticeEscalation {
			return err
		}
		return startDelivery(ctx, id)
	}
	actx := notificationContext(ctx)
	err := workflow.ExecuteActivity(actx, activities.RecordNotificationName, notice).Get(actx, nil)
	if err != nil || n.Kind != program.NoticeEscalation {
		return err // reminders wait in the inbox for the person's digest
	}
	return deliver(ctx, id)
}

// deliver sends a written notification out by email and webhook, at once.
func deliver(ctx workflow.Context, id string) error {
	return workflow.ExecuteActivity(notificationContext(ctx), activities.DeliverNotificationName, id).Get(ctx, nil)
}
