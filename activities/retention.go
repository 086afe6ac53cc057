package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
)

// EraseExpiredName is the registered name of the retention activity.
const EraseExpiredName = "EraseExpired"

// DefaultEraseLimit is how many participants one EraseExpired call handles when its
// input names no limit.
const DefaultEraseLimit = 200

// ErrJourneyRunning says that a participant due for erasure still has a running
// journey in Temporal (they came back and the read model has not caught up yet); the
// participant is skipped and nothing of theirs is erased.
var ErrJourneyRunning = errors.New("the participant's journey is still running")

// ErasureCandidate is a participant whose retention period has passed since their exit.
type ErasureCandidate struct {
	ParticipantID string    `json:"participantId"`
	ExitedAt      time.Time `json:"exitedAt"`
}

// RetentionStore finds participants due for erasure and erases their personal data
// and free text in PostgreSQL, keeping the pseudonymised statistics.
type RetentionStore interface {
	DueForErasure(ctx context.Context, exitedBefore time.Time, limit int) ([]ErasureCandidate, error)
	ErasePersonalData(ctx context.Context, participantID string, exitedAt time.Time) error
}

// RetentionTemporal removes a participant's journey from Temporal, where its history
// holds the (encrypted) free text of the plan and the notes. DeleteJourney deletes every
// closed execution of the participant's journey; none is fine. It returns
// ErrJourneyRunning, deleting nothing, when a run is still open.
type RetentionTemporal interface {
	DeleteJourney(ctx context.Context, participantID string) error
}

// EraseInput asks for the erasure of participants who exited before ExitedBefore, at
// most Limit of them (DefaultEraseLimit when 0), the oldest exit first.
type EraseInput struct {
	ExitedBefore time.Time `json:"exitedBefore"`
	Limit        int       `json:"limit,omitempty"`
}

// EraseResult counts what one EraseExpired call did. More says that it found a full
// batch and made progress, so another call may find more.
type EraseResult struct {
	Erased  int  `json:"erased"`
	Skipped int  `json:"skipped,omitempty"` // journeys still running
	More    bool `json:"more"`
}

// EraseExpired erases the personal data of participants whose retention period has
// passed: first their journey in Temporal, then their identity and free text in
// PostgreSQL, which also records the erasure and writes the audit log. A retry picks up
// where the last attempt stopped, since erased participants are no longer due. A
// participant that fails does not hold up the others: the call goes on and reports the
// failures at the end, so that Temporal retries them.
func (a *Activities) EraseExpired(ctx context.Context, in EraseInput) (EraseResult, error) {
	switch {
	case a.Retention == nil:
		return EraseResult{}, temporal.NewNonRetryableApplicationError("retention is not configured: Activities.Retention is nil", "RetentionNotConfigured", nil)
	case a.Temporal == nil:
		return EraseResult{}, temporal.NewNonRetryableApplicationError("retention is not configured: Activities.Temporal is nil, so journey histories could not be deleted", "RetentionNotConfigured", nil)
	case in.ExitedBefore.IsZero():
		return EraseResult{}, temporal.NewNonRetryableApplicationError("erase expired: no cutoff time", "InvalidInput", nil)
	}
	limit := in.Limit
	if limit <= 0 {
		limit = DefaultEraseLimit
	}
	due, err := a.Retention.DueForErasure(ctx, in.ExitedBefore, limit)
	if err != nil {
		return EraseResult{}, err
	}
	log := activity.GetLogger(ctx)
	var (
		res    EraseResult
		failed []error
	)
	for i, c := range due {
		activity.RecordHeartbeat(ctx, i)
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if err := a.Temporal.DeleteJourney(ctx, c.ParticipantID); err != nil {
			if errors.Is(err, ErrJourneyRunning) {
				log.Warn("erasure skipped: the journey is still running", "participant_id", c.ParticipantID)
				res.Skipped++
				continue
			}
			log.Error("deleting the journey from Temporal failed", "participant_id", c.ParticipantID, "error", err)
			failed = append(failed, fmt.Errorf("delete the journey of %s: %w", c.ParticipantID, err))
			continue
		}
		if err := a.Retention.ErasePersonalData(ctx, c.ParticipantID, c.ExitedAt); err != nil {
			log.Error("erasing personal data failed", "participant_id", c.ParticipantID, "error", err)
			failed = append(failed, fmt.Errorf("erase %s: %w", c.ParticipantID, err))
			continue
		}
		log.Info("personal data erased", "participant_id", c.ParticipantID)
		res.Erased++
	}
	if len(failed) > 0 {
		return res, fmt.Errorf("%d of %d erasures failed (%d done): %w", len(failed), len(due), res.Erased, errors.Join(failed...))
	}
	res.More = len(due) == limit && res.Erased > 0
	return res, nil
}
