package workflows

import (
	"time"

	"github.com/stegvis/stegvis/activities"
	"github.com/stegvis/stegvis/program"
)

// StartJourney is the request that starts a journey. It is kept in the state so that a
// repeated start can be compared with the original.
type StartJourney struct {
	ParticipantID string    `json:"participantId"`
	ProgramID     string    `json:"programId"`
	Unit          string    `json:"unit"`
	ReferredAt    time.Time `json:"referredAt"`
	GuideID       string    `json:"guideId,omitempty"`
	// Priority sorts the queue of those waiting for a guide, by need ("rough sorting by
	// need", source document 000): 1 is the most urgent, 3 the least; 0 means 2.
	Priority int `json:"priority,omitempty"`
}

// EffectivePriority is the priority with the default applied.
func (s StartJourney) EffectivePriority() int {
	if s.Priority == 0 {
		return 2
	}
	return s.Priority
}

// SameAs reports whether two start requests ask for the same journey.
func (s StartJourney) SameAs(o StartJourney) bool {
	return s.ParticipantID == o.ParticipantID && s.ProgramID == o.ProgramID && s.Unit == o.Unit &&
		s.ReferredAt.Equal(o.ReferredAt) && s.GuideID == o.GuideID && s.EffectivePriority() == o.EffectivePriority()
}

// JourneyInput is the workflow's argument. Program is a copy of the rules at start, so
// a journey keeps the programme version it started on. State is set only when a run
// continues as new.
type JourneyInput struct {
	Start   StartJourney    `json:"start"`
	Program program.Program `json:"program"`
	State   *JourneyState   `json:"state,omitempty"`
	// Index turns on the search attributes; the starter sets it when the namespace has
	// them registered.
	Index bool `json:"index,omitempty"`
}

// JourneyResult is what a finished journey returns.
type JourneyResult struct {
	Phase Phase `json:"phase"`
}

// JourneyState is the whole state of a journey: what the query returns and what
// continue-as-new carries over.
type JourneyState struct {
	Start      StartJourney `json:"start"`
	Program    ProgramRef   `json:"program"`
	Unit       string       `json:"unit"`
	GuideID    string       `json:"guideId,omitempty"`
	Phase      Phase        `json:"phase"`
	ReferredAt time.Time    `json:"referredAt"`
	Plan       *Plan        `json:"plan,omitempty"`
	Deadlines  []Deadline   `json:"deadlines"`
	// Later additions: zero in histories recorded before them.
	Mapping      *Mapping          `json:"mapping,omitempty"`
	DeepenedPlan *DeepenedPlan     `json:"deepenedPlan,omitempty"`
	Guides       []GuideAssignment `json:"guides,omitempty"`   // every assignment, oldest first
	Timeline     []TimelineEvent   `json:"timeline,omitempty"` // the latest recorded events, oldest first
	// Meetings counts what has been recorded; the meetings themselves are in the timeline
	// and the read model.
	Meetings MeetingCounts `json:"meetings"`
	// Step is the highest step (1–5) passed; Steps records when each was passed.
	Step  int          `json:"step"`
	Steps []StepPassed `json:"steps,omitempty"`
	// Pause is the pause running now; Pauses every one that has ended.
	Pause            *Pause        `json:"pause,omitempty"`
	Pauses           []PausePeriod `json:"pauses,omitempty"`
	PhaseBeforePause Phase         `json:"phaseBeforePause,omitempty"`
	Exit             *Exit         `json:"exit,omitempty"`
	Transfers        []Transfer    `json:"transfers,omitempty"`
	// EventSeq numbers the journey's events for the read model; Outbox holds those not
	// yet written. Both survive continue-as-new, so no event is lost or written twice.
	EventSeq int64 `json:"eventSeq"`
	// Indexed: the journey keeps its search attributes up to date.
	Indexed bool                      `json:"indexed,omitempty"`
	Outbox  []activities.JourneyEvent `json:"outbox,omitempty"`
}

// StepPassed is a step of the ladder passed on a day.
type StepPassed struct {
	Step     int       `json:"step"`
	PassedAt time.Time `json:"passedAt"`
}

// PassStep is the request to record a passed step.
type PassStep struct {
	Step     int       `json:"step"`
	PassedAt time.Time `json:"passedAt"`
}

// PauseReason is why the clock stops.
type PauseReason string

// Pause reasons (source document 004 and DOMAIN.md).
const (
	PauseSickLeave         PauseReason = "sick_leave"
	PauseParentalLeave     PauseReason = "parental_leave"
	PauseCareOfRelative    PauseReason = "care_of_relative"
	PauseMedicalAssessment PauseReason = "awaiting_medical_assessment"
	PauseOther             PauseReason = "other"
)

// PauseReasons lists the accepted reasons.
var PauseReasons = []PauseReason{PauseSickLeave, PauseParentalLeave, PauseCareOfRelative, PauseMedicalAssessment, PauseOther}

