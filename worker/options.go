package worker

import (
	"time"

	sdkworker "go.temporal.io/sdk/worker"
)

// Tuning is how hard one worker process pulls work from Temporal (issue 7).
type Tuning struct {
	// MaxPollers bounds the pollers per task type (workflow, activity). 0 keeps the
	// SDK's fixed two pollers each; above that, pollers scale between 1 and MaxPollers
	// on the server's hints about the backlog, so a reminder storm drains with many and
	// a quiet night polls with few.
	MaxPollers int
	// StopTimeout is how long running activities may finish after a stop.
	StopTimeout time.Duration
}

// Options turns a Tuning into the SDK's worker options. The task slots stay at the
// SDK's defaults (1,000 workflow and 1,000 activity tasks at once), far above what two
// cores execute; the sticky cache too (10,000 journeys kept in memory per process).
func Options(t Tuning) sdkworker.Options {
	o := sdkworker.Options{WorkerStopTimeout: t.StopTimeout}
	if t.MaxPollers > 0 {
		o.WorkflowTaskPollerBehavior = sdkworker.NewPollerBehaviorAutoscaling(sdkworker.PollerBehaviorAutoscalingOptions{
			MaximumNumberOfPollers: t.MaxPollers, InitialNumberOfPollers: min(5, t.MaxPollers)})
		o.ActivityTaskPollerBehavior = sdkworker.NewPollerBehaviorAutoscaling(sdkworker.PollerBehaviorAutoscalingOptions{
			MaximumNumberOfPollers: t.MaxPollers, InitialNumberOfPollers: min(5, t.MaxPollers)})
	}
	return o
}
