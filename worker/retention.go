package worker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/stegvis/stegvis/activities"
	"github.com/stegvis/stegvis/workflows"
)

// deleteCallTimeout bounds each call to Temporal; the raw service calls have none.
const deleteCallTimeout = 30 * time.Second

// JourneyDeleter deletes a participant's journey executions from Temporal, so that
// the (encrypted) free text in their histories goes with the rest of their personal
// data. It implements activities.RetentionTemporal.
type JourneyDeleter struct {
	client    client.Client
	namespace string
}

var _ activities.RetentionTemporal = (*JourneyDeleter)(nil)

// NewJourneyDeleter returns a deleter that works in the given namespace, the one the
// client was made for.
func NewJourneyDeleter(c client.Client, namespace string) *JourneyDeleter {
	return &JourneyDeleter{client: c, namespace: namespace}
}

// DeleteJourney deletes every closed run of the participant's journey: all journeys
// (a re-entry reuses the workflow ID) and every continue-as-new run. Nothing to delete
// is fine. A journey that is still running is neither deleted nor terminated:
// DeleteJourney returns activities.ErrJourneyRunning.
func (d *JourneyDeleter) DeleteJourney(ctx context.Context, participantID string) error {
	if msg := workflows.CheckParticipantID(participantID); msg != "" {
		// The id goes into a visibility query below; refuse anything that could escape it.
		return fmt.Errorf("participant id %q %s", participantID, msg)
	}
	id := workflows.JourneyWorkflowID(participantID)
	runs := map[string]bool{}

	// The current run, straight from the history service: visibility may lag behind.
	cctx, cancel := context.WithTimeout(ctx, deleteCallTimeout)
	desc, err := d.client.DescribeWorkflowExecution(cctx, id, "")
	cancel()
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
	case err != nil:
		return fmt.Errorf("describe workflow %s: %w", id, err)
	case desc.GetWorkflowExecutionInfo().GetStatus() == enums.WORKFLOW_EXECUTION_STATUS_RUNNING:
		return activities.ErrJourneyRunning
	default:
		runs[desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()] = true
	}

	// Every earlier run, from visibility.
	var token []byte
	for {
		cctx, cancel := context.WithTimeout(ctx, deleteCallTimeout)
		resp, err := d.client.ListWorkflow(cctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: d.namespace, Query: fmt.Sprintf("WorkflowId = '%s'", id), NextPageToken: token,
		})
		cancel()
		if err != nil {
			return fmt.Errorf("list runs of workflow %s: %w", id, err)
		}
		for _, e := range resp.GetExecutions() {
			if e.GetStatus() == enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
				return activities.ErrJourneyRunning
			}
			runs[e.GetExecution().GetRunId()] = true
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}

	ids := make([]string, 0, len(runs))
	for run := range runs {
		ids = append(ids, run)
	}
	slices.Sort(ids)
	for _, run := range ids {
		cctx, cancel := context.WithTimeout(ctx, deleteCallTimeout)
		_, err := d.client.WorkflowService().DeleteWorkflowExecution(cctx, &workflowservice.DeleteWorkflowExecutionRequest{
			Namespace:         d.namespace,
			WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: run},
		})
		cancel()
		if err != nil && !errors.As(err, &notFound) {
			return fmt.Errorf("delete run %s of workflow %s: %w", run, id, err)
		}
	}
	return nil
}
