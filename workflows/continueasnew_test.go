package workflows

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/temporal"
	"go.temporal.io/server/temporaltest"

	"github.com/stegvis/stegvis/calendar"
)

// TestHistoryStaysBoundedOnARealServer lowers the server's continue-as-new suggestion
// to 40 events and records 25 meetings: the journey continues as new, several times,
// without losing an update or any state, and the query answers from the newest run.
func TestHistoryStaysBoundedOnARealServer(t *testing.T) {
	ts := temporaltest.NewServer(temporaltest.WithT(t), temporaltest.WithBaseServerOptions(
		temporal.WithDynamicConfigClient(dynamicconfig.StaticClient{
			dynamicconfig.HistoryCountSuggestContinueAsNew.Key(): 40,
		})))
	mem := &memoryNotifications{ids: map[string]bool{}, now: time.Now}
	w := journeyWorker(ts, mem)
	defer w.Stop()
	c := ts.GetDefaultClient()
	ctx := context.Background()

	in := input("steg", calendar.Date(time.Now()), "g-anna")
	in.Start.ParticipantID = "can-1"
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: JourneyWorkflowID("can-1"), TaskQueue: TaskQueue}, JourneyWorkflowType, in)
	if err != nil {
		t.Fatal(err)
	}
	const meetings = 25
	for i := range meetings {
		h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID: run.GetID(), UpdateName: UpdateRecordMeeting, WaitForStage: client.WorkflowUpdateStageCompleted,
			Args: []any{Meeting{Kind: MeetingOther, Outcome: OutcomeHeld, OccurredAt: latest(time.Now().Add(-time.Duration(meetings-i)*time.Minute), in.Start.ReferredAt.Add(time.Duration(i)*time.Second))}},
		})
		if err == nil {
			err = h.Get(ctx, nil)
		}
		if err != nil {
			t.Fatalf("meeting %d was lost: %v", i+1, err)
		}
	}
	desc, err := c.DescribeWorkflowExecution(ctx, run.GetID(), "")
	if err != nil {
		t.Fatal(err)
	}
	if desc.WorkflowExecutionInfo.Execution.RunId == run.GetRunID() {
		t.Fatalf("the journey never continued as new (history %d events)", desc.WorkflowExecutionInfo.HistoryLength)
	}
	if n := desc.WorkflowExecutionInfo.HistoryLength; n > 80 {
		t.Errorf("the newest run has %d events; continue-as-new should keep it near 40", n)
	}
	v, err := c.QueryWorkflow(ctx, run.GetID(), "", QueryState)
	if err != nil {
		t.Fatal(err)
	}
	var s JourneyState
	if err := v.Get(&s); err != nil {
		t.Fatal(err)
	}
	if s.Meetings.Held != meetings || len(s.Deadlines) < 4 || s.Guides[0].GuideID != "g-anna" || s.Start.ParticipantID != "can-1" {
		t.Fatalf("state after continue-as-new: held %d, %d deadlines, %+v", s.Meetings.Held, len(s.Deadlines), s.Guides)
	}
}

// latest keeps a meeting after the referral when the test runs just after midnight.
func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