// Pause stops the clock from a day.
type Pause struct {
	Reason PauseReason `json:"reason"`
	From   time.Time   `json:"from"`
	Note   string      `json:"note,omitempty"`
}

// Resume starts the clock again.
type Resume struct {
	At time.Time `json:"at"`
}

// PausePeriod is a pause that has ended, with the working days it moved deadlines by.
type PausePeriod struct {
	Reason      PauseReason `json:"reason"`
	From        time.Time   `json:"from"`
	To          time.Time   `json:"to"`
	WorkdaysOff int         `json:"workdaysOff"`
}

// Transfer moves the journey to another unit.
type Transfer struct {
	ToUnit   string    `json:"toUnit"`
	FromUnit string    `json:"fromUnit,omitempty"`
	At       time.Time `json:"at,omitzero"`
	Note     string    `json:"note,omitempty"`
}

// ExitReason is why a participant left (source documents 001 and 003).
type ExitReason string

// Exit reasons.
const (
	ExitEmploymentRegular    ExitReason = "employment_regular"
	ExitEmploymentSubsidised ExitReason = "employment_subsidised"
	ExitEmploymentHourly     ExitReason = "employment_hourly"
	ExitStudies              ExitReason = "studies"
	ExitOtherAgency          ExitReason = "other_agency"
	ExitReturnedToSocialWork ExitReason = "returned_to_social_services"
	ExitMoved                ExitReason = "moved"
	ExitDeclined             ExitReason = "declined"
	ExitOther                ExitReason = "other"
)

// ExitReasons lists the accepted reasons.
var ExitReasons = []ExitReason{ExitEmploymentRegular, ExitEmploymentSubsidised, ExitEmploymentHourly, ExitStudies,
	ExitOtherAgency, ExitReturnedToSocialWork, ExitMoved, ExitDeclined, ExitOther}

// Exit ends the journey.
type Exit struct {
	Reason ExitReason `json:"reason"`
	At     time.Time  `json:"at"`
	Note   string     `json:"note,omitempty"`
	// Phase is the phase the participant left from.
	Phase Phase `json:"phase,omitempty"`
}

// MeetingCounts are the journey's running counts of meetings.
type MeetingCounts struct {
	Held           int `json:"held"`
	NoShows        int `json:"noShows"`
	NoShowsInARow  int `json:"noShowsInARow"`
	Reviews        int `json:"reviews"` // reviews opened so far, to number them
	Reschedules    int `json:"reschedules"`
	CaseWorkerSent int `json:"caseWorkerNotified"` // times the case worker was told of no-shows
}

// MeetingKind is what a meeting was for.
type MeetingKind string

// Meeting kinds.
const (
	MeetingFirst      MeetingKind = "first_meeting"
	MeetingFollowUp   MeetingKind = "follow_up"
	MeetingReview     MeetingKind = "review"
	MeetingEvaluation MeetingKind = "evaluation"
	MeetingOther      MeetingKind = "other"
)

// Outcome is how a meeting went.
type Outcome string

// Meeting outcomes.
const (
	OutcomeHeld      Outcome = "held"
	OutcomeNoShow    Outcome = "no_show"
	OutcomeCancelled Outcome = "cancelled"
)

// MeetingKinds and Outcomes list the accepted values.
var (
	MeetingKinds = []MeetingKind{MeetingFirst, MeetingFollowUp, MeetingReview, MeetingEvaluation, MeetingOther}
	Outcomes     = []Outcome{OutcomeHeld, OutcomeNoShow, OutcomeCancelled}
	// Attendees are who can take part: three-party meetings bring the case worker
	// (source document 003); others come from partner agencies (004).
	Attendees = []string{"participant", "guide", "case_worker", "employment_service", "social_insurance", "health_care", "provider", "other"}
)

// Meeting is a meeting as a guide records it.
type Meeting struct {
	Kind         MeetingKind `json:"kind"`
	Outcome      Outcome     `json:"outcome"`
	OccurredAt   time.Time   `json:"occurredAt"`
	Participants []string    `json:"participants,omitempty"`
	// NextReviewAt is the planned day of the next review, set at a follow-up or review
	// that was held; it must lie in the programme's window. Zero: the window's first day.
	NextReviewAt time.Time `json:"nextReviewAt,omitzero"`
	Note         string    `json:"note,omitempty"`
}

// TimelineLength bounds the timeline a journey keeps in its state; the full record is
// in the read model.
const TimelineLength = 50

// TimelineEvent is one thing that happened, for the guide's short history.
type TimelineEvent struct {
	At      time.Time `json:"at"`
	Kind    string    `json:"kind"`
	Summary string    `json:"summary"`
}

// GuideAssignment is a guide taking over the journey.
type GuideAssignment struct {
	GuideID string    `json:"guideId"`
	From    time.Time `json:"from"`
	// HandoverNote is what the previous guide hands over: the participant must not fall
	// between chairs when staff change (source document 004).
	HandoverNote string `json:"handoverNote,omitempty"`
}

