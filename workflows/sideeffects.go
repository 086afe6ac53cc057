package workflows

import (
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/stegvis/stegvis/activities"
)

// Side effects apart from the journey's clock (issue 13). Before this change the loop
// waited, with unlimited retries, for each notice's delivery and for every read-model
// write, so one undeliverable email or one event PostgreSQL refused stopped every later
// reminder and escalation of the journey. Now:
//   - a notice is still written in the loop (its write is idempotent by id), but a
//     write that can never succeed is permanent and the loop goes on;
//   - a notice's delivery runs in a child workflow of its own (DeliveryWorkflow); the
//     journey waits only until it has started, and abandons it on continue-as-new or
//     exit, so nothing in flight is lost;
//   - the read-model write is tried a few times per turn of the loop; a transient failure
//     keeps the events queued and retries them on a timer, a permanent one (recorded by
//     the activity) drops the batch.

// SideEffectsApartChangeID is the GetVersion change id of this change. Histories
// recorded before it replay the old path (notify, deliver and flush waiting inline).
const SideEffectsApartChangeID = "side-effects-apart"

// Names of the delivery workflow.
const (
	// DeliveryWorkflowType is the registered name of DeliveryWorkflow.
	DeliveryWorkflowType = "Delivery"
	// deliveryWorkflowIDPrefix + notification id is a delivery's workflow ID. The
	// notification id is the journey's first run ID with the deadline and notice, so it
	// carries no personal data.
	deliveryWorkflowIDPrefix = "delivery-"
)

// DeliveryGiveUpAfter is how long transient failures (a mail server or webhook down) may
// keep a delivery from succeeding before it is recorded as failed for good, for an
// admin to handle.
const DeliveryGiveUpAfter = 24 * time.Hour

// deliveryMaxInterval bounds the backoff between delivery attempts: a mail server back
// after an outage gets what waited within a minute.
const deliveryMaxInterval = time.Minute

// DeliveryWorkflowID is the workflow ID of a notification's delivery.
func DeliveryWorkflowID(notificationID string) string {
	return deliveryWorkflowIDPrefix + notificationID
}

// DeliveryInput names the notification to deliver.
type DeliveryInput struct {
	NotificationID string `json:"notificationId"`
	// GiveUpAfter overrides DeliveryGiveUpAfter when set.
	GiveUpAfter time.Duration `json:"giveUpAfter,omitempty"`
}

// DeliveryWorkflow delivers one written notification by email and webhook, retrying
// transient failures with backoff until GiveUpAfter, then recording the channels left
// as failed. A permanent refusal is recorded by the activity at once. Channels already
// delivered are never repeated (the activity skips them).
func DeliveryWorkflow(ctx workflow.Context, in DeliveryInput) error {
	giveUp := in.GiveUpAfter
	if giveUp <= 0 {
		giveUp = DeliveryGiveUpAfter
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: giveUp,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2,
			MaximumInterval: deliveryMaxInterval, NonRetryableErrorTypes: activities.PermanentErrorTypes},
	})
	began := workflow.Now(ctx)
	err := workflow.ExecuteActivity(actx, activities.DeliverNotificationName, in.NotificationID).Get(ctx, nil)
	switch {
	case err == nil:
		return nil
	case permanentFailure(err):
		return nil // recorded on the notification, counted and logged by the activity
	case temporal.IsCanceledError(err):
		return err
	}
	// Only the overall limit ends the retries (no attempt limit): transient failures
	// lasted that long. Recorded with how long it really was.
	after := workflow.Now(ctx).Sub(began).Round(time.Minute)
	workflow.GetLogger(ctx).Error("delivery given up after transient failures", "notification", in.NotificationID, "after", after)
	return workflow.ExecuteActivity(notificationContext(ctx), activities.GiveUpDeliveryName,
		activities.GiveUpInput{ID: in.NotificationID, After: after}).Get(ctx, nil)
}

