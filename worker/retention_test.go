package worker_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.temporal.io/server/common/dynamicconfig"
	server "go.temporal.io/server/temporal"
	"go.temporal.io/server/temporaltest"

	"github.com/stegvis/stegvis/activities"
	"github.com/stegvis/stegvis/store"
	"github.com/stegvis/stegvis/store/storetest"
	"github.com/stegvis/stegvis/worker"
	"github.com/stegvis/stegvis/workflows"
)

const stubQueue = "retention-test"

// stubJourney stands in for a journey: it ends at once, or waits for a signal.
func stubJourney(ctx workflow.Context, wait bool) error {
	if wait {
		workflow.GetSignalChannel(ctx, "end").Receive(ctx, nil)
	}
	return nil
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("%s: not within 30s", what)
}

// exited writes an exited participant to the read model with a signed plan, and their
// sealed identity.
func exited(t *testing.T, st *store.Store, participant string, at time.Time) {
	t.Helper()
	ctx := context.Background()
	referred := at.AddDate(0, -6, 0)
	err := st.RecordJourneyEvents(ctx, activities.JourneyEvents{ParticipantID: participant, JourneyID: "run-" + participant,
		Events: []activities.JourneyEvent{
			{Seq: 1, At: referred, Kind: "referred", Summary: "referred to Jobbgaranti in arbetsmarknad"},
			{Seq: 2, At: referred.Add(time.Hour), Kind: "plan_signed", Summary: "action plan signed: forklift course"},
			{Seq: 3, At: at, Kind: "exited", Summary: "left the programme: studies"},
		},
		Snapshot: activities.JourneySnapshot{Unit: "arbetsmarknad", ProgramID: "jobbgaranti", ProgramVersion: 1, Phase: "exited",
			ReferredAt: referred, ExitedAt: &at, ExitReason: "studies"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.SaveIdentity(ctx, store.Identity{ParticipantID: participant, KeyID: "k1",
		PersonalNumber: []byte("sealed-pnr"), Name: []byte("Sven Svensson")}); err != nil {
		t.Fatal(err)
	}
}

func runsOf(t *testing.T, c client.Client, ns, workflowID string) (closed, open int) {
	t.Helper()
	resp, err := c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: ns, Query: fmt.Sprintf("WorkflowId = '%s'", workflowID)})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range resp.GetExecutions() {
		if e.GetStatus() == enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
			open++
		} else {
			closed++
		}
	}
	return closed, open
}

