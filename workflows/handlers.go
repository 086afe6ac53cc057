package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/stegvis/stegvis/activities"
	"github.com/stegvis/stegvis/program"
)

// registerHandlers registers the query and every Update. Each Update has a validator
// that rejects a bad request before it enters history, and a handler that waits until
// the journey's first deadlines exist before it changes anything.
func (j *journey) registerHandlers(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (JourneyState, error) {
		return j.state, nil
	}); err != nil {
		return fmt.Errorf("register query %s: %w", QueryState, err)
	}
	if err := update(ctx, j, UpdateRecordPlan, j.validatePlan, j.recordPlan); err != nil {
		return err
	}
	if err := update(ctx, j, UpdateAssignGuide, j.validateGuide, j.assignGuide); err != nil {
		return err
	}
	if err := update(ctx, j, UpdateRecordMapping, j.validateMapping, j.recordMapping); err != nil {
		return err
	}
	if err := update(ctx, j, UpdateRecordMeeting, j.validateMeeting, j.recordMeeting); err != nil {
		return err
	}
	if err := update(ctx, j, UpdatePassStep, j.validateStep, j.passStep); err != nil {
		return err
	}
	if err := update(ctx, j, UpdatePause, j.validatePause, j.pause); err != nil {
		return err
	}
	if err := update(ctx, j, UpdateResume, j.validateResume, j.resume); err != nil {
		return err
	}
	if err := update(ctx, j, UpdateTransfer, j.validateTransfer, j.transfer); err != nil {
		return err
	}
	if err := update(ctx, j, UpdateExit, j.validateExit, j.exit); err != nil {
		return err
	}
	if err := update(ctx, j, UpdateMigrateProgram, j.validateMigrate, j.migrate); err != nil {
		return err
	}
	return update(ctx, j, UpdateRecordDeepenedPlan, j.validateDeepenedPlan, j.recordDeepenedPlan)
}

// update registers one Update whose answer is the journey's new state.
func update[T any](ctx workflow.Context, j *journey, name string,
	validate func(workflow.Context, T) error, apply func(workflow.Context, T) error,
) error {
	err := workflow.SetUpdateHandlerWithOptions(ctx, name,
		func(ctx workflow.Context, in T) (JourneyState, error) {
			if err := workflow.Await(ctx, func() bool { return j.ready }); err != nil {
				return JourneyState{}, err
			}
			if err := apply(ctx, in); err != nil {
				return JourneyState{}, err
			}
			j.changed = true
			return j.state, nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, in T) error {
			// Between an exit and the workflow's completion, nothing more is accepted.
			if e := j.state.Exit; e != nil {
				return conflict("the journey ended on %s (%s); nothing more can be recorded on it. Start a new journey if the participant comes back",
					e.At.Format(time.DateOnly), e.Reason)
			}
			return validate(ctx, in)
		}},
	)
	if err != nil {
		return fmt.Errorf("register update %s: %w", name, err)
	}
	return nil
}

func (j *journey) validatePlan(ctx workflow.Context, pl Plan) error {
	return j.state.validatePlan(pl, workflow.Now(ctx))
}

func (j *journey) recordPlan(ctx workflow.Context, pl Plan) error {
	j.state.Plan = &pl
	if j.state.Phase == PhasePlanning {
		j.state.Phase = PhaseActive
	}
	// The plan meets its deadline when it was signed, not when someone typed it in.
	j.meet(DeadlinePlan, pl.SignedAt)
	j.event(pl.SignedAt, "plan_signed", "action plan signed: "+pl.MainActivity)
	workflow.GetLogger(ctx).Info("plan recorded", "participant", j.state.Start.ParticipantID)
	d := j.program.Deadlines
	return j.openDeadlines(ctx,
		opening{id: string(DeadlineDeepenedPlan), kind: DeadlineDeepenedPlan, rule: d.DeepenedPlan, anchor: pl.SignedAt},
		opening{id: string(DeadlineFirstFollowUp), kind: DeadlineFirstFollowUp, rule: d.FirstFollowUp, anchor: pl.SignedAt},
	)
}

