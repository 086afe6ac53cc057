package activities

import (
	"context"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
)

// RunSelfCheckName is the registered name of the self-check activity.
const RunSelfCheckName = "RunSelfCheck"

// SelfCheckSummary is what a self-check run found, by kind, and how many inbox
// notifications it wrote (a finding already notified is not notified again).
type SelfCheckSummary struct {
	Findings int            `json:"findings"`
	ByKind   map[string]int `json:"byKind,omitempty"`
	Notified int            `json:"notified"`
}

// SelfChecker runs the self-check (package selfcheck), records what it found and
// notifies the unit managers and admins. progress is called as it goes, so that the
// activity can heartbeat.
type SelfChecker interface {
	RunAndNotify(ctx context.Context, progress func(detail string)) (SelfCheckSummary, error)
}

// RunSelfCheck runs the daily self-check. It heartbeats as it goes: a worker that dies
// half-way is noticed within the heartbeat timeout and the check runs again elsewhere,
// which is safe, because a finding is notified once.
func (a *Activities) RunSelfCheck(ctx context.Context) (SelfCheckSummary, error) {
	if a.SelfCheck == nil {
		return SelfCheckSummary{}, temporal.NewNonRetryableApplicationError("the self-check is not configured: Activities.SelfCheck is nil", "SelfCheckNotConfigured", nil)
	}
	return a.SelfCheck.RunAndNotify(ctx, func(detail string) { activity.RecordHeartbeat(ctx, detail) })
}