type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// EraseExpired against a real Temporal server and a real database: the closed runs of
// an erased participant's journey are deleted from Temporal, their personal data from
// PostgreSQL; a participant whose journey still runs is skipped and keeps everything.
func TestEraseExpiredDeletesJourneysFromTemporalAndPersonalDataFromPostgres(t *testing.T) {
	st, _ := storetest.New(t)
	// A closed run is deleted once its close has been acknowledged, which the server
	// does every 30 seconds by default; journeys due for erasure closed long ago.
	ts := temporaltest.NewServer(temporaltest.WithT(t), temporaltest.WithBaseServerOptions(
		server.WithDynamicConfigClient(dynamicconfig.StaticClient{
			dynamicconfig.TransferProcessorUpdateAckInterval.Key(): 500 * time.Millisecond,
		})))
	c := ts.GetDefaultClient()
	ns := ts.GetDefaultNamespace()
	ctx := context.Background()
	w := ts.NewWorker(stubQueue, func(r sdkworker.Registry) {
		r.RegisterWorkflowWithOptions(stubJourney, workflow.RegisterOptions{Name: "stub-journey"})
	})
	defer w.Stop()

	start := func(participant string, wait bool) client.WorkflowRun {
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.JourneyWorkflowID(participant), TaskQueue: stubQueue},
			"stub-journey", wait)
		if err != nil {
			t.Fatal(err)
		}
		return run
	}
	// p-old ran two journeys (a re-entry reuses the workflow ID), both ended.
	var oldRuns []string
	for range 2 {
		run := start("p-old", false)
		if err := run.Get(ctx, nil); err != nil {
			t.Fatal(err)
		}
		oldRuns = append(oldRuns, run.GetRunID())
	}
	// p-back came back: a journey runs, though the read model still says exited.
	back := start("p-back", true)
	waitFor(t, "visibility of the runs", func() bool {
		closed, _ := runsOf(t, c, ns, workflows.JourneyWorkflowID("p-old"))
		_, open := runsOf(t, c, ns, workflows.JourneyWorkflowID("p-back"))
		return closed == 2 && open == 1
	})
	// p-none has nothing left in Temporal (its namespace retention removed it).
	longAgo := time.Now().AddDate(-3, 0, 0)
	exited(t, st, "p-old", longAgo)
	exited(t, st, "p-back", longAgo.Add(time.Hour))
	exited(t, st, "p-none", longAgo.Add(2*time.Hour))
	exited(t, st, "p-recent", time.Now().AddDate(0, -1, 0))

	var logs logBuffer
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	env := suite.NewTestActivityEnvironment()
	acts := &activities.Activities{Retention: st, Temporal: worker.NewJourneyDeleter(c, ns)}
	env.RegisterActivity(acts.EraseExpired)
	cutoff := time.Now().AddDate(-2, 0, 0)

	// A batch of one: p-old, the oldest exit, and there may be more.
	v, err := env.ExecuteActivity(acts.EraseExpired, activities.EraseInput{ExitedBefore: cutoff, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	var res activities.EraseResult
	res = activities.EraseResult{}
	if err := v.Get(&res); err != nil {
		t.Fatal(err)
	}
	if res != (activities.EraseResult{Erased: 1, More: true}) {
		t.Fatalf("first batch: %+v", res)
	}
	// The rest: p-back is skipped, p-none erased.
	if v, err = env.ExecuteActivity(acts.EraseExpired, activities.EraseInput{ExitedBefore: cutoff}); err != nil {
		t.Fatal(err)
	}
	res = activities.EraseResult{}
	if err := v.Get(&res); err != nil {
		t.Fatal(err)
	}
	if res != (activities.EraseResult{Erased: 1, Skipped: 1}) {
		t.Fatalf("second batch: %+v", res)
	}

	for _, run := range oldRuns {
		waitFor(t, "deletion of run "+run, func() bool {
			_, err := c.DescribeWorkflowExecution(ctx, workflows.JourneyWorkflowID("p-old"), run)
			var nf *serviceerror.NotFound
			return errors.As(err, &nf)
		})
	}
	if d, err := c.DescribeWorkflowExecution(ctx, back.GetID(), back.GetRunID()); err != nil ||
		d.GetWorkflowExecutionInfo().GetStatus() != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("p-back's running journey was touched: %v", err)
	}
	for p, erased := range map[string]bool{"p-old": true, "p-none": true, "p-back": false, "p-recent": false} {
		id, err := st.IdentityOf(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if got := id.ErasedAt != nil && id.Name == nil && id.PersonalNumber == nil; got != erased {
			t.Errorf("%s: erased %v, want %v (%+v)", p, got, erased, id)
		}
	}

	out := logs.String()
	for _, p := range []string{"p-old", "p-none"} {
		logged := false
		for line := range strings.Lines(out) {
			logged = logged || strings.Contains(line, `msg="personal data erased"`) && strings.Contains(line, "participant_id="+p+"\n")
		}
		if !logged {
			t.Errorf("no erasure logged for %s:\n%s", p, out)
		}
	}
	if !strings.Contains(out, "participant_id=p-back") || strings.Contains(out, "Sven") || strings.Contains(out, "forklift") {
		t.Errorf("log:\n%s", out)
	}

	// Once p-back's journey has ended (and left again, as far as the read model goes),
	// the next run erases it too.
	if err := c.SignalWorkflow(ctx, back.GetID(), back.GetRunID(), "end", nil); err != nil {
		t.Fatal(err)
	}
	if err := back.Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	// Until visibility shows the run closed, the participant is still skipped.
	waitFor(t, "visibility of p-back's closed run", func() bool {
		closed, open := runsOf(t, c, ns, back.GetID())
		return closed == 1 && open == 0
	})
	if v, err = env.ExecuteActivity(acts.EraseExpired, activities.EraseInput{ExitedBefore: cutoff}); err != nil {
		t.Fatal(err)
	}
	res = activities.EraseResult{}
	if err := v.Get(&res); err != nil {
		t.Fatal(err)
	}
	if res != (activities.EraseResult{Erased: 1}) {
		t.Fatalf("third batch: %+v\n%s", res, logs.String())
	}
	waitFor(t, "deletion of p-back's journey", func() bool {
		_, err := c.DescribeWorkflowExecution(ctx, back.GetID(), back.GetRunID())
		var nf *serviceerror.NotFound
		return errors.As(err, &nf)
	})
}

func TestEraseExpiredRefusesToRunHalfConfigured(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	for _, acts := range []*activities.Activities{{}, {Retention: &store.Store{}}} {
		env := suite.NewTestActivityEnvironment()
		env.RegisterActivity(acts.EraseExpired)
		_, err := env.ExecuteActivity(acts.EraseExpired, activities.EraseInput{ExitedBefore: time.Now()})
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) || !appErr.NonRetryable() || appErr.Type() != "RetentionNotConfigured" {
			t.Fatalf("%+v: error %v", acts, err)
		}
	}
}

func TestTheDeleterRefusesAParticipantIDThatCouldEscapeTheQuery(t *testing.T) {
	d := worker.NewJourneyDeleter(nil, "default")
	if err := d.DeleteJourney(context.Background(), "x' OR WorkflowId != '"); err == nil {
		t.Fatal("accepted")
	}
}