// AssignGuide is the request to assign or reassign the guide.
type AssignGuide struct {
	GuideID      string    `json:"guideId"`
	HandoverNote string    `json:"handoverNote,omitempty"`
	From         time.Time `json:"from,omitzero"` // when the guide took over; now when zero
}

// Mapping is the mapping of the participant's needs: the five areas of source document
// 001 and the work-capacity assessment of 002.
type Mapping struct {
	RecordedAt             time.Time `json:"recordedAt"`
	AdaptationNeeds        string    `json:"adaptationNeeds"`        // physical and mental barriers
	InterestsAndExperience string    `json:"interestsAndExperience"` // strengths, earlier life and work
	OwnView                string    `json:"ownView"`                // how they see their situation, what matters now
	Motivation             string    `json:"motivation"`
	Health                 string    `json:"health"` // sleep, food, exercise
	WorkCapacity           string    `json:"workCapacity"`
}

// DeepenedPlan is the more individual plan after the first month, where purchased
// services from external providers are decided (source documents 002, 003).
type DeepenedPlan struct {
	SignedAt          time.Time          `json:"signedAt"`
	PurchasedServices []PurchasedService `json:"purchasedServices,omitempty"`
	Summary           string             `json:"summary"`
}

// PurchasedService is a service bought from an authorised provider.
type PurchasedService struct {
	Provider string `json:"provider"`
	Service  string `json:"service"`
}

// Deadline is one thing that must happen by a date, with its notices.
type Deadline struct {
	ID   string       `json:"id"` // unique within the journey, e.g. "plan"
	Kind DeadlineKind `json:"kind"`
	program.Schedule
	Sent  []NoticeRecord `json:"sent,omitempty"` // notices handled so far, sent or skipped
	MetAt *time.Time     `json:"metAt,omitempty"`
	// Anchor is the event the deadline is counted from.
	Anchor time.Time `json:"anchor,omitzero"`
	// ClosedAt ends a deadline that was not met, e.g. at an exit; ClosedReason says why.
	ClosedAt     *time.Time `json:"closedAt,omitempty"`
	ClosedReason string     `json:"closedReason,omitempty"`
	// Evaluate marks a step milestone: passing it unmet opens an evaluation.
	Evaluate  bool `json:"evaluate,omitempty"`
	Evaluated bool `json:"evaluated,omitempty"`
	// Step is the step (1–5) of a milestone.
	Step int `json:"step,omitempty"`
}

// isOpen reports whether the deadline still runs.
func (d *Deadline) isOpen() bool { return d.MetAt == nil && d.ClosedAt == nil }

// NoticeRecord says what became of a planned notice.
type NoticeRecord struct {
	Index   int       `json:"index"` // into Schedule.Notices
	At      time.Time `json:"at"`    // when the journey handled it
	Skipped bool      `json:"skipped,omitempty"`
}

// Plan is the signed action plan. Every plan has a main activity, a weekly schedule,
// sub-goals and the time of the first follow-up (source document 001).
type Plan struct {
	SignedAt       time.Time      `json:"signedAt"`
	MainActivity   string         `json:"mainActivity"`
	WeeklySchedule []ScheduleSlot `json:"weeklySchedule"`
	SubGoals       []string       `json:"subGoals"`
	FollowUpAt     time.Time      `json:"followUpAt"`
	// Optional parts the plan may contain.
	Extras []string `json:"extras,omitempty"`
}

// ScheduleSlot is one recurring time in the weekly schedule.
type ScheduleSlot struct {
	Day      string `json:"day"`  // monday … sunday
	From     string `json:"from"` // HH:MM, local time
	To       string `json:"to"`
	Activity string `json:"activity,omitempty"`
}

// PlanExtras are the optional parts a plan may contain (source document 001).
var PlanExtras = []string{"physical_activity", "psychologist", "workplace_visit", "employment_service_visit", "cv"}

// handled reports whether notice i of the deadline has been sent or skipped.
func (d *Deadline) handled(i int) bool {
	for _, r := range d.Sent {
		if r.Index == i {
			return true
		}
	}
	return false
}

// escalationLevel is the highest escalation level sent so far.
func (d *Deadline) escalationLevel() int {
	level := 0
	for _, r := range d.Sent {
		n := d.Notices[r.Index]
		if n.Kind == program.NoticeEscalation && !r.Skipped && n.Level > level {
			level = n.Level
		}
	}
	return level
}

// MigrateProgram moves a running journey to a newer version of its programme. Open
// deadlines keep their dates; deadlines opened from now on follow the new rules.
type MigrateProgram struct {
	Program     program.Program `json:"program"`
	RequestedBy string          `json:"requestedBy"`
	Reason      string          `json:"reason"`
}
