package workflows

import "go.temporal.io/sdk/workflow"

// A test-only change to the journey workflow, for the end-to-end test of a rolling
// worker deploy (e2e/, issue 8). The constant e2ePatch is false in every normal build
// (e2epatch_off.go), which leaves this code unreachable: histories, commands and
// replay are exactly those of the released workflow. A binary built with
// `-tags e2epatch` (e2epatch_on.go) runs the change, guarded by workflow.GetVersion
// as a real change must be: a journey whose first task ran before the change replays
// it as DefaultVersion and stays on the old path; a journey started on the new code
// records version 1 and adds one timeline event. Never enable it in a release.
const (
	// E2EPatchChangeID is the GetVersion change id of the test-only change.
	E2EPatchChangeID = "e2e-patch-demo"
	// E2EPatchEventKind is the timeline and journey-event kind the new path records.
	E2EPatchEventKind = "e2e_patch"
	// E2EPatchOn reports whether this build has the change (-tags e2epatch).
	E2EPatchOn = e2ePatch
)

// e2ePatchStart is the guarded change: it runs at the start of a journey's first run,
// once its first deadlines exist.
func (j *journey) e2ePatchStart(ctx workflow.Context) {
	if !e2ePatch {
		return
	}
	if workflow.GetVersion(ctx, E2EPatchChangeID, workflow.DefaultVersion, 1) == 1 {
		j.event(workflow.Now(ctx), E2EPatchEventKind, "started on the e2e-patched workflow (test build only)")
	}
}