func (j *journey) validateGuide(ctx workflow.Context, g AssignGuide) error {
	return j.state.validateGuide(g, workflow.Now(ctx))
}

// assignGuide keeps every running deadline: reminders go to whoever is the guide when
// they fire. The assignment counts from From (an imported caseload's real date), or now.
func (j *journey) assignGuide(ctx workflow.Context, g AssignGuide) error {
	now := g.From
	if now.IsZero() {
		now = workflow.Now(ctx)
	}
	previous := j.state.GuideID
	j.state.GuideID = g.GuideID
	j.state.Guides = append(j.state.Guides, GuideAssignment{GuideID: g.GuideID, From: now, HandoverNote: g.HandoverNote})
	j.meet(DeadlineGuide, now)
	if j.state.Phase == PhaseWaitingForGuide {
		j.state.Phase = PhasePlanning
		if j.state.Plan != nil {
			j.state.Phase = PhaseActive
		}
	}
	if previous == "" {
		j.event(now, "guide_assigned", "guide "+g.GuideID+" assigned")
	} else {
		j.event(now, "guide_reassigned", "guide "+previous+" handed over to "+g.GuideID)
	}
	return nil
}

func (j *journey) validateMapping(ctx workflow.Context, m Mapping) error {
	return j.state.validateMapping(m, workflow.Now(ctx))
}

func (j *journey) recordMapping(_ workflow.Context, m Mapping) error {
	first := j.state.Mapping == nil
	j.state.Mapping = &m
	j.meet(DeadlineMapping, m.RecordedAt)
	if first {
		j.event(m.RecordedAt, "mapping_recorded", "mapping recorded")
	} else {
		j.event(m.RecordedAt, "mapping_updated", "mapping updated")
	}
	return nil
}

func (j *journey) validateDeepenedPlan(ctx workflow.Context, p DeepenedPlan) error {
	return j.state.validateDeepenedPlan(p, workflow.Now(ctx))
}

func (j *journey) recordDeepenedPlan(_ workflow.Context, p DeepenedPlan) error {
	j.state.DeepenedPlan = &p
	j.meet(DeadlineDeepenedPlan, p.SignedAt)
	j.event(p.SignedAt, "deepened_plan_signed", fmt.Sprintf("deepened plan signed, %d purchased services", len(p.PurchasedServices)))
	return nil
}

func (j *journey) validateMeeting(ctx workflow.Context, m Meeting) error {
	return j.state.validateMeeting(m, j.program, workflow.Now(ctx))
}

