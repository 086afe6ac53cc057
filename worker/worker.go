// Package worker runs the journey workflow and its activities on a Temporal task queue.
package worker

import (
	"context"
	"fmt"

	"github.com/rs/zerolog"
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
	r.RegisterWorkflowWithOptions(workflows.DeliveryWorkflow, workflow.RegisterOptions{Name: workflows.DeliveryWorkflowType})
	r.RegisterActivityWithOptions(acts.GiveUpDelivery, activity.RegisterOptions{Name: activities.GiveUpDeliveryName})
	r.RegisterWorkflowWithOptions(workflows.DailyDigest, workflow.RegisterOptions{Name: workflows.DigestWorkflowType})
	r.RegisterActivityWithOptions(acts.SendDigests, activity.RegisterOptions{Name: activities.SendDigestsName})
	r.RegisterActivityWithOptions(activities.ScheduleDeadline, activity.RegisterOptions{Name: activities.ScheduleDeadlineName})
	r.RegisterWorkflowWithOptions(workflows.RetentionWorkflow, workflow.RegisterOptions{Name: workflows.RetentionWorkflowType})
	r.RegisterActivityWithOptions(acts.EraseExpired, activity.RegisterOptions{Name: activities.EraseExpiredName})
	r.RegisterWorkflowWithOptions(workflows.SelfCheckWorkflow, workflow.RegisterOptions{Name: workflows.SelfCheckWorkflowType})
	r.RegisterActivityWithOptions(acts.RunSelfCheck, activity.RegisterOptions{Name: activities.RunSelfCheckName})
}

// Run polls the journey task queue until ctx ends, then stops: it stops polling (the
// SDK tells the server, which releases the worker's sticky queue so that its workflows'
// next tasks go to another worker), waits for the workflow tasks in hand, lets running
// activities finish within opts.WorkerStopTimeout and then cancels their contexts;
// Temporal retries those on another worker. It logs the start of the stop to the
// logger in ctx (zerolog.Ctx), if any.
//
// Run also returns, with the error, when the SDK stops the worker on a fatal error
// (the namespace is gone, say), so that the process exits instead of living on
// without polling.
func Run(ctx context.Context, c client.Client, acts *activities.Activities, opts sdkworker.Options) error {
	fatal := make(chan error, 1)
	onFatal := opts.OnFatalError
	opts.OnFatalError = func(err error) {
		if onFatal != nil {
			onFatal(err)
		}
		select {
		case fatal <- err:
		default:
		}
	}
	w := sdkworker.New(c, workflows.TaskQueue, opts)
	Register(w, acts)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker on task queue %s: %w", workflows.TaskQueue, err)
	}
	select {
	case <-ctx.Done():
	case err := <-fatal:
		// The SDK stops the worker itself after a fatal error.
		return fmt.Errorf("worker on task queue %s stopped: %w", workflows.TaskQueue, err)
	}
	zerolog.Ctx(ctx).Info().Str("cause", context.Cause(ctx).Error()).Str("task_queue", workflows.TaskQueue).Dur("timeout", opts.WorkerStopTimeout).
		Msg("worker shutting down: no more polling; running activities may finish within the timeout (SHUTDOWN_TIMEOUT), then are cancelled and retried on another worker")
	w.Stop()
	return nil
}
