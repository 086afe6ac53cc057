// Package worker runs the journey workflow and its activities on a Temporal task queue.
package worker

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/stegvis/stegvis/activities"
	"github.com/stegvis/stegvis/workflows"
)

// Register adds the journey workflow and its activities to a worker, under the names
// the rest of stegvis uses.
func Register(r sdkworker.Registry, acts *activities.Activities) {
	r.RegisterWorkflowWithOptions(workflows.Journey, workflow.RegisterOptions{Name: workflows.JourneyWorkflowType})
	r.RegisterActivityWithOptions(acts.RecordNotification, activity.RegisterOptions{Name: activities.RecordNotificationName})
	r.RegisterActivityWithOptions(acts.RecordJourneyEvents, activity.RegisterOptions{Name: activities.RecordJourneyEventsName})
	r.RegisterActivityWithOptions(acts.DeliverNotification, activity.RegisterOptions{Name: activities.DeliverNotificationName})
	r.RegisterWorkflowWithOptions(workflows.DailyDigest, workflow.RegisterOptions{Name: workflows.DigestWorkflowType})
	r.RegisterActivityWithOptions(acts.SendDigests, activity.RegisterOptions{Name: activities.SendDigestsName})
	r.RegisterActivityWithOptions(activities.ScheduleDeadline, activity.RegisterOptions{Name: activities.ScheduleDeadlineName})
	r.RegisterWorkflowWithOptions(workflows.RetentionWorkflow, workflow.RegisterOptions{Name: workflows.RetentionWorkflowType})
	r.RegisterActivityWithOptions(acts.EraseExpired, activity.RegisterOptions{Name: activities.EraseExpiredName})
}

// Run polls the journey task queue until ctx ends, then stops: it stops polling, lets
// running activities finish within the worker's stop timeout, and hands the rest back
// to Temporal, which retries them on another worker.
func Run(ctx context.Context, c client.Client, acts *activities.Activities, opts sdkworker.Options) error {
	w := sdkworker.New(c, workflows.TaskQueue, opts)
	Register(w, acts)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker on task queue %s: %w", workflows.TaskQueue, err)
	}
	<-ctx.Done()
	w.Stop()
	return nil
}