// recordMeeting applies a meeting. A held one meets what it was for and any pending
// rescheduling; a held follow-up or review opens the next review. A no-show opens a
// rescheduling deadline, and enough of them in a row tell the case worker, who decides
// on the benefit (the attendance requirement, source documents 001 and 002).
func (j *journey) recordMeeting(ctx workflow.Context, m Meeting) error {
	at := m.OccurredAt
	switch m.Outcome {
	case OutcomeCancelled:
		j.event(at, "meeting_cancelled", string(m.Kind)+" cancelled")
		return nil
	case OutcomeNoShow:
		j.state.Meetings.NoShows++
		j.state.Meetings.NoShowsInARow++
		j.state.Meetings.Reschedules++
		j.event(at, "no_show", fmt.Sprintf("%s: participant did not come (%d in a row)", m.Kind, j.state.Meetings.NoShowsInARow))
		err := j.openDeadlines(ctx, opening{
			id: fmt.Sprintf("%s-%d", DeadlineReschedule, j.state.Meetings.Reschedules), kind: DeadlineReschedule,
			rule: j.program.Deadlines.Reschedule, anchor: at,
		})
		if err != nil {
			return err
		}
		if n := j.program.Attendance.NotifyCaseWorkerAfterNoShows; n > 0 && j.state.Meetings.NoShowsInARow == n {
			j.state.Meetings.CaseWorkerSent++
			j.event(at, "case_worker_notified", fmt.Sprintf("case worker told of %d no-shows in a row", n))
			return j.notifyCaseWorker(ctx, at)
		}
		return nil
	}
	j.state.Meetings.Held++
	j.state.Meetings.NoShowsInARow = 0
	for j.meet(DeadlineReschedule, at) {
	}
	j.event(at, "meeting_held", string(m.Kind)+" held")
	switch m.Kind {
	case MeetingFirst:
		j.meet(DeadlineFirstMeeting, at)
	case MeetingEvaluation:
		j.meet(DeadlineEvaluation, at)
	case MeetingFollowUp, MeetingReview:
		if !j.meet(DeadlineFirstFollowUp, at) {
			j.meet(DeadlineReview, at)
		}
		j.state.Meetings.Reviews++
		return j.openDeadlines(ctx, opening{
			id: fmt.Sprintf("%s-%d", DeadlineReview, j.state.Meetings.Reviews), kind: DeadlineReview,
			rule: j.program.Deadlines.Review, anchor: at, due: m.NextReviewAt, window: true,
		})
	}
	return nil
}

func (j *journey) validateStep(ctx workflow.Context, p PassStep) error {
	return j.state.validateStep(p, workflow.Now(ctx))
}

func (j *journey) passStep(_ workflow.Context, p PassStep) error {
	j.state.Step = p.Step
	j.state.Steps = append(j.state.Steps, StepPassed(p))
	j.meetID(fmt.Sprintf("%s-%d", DeadlineStep, p.Step), p.PassedAt)
	j.event(p.PassedAt, "step_passed", fmt.Sprintf("step %d passed", p.Step))
	return nil
}

func (j *journey) validatePause(ctx workflow.Context, p Pause) error {
	return j.state.validatePause(p, workflow.Now(ctx))
}

// pause stops the clock: no deadline's notices go out while it lasts, except the
// pause's own limit, whose ladder tells the team lead of a pause longer than the
// programme allows.
func (j *journey) pause(ctx workflow.Context, p Pause) error {
	j.state.Pause = &p
	j.state.PhaseBeforePause = j.state.Phase
	j.state.Phase = PhasePaused
	j.event(p.From, "paused", "paused: "+string(p.Reason))
	if j.program.Pause.MaxLength.IsZero() {
		return nil
	}
	limit := program.DeadlineRule{Within: j.program.Pause.MaxLength, Escalations: []program.Escalation{{After: pauseEscalationAfter(j.program.Pause.MaxLength), To: program.RoleTeamLead}}}
	return j.openDeadlines(ctx, opening{
		id: fmt.Sprintf("%s-%d", DeadlinePauseLimit, len(j.state.Pauses)+1), kind: DeadlinePauseLimit, rule: &limit, anchor: p.From,
	})
}

// pauseEscalationAfter tells the team lead the working day after the limit (or, for a
// demo programme in exact durations, right away).
func pauseEscalationAfter(limit program.Span) program.Span {
	if limit.IsExact() {
		return program.Span{Unit: program.Exact, Duration: time.Second}
	}
	return program.Span{N: 1, Unit: program.Workdays}
}

func (j *journey) validateResume(ctx workflow.Context, r Resume) error {
	return j.state.validateResume(r, workflow.Now(ctx))
}

