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
// the read model up to date, in one transaction. A batch PostgreSQL refuses for its
// text (NUL, invalid UTF-8 that slipped past validation) is written again with the text
// cleaned, so the read model keeps up, and the failure is recorded in
// journal_write_failures and alerted; if even the cleaned batch is refused, the error is
// permanent (ErrTypeJournalPermanent) and the journey drops the batch. Anything else
// (PostgreSQL down, a timeout) is transient and counted.
func (a *Activities) RecordJourneyEvents(ctx context.Context, in JourneyEvents) error {
	err := a.Journal.RecordJourneyEvents(ctx, in)
	if err == nil {
		return nil
	}
	code, permanent := permanentDBError(err)
	if !permanent {
		a.journalTransient()
		return fmt.Errorf("record %d journey events: %w", len(in.Events), err)
	}
	err2 := a.Journal.RecordJourneyEvents(ctx, cleanEvents(in))
	code2, permanent2 := permanentDBError(err2)
	if err2 != nil && !permanent2 {
		a.journalTransient()
		return fmt.Errorf("record %d journey events with their text cleaned: %w", len(in.Events), err2)
	}
	f := JournalWriteFailure{ParticipantID: clean(in.ParticipantID), JourneyID: clean(in.JourneyID),
		Reason: fmt.Sprintf("PostgreSQL refused the events' text (SQLSTATE %s); written with the text cleaned", code)}
	if permanent2 {
		f.Reason = fmt.Sprintf("PostgreSQL refused the events (SQLSTATE %s, then %s with the text cleaned); not written", code, code2)
	}
	if len(in.Events) > 0 {
		f.FirstSeq, f.LastSeq = in.Events[0].Seq, in.Events[len(in.Events)-1].Seq
	}
	if err := a.recordJournalFailure(ctx, f); err != nil {
		return err
	}
	if permanent2 {
		return nonRetryable(ErrTypeJournalPermanent, f.Reason)
	}
	return nil
}

func (a *Activities) journalTransient() {
	if a.Metrics != nil {
		a.Metrics.JournalWriteFailed(ClassTransient)
	}
}

// cleanEvents is a batch with every text cleaned for PostgreSQL.
func cleanEvents(in JourneyEvents) JourneyEvents {
	out := in
	out.ParticipantID, out.JourneyID = clean(in.ParticipantID), clean(in.JourneyID)
	out.Events = make([]JourneyEvent, len(in.Events))
	for i, e := range in.Events {
		e.Kind, e.Summary = clean(e.Kind), clean(e.Summary)
		out.Events[i] = e
	}
	s := in.Snapshot
	s.Unit, s.ProgramID, s.GuideID, s.Phase, s.ExitReason = clean(s.Unit), clean(s.ProgramID), clean(s.GuideID), clean(s.Phase), clean(s.ExitReason)
	s.Deadlines = make([]DeadlineSnapshot, len(in.Snapshot.Deadlines))
	for i, d := range in.Snapshot.Deadlines {
		d.ID, d.Kind, d.DueDate, d.Status = clean(d.ID), clean(d.Kind), clean(d.DueDate), clean(d.Status)
		s.Deadlines[i] = d
	}
	out.Snapshot = s
	return out
}