// recordNotice writes a notice. A write that can never succeed (the activity has
// recorded and alerted it) reports written=false and no error: the journey goes on.
func (j *journey) recordNotice(ctx workflow.Context, n activities.Notification) (written bool, err error) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		// No attempt limit: PostgreSQL down for an hour must not lose a notice; later
		// notices wait meanwhile, as nothing could be written anyway. The interval stays
		// short so that the notices waiting are written soon after it is back.
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second,
			NonRetryableErrorTypes: activities.PermanentErrorTypes},
	})
	err = workflow.ExecuteActivity(actx, activities.RecordNotificationName, n).Get(ctx, nil)
	if permanentFailure(err) {
		workflow.GetLogger(ctx).Error("notice not written; the journey goes on", "notification", n.ID, "error", err)
		return false, nil
	}
	return err == nil, err
}

// startDelivery starts a notification's delivery apart from the journey and waits only
// until it has started. The child is abandoned when the journey continues as new or
// ends, so it finishes whatever the journey does.
func startDelivery(ctx workflow.Context, id string) error {
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            DeliveryWorkflowID(id),
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	})
	err := workflow.ExecuteChildWorkflow(cctx, DeliveryWorkflowType, DeliveryInput{NotificationID: id}).
		GetChildWorkflowExecution().Get(ctx, nil)
	var started *temporal.ChildWorkflowExecutionAlreadyStartedError
	if errors.As(err, &started) {
		return nil // delivered or delivering already
	}
	if err != nil {
		return fmt.Errorf("start delivery of %s: %w", id, err)
	}
	return nil
}

// permanentFailure reports whether an activity failed with one of the permanent error
// types.
func permanentFailure(err error) bool {
	var app *temporal.ApplicationError
	if !errors.As(err, &app) {
		return false
	}
	for _, t := range activities.PermanentErrorTypes {
		if app.Type() == t {
			return true
		}
	}
	return false
}

// Read-model retries of the new path: a few attempts per turn of the loop, then the
// events stay queued and the loop tries again after flushBackoff (doubling to
// flushMaxBackoff), while notices that fall due meanwhile are still sent.
const (
	flushAttempts   = 3
	flushBackoff    = 15 * time.Second
	flushMaxBackoff = 5 * time.Minute
)

// flushApart writes the queued events with a bounded number of attempts. On a
// transient failure the events stay queued and a retry time is set; on a permanent one
// (recorded by the activity) the batch leaves the queue.
func (j *journey) flushApart(ctx workflow.Context) {
	n := len(j.state.Outbox)
	if n == 0 {
		return
	}
	batch := append([]activities.JourneyEvent(nil), j.state.Outbox...)
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		// Short, so that a database that hangs instead of refusing holds a turn of the
		// loop for under a minute (three attempts), not the old 30 s each.
		StartToCloseTimeout: 15 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumAttempts: flushAttempts,
			NonRetryableErrorTypes: activities.PermanentErrorTypes},
	})
	err := workflow.ExecuteActivity(actx, activities.RecordJourneyEventsName, activities.JourneyEvents{
		ParticipantID: j.state.Start.ParticipantID,
		JourneyID:     workflow.GetInfo(ctx).FirstRunID,
		Events:        batch,
		Snapshot:      j.snapshot(),
	}).Get(ctx, nil)
	switch {
	case err == nil || permanentFailure(err):
		if err != nil {
			workflow.GetLogger(ctx).Error("journey events dropped after a permanent write failure",
				"firstSeq", batch[0].Seq, "lastSeq", batch[n-1].Seq, "error", err)
		}
		j.state.Outbox = append([]activities.JourneyEvent(nil), j.state.Outbox[n:]...)
		j.flushRetryAt, j.flushWait = time.Time{}, 0
	default:
		j.flushWait = min(max(2*j.flushWait, flushBackoff), flushMaxBackoff)
		j.flushRetryAt = workflow.Now(ctx).Add(j.flushWait)
		workflow.GetLogger(ctx).Warn("journey events not written; will retry", "events", n, "retryIn", j.flushWait, "error", err)
	}
}

// flushBeforeExit writes what is queued before the workflow completes, waiting out
// transient failures.
func (j *journey) flushBeforeExit(ctx workflow.Context) error {
	for {
		j.flushApart(ctx)
		if len(j.state.Outbox) == 0 {
			return nil
		}
		if j.flushRetryAt.IsZero() {
			continue // written; handlers queued more meanwhile
		}
		if err := workflow.Sleep(ctx, j.flushRetryAt.Sub(workflow.Now(ctx))); err != nil {
			return err
		}
	}
}