// resume starts the clock again and moves every open deadline on by the working days
// the pause covered, so a paused participant's deadlines neither ran out nor shrank.
func (j *journey) resume(ctx workflow.Context, r Resume) error {
	p := *j.state.Pause
	var idx []int
	var schedules []program.Schedule
	for i := range j.state.Deadlines {
		d := &j.state.Deadlines[i]
		if d.Kind == DeadlinePauseLimit && d.isOpen() {
			d.MetAt = &r.At
			continue
		}
		// A deadline that had already run out when the pause began stays where it was:
		// the pause did not take time from it.
		if d.isOpen() && d.DueAt.After(p.From) {
			idx = append(idx, i)
			schedules = append(schedules, d.Schedule)
		}
	}
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 10 * time.Second})
	var out activities.ShiftResult
	if err := workflow.ExecuteLocalActivity(lctx, activities.ShiftSchedules,
		activities.ShiftInput{Schedules: schedules, From: p.From, To: r.At}).Get(lctx, &out); err != nil {
		return fmt.Errorf("shift deadlines: %w", err)
	}
	for n, i := range idx {
		d := &j.state.Deadlines[i]
		d.Schedule = out.Schedules[n]
		// Notices handled before the pause stay handled; those the pause held back
		// now lie in the future again.
	}
	j.state.Pauses = append(j.state.Pauses, PausePeriod{Reason: p.Reason, From: p.From, To: r.At, WorkdaysOff: out.WorkdaysOff})
	j.state.Pause = nil
	j.state.Phase = j.state.PhaseBeforePause
	j.state.PhaseBeforePause = ""
	j.event(r.At, "resumed", fmt.Sprintf("resumed; deadlines moved on by %d working days", out.WorkdaysOff))
	return nil
}

func (j *journey) validateTransfer(ctx workflow.Context, t Transfer) error {
	return j.state.validateTransfer(t)
}

// transfer moves the journey to another unit; its deadlines run on, and the next
// escalation goes to the new unit's team lead.
func (j *journey) transfer(ctx workflow.Context, t Transfer) error {
	t.FromUnit, t.At = j.state.Unit, workflow.Now(ctx)
	j.state.Unit = t.ToUnit
	j.state.Transfers = append(j.state.Transfers, t)
	j.event(t.At, "transferred", "transferred from "+t.FromUnit+" to "+t.ToUnit)
	return nil
}

func (j *journey) validateExit(ctx workflow.Context, e Exit) error {
	return j.state.validateExit(e, workflow.Now(ctx))
}

// exit ends the journey: every open deadline is closed unmet, and the workflow
// completes once every update in flight has answered.
func (j *journey) exit(_ workflow.Context, e Exit) error {
	e.Phase = j.state.Phase
	if e.Phase == PhasePaused {
		e.Phase = j.state.PhaseBeforePause
	}
	j.state.Exit = &e
	j.state.Phase = PhaseExited
	j.state.Pause = nil
	j.closeAll(e.At, "exit")
	j.event(e.At, "exited", "left the programme: "+string(e.Reason))
	return nil
}

func (j *journey) validateMigrate(_ workflow.Context, m MigrateProgram) error {
	var p Problems
	p.text("requestedBy", m.RequestedBy, 64, "who moves the journey, for the audit trail")
	p.text("reason", m.Reason, 1000, "why running journeys move to the new rules")
	if err := p.Err(); err != nil {
		return err
	}
	switch {
	case m.Program.ID != j.program.ID:
		return conflict("the journey runs on %s, not %s; a journey moves only to a newer version of its own programme", j.program.ID, m.Program.ID)
	case m.Program.Version <= j.program.Version:
		return conflict("the journey already runs on %s version %d; there is nothing newer to move to", j.program.ID, j.program.Version)
	}
	return nil
}

// migrate swaps the pinned rules. The timeline records who moved the journey and why.
func (j *journey) migrate(ctx workflow.Context, m MigrateProgram) error {
	from := j.program.Version
	j.program = m.Program
	j.state.Program = refOf(m.Program)
	j.event(workflow.Now(ctx), "program_migrated", fmt.Sprintf("moved from %s version %d to %d by %s: %s",
		m.Program.ID, from, m.Program.Version, m.RequestedBy, m.Reason))
	return nil
}
