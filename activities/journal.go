package activities

import (
	"context"
	"fmt"
	"time"
)

// RecordJourneyEventsName is the registered name of the projection activity.
const RecordJourneyEventsName = "RecordJourneyEvents"

// JourneyEvent is one thing that happened in a journey, numbered within it.
type JourneyEvent struct {
	Seq     int64     `json:"seq"`
	At      time.Time `json:"at"`
	Kind    string    `json:"kind"`
	Summary string    `json:"summary"`
}

// DeadlineSnapshot is a deadline as the read model keeps it.
type DeadlineSnapshot struct {
	ID              string     `json:"id"`
	Kind            string     `json:"kind"`
	DueDate         string     `json:"dueDate"`
	DueAt           time.Time  `json:"dueAt"`
	Status          string     `json:"status"` // open, met or closed; overdue is open with dueAt passed
	MetAt           *time.Time `json:"metAt,omitempty"`
	EscalationLevel int        `json:"escalationLevel"`
	// NextNoticeAt is when the deadline's next notice not yet sent or skipped is
	// planned; nil when none is left. The self-check compares it with the journey.
	NextNoticeAt *time.Time `json:"nextNoticeAt,omitempty"`
}

// JourneySnapshot is the journey as the read model keeps it.
type JourneySnapshot struct {
	Unit           string             `json:"unit"`
	ProgramID      string             `json:"programId"`
	ProgramVersion int                `json:"programVersion"`
	GuideID        string             `json:"guideId,omitempty"`
	Phase          string             `json:"phase"`
	Step           int                `json:"step"`
	Priority       int                `json:"priority,omitempty"`
	ReferredAt     time.Time          `json:"referredAt"`
	PlanSignedAt   *time.Time         `json:"planSignedAt,omitempty"`
	ExitedAt       *time.Time         `json:"exitedAt,omitempty"`
	ExitReason     string             `json:"exitReason,omitempty"`
	Deadlines      []DeadlineSnapshot `json:"deadlines"`
	// NextNotices says that the deadlines carry NextNoticeAt: false in snapshots
	// written before it existed, whose nil means "unknown", not "none left".
	NextNotices bool `json:"nextNotices,omitempty"`
}

// JourneyEvents is a batch of a journey's events with the journey as it is after them.
type JourneyEvents struct {
	ParticipantID string `json:"participantId"`
	// JourneyID tells a participant's journeys apart (re-entry after an exit); it is the
	// workflow's first run ID, which continue-as-new keeps.
	JourneyID string          `json:"journeyId"`
	Events    []JourneyEvent  `json:"events"`
	Snapshot  JourneySnapshot `json:"snapshot"`
}

// JournalStore is where journey events and their projection are written.
type JournalStore interface {
	RecordJourneyEvents(ctx context.Context, in JourneyEvents) error
}

// RecordJourneyEvents appends the events to the event table, once each, and brings
// the read model up to date, in one transaction.
func (a *Activities) RecordJourneyEvents(ctx context.Context, in JourneyEvents) error {
	if err := a.Journal.RecordJourneyEvents(ctx, in); err != nil {
		return fmt.Errorf("record %d journey events: %w", len(in.Events), err)
	}
	return nil
}
