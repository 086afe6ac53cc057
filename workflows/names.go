// Package workflows holds the participant's journey: a durable Temporal workflow that
// owns the journey's deadlines, reminders and escalations, and the messages people send it.
package workflows

import "github.com/stegvis/stegvis/program"

// Names that cross process boundaries. The API, the worker and any tool that talks to
// Temporal use these constants, so nothing is spelled twice.
const (
	// TaskQueue is where journey workflows and their activities run.
	TaskQueue = "stegvis-journeys"
	// JourneyWorkflowType is the registered name of the journey workflow.
	JourneyWorkflowType = "Journey"
	// QueryState returns the JourneyState.
	QueryState = "state"
	// UpdateRecordPlan records the signed action plan.
	UpdateRecordPlan = "record-plan"
	// UpdateAssignGuide assigns or reassigns the participant's guide.
	UpdateAssignGuide = "assign-guide"
	// UpdateRecordMapping records the mapping of the participant's needs.
	UpdateRecordMapping = "record-mapping"
	// UpdateRecordDeepenedPlan records the deepened plan.
	UpdateRecordDeepenedPlan = "record-deepened-plan"
	// UpdateRecordMeeting records a meeting: held, no-show or cancelled.
	UpdateRecordMeeting = "record-meeting"
	// UpdatePassStep records a passed step of the ladder.
	UpdatePassStep = "pass-step"
	// UpdatePause stops the clock; UpdateResume starts it again.
	UpdatePause  = "pause"
	UpdateResume = "resume"
	// UpdateTransfer moves the journey to another unit.
	UpdateTransfer = "transfer"
	// UpdateExit ends the journey.
	UpdateExit = "exit"
	// UpdateMigrateProgram moves the journey to a newer version of its programme.
	UpdateMigrateProgram = "migrate-program"

	workflowIDPrefix = "journey-"
)

// Names of the retention run, which erases personal data a while after an exit.
const (
	// RetentionWorkflowType is the registered name of RetentionWorkflow.
	RetentionWorkflowType = "Retention"
	// RetentionScheduleID is the Temporal Schedule that starts it every night.
	RetentionScheduleID = "stegvis-retention"
	// RetentionWorkflowID is the workflow ID of the runs the schedule starts.
	RetentionWorkflowID = "stegvis-retention-run"
)

// JourneyWorkflowID is the workflow ID of a participant's journey. The participant id
// is pseudonymous, so the workflow ID carries no personal data.
func JourneyWorkflowID(participantID string) string {
	return workflowIDPrefix + participantID
}

// Phase is where a participant is in the programme.
type Phase string

// Phases of a journey.
const (
	PhaseWaitingForGuide Phase = "waiting_for_guide" // referred; no guide assigned yet
	PhasePlanning        Phase = "planning"          // a guide; the action plan is not signed yet
	PhaseActive          Phase = "active"            // the plan is signed and running
	PhasePaused          Phase = "paused"            // the clock is stopped
	PhaseExited          Phase = "exited"            // the journey has ended
)

// DeadlineKind names what a deadline is for.
type DeadlineKind string

// Deadline kinds.
const (
	DeadlineGuide         DeadlineKind = "guide"           // a guide assigned
	DeadlineFirstMeeting  DeadlineKind = "first_meeting"   // the first meeting held
	DeadlineMapping       DeadlineKind = "mapping"         // the mapping recorded
	DeadlinePlan          DeadlineKind = "plan"            // the signed action plan
	DeadlineDeepenedPlan  DeadlineKind = "deepened_plan"   // the deepened plan
	DeadlineFirstFollowUp DeadlineKind = "first_follow_up" // the first follow-up held
	DeadlineReview        DeadlineKind = "review"          // a review held, inside its window
	DeadlineReschedule    DeadlineKind = "reschedule"      // a new meeting held after a no-show
	DeadlineStep          DeadlineKind = "step"            // a step passed by its milestone
	DeadlineEvaluation    DeadlineKind = "evaluation"      // an evaluation held after a missed milestone
	DeadlinePauseLimit    DeadlineKind = "pause_limit"     // a pause ended within the programme's limit
)

// Status of a deadline as a person sees it.
type Status string

// Deadline statuses.
const (
	StatusUpcoming Status = "upcoming"
	StatusDue      Status = "due"
	StatusOverdue  Status = "overdue"
	StatusMet      Status = "met"
	StatusClosed   Status = "closed" // ended unmet, e.g. by an exit
)

// ProgramRef is what a journey records of the programme it runs on.
type ProgramRef struct {
	ID      string `json:"id"`
	Version int    `json:"version"`
	Name    string `json:"name"`
}

func refOf(p program.Program) ProgramRef {
	return ProgramRef{ID: p.ID, Version: p.Version, Name: p.Name}
}
