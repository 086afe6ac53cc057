// Package selfcheck proves every journey alive (issue 13): it compares the read model
// with the journeys Temporal runs and with the org chart, and finds what would
// otherwise fail silently. A Temporal Schedule runs it every morning (the findings go
// to the unit managers' inboxes and to metrics), an operator runs it with
// `stegvis check`, and an admin reads it at GET /v1/admin/self-check.
//
// A finding names the participant by their pseudonymous id, a unit or a staff id, and
// never carries personal data.
package selfcheck

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"golang.org/x/sync/errgroup"

	"github.com/stegvis/stegvis/activities"
	"github.com/stegvis/stegvis/calendar"
	"github.com/stegvis/stegvis/store"
	"github.com/stegvis/stegvis/workflows"
)

// Kind is what a finding is about.
type Kind string

// The kinds of finding, in the order a report lists them.
const (
	// JourneyWithoutWorkflow: the read model shows a journey, Temporal runs none.
	JourneyWithoutWorkflow Kind = "journey_without_workflow"
	// WorkflowWithoutJourney: Temporal runs a journey the read model does not know, or
	// knows as exited.
	WorkflowWithoutJourney Kind = "workflow_without_journey"
	// DeadlineMismatch: an open deadline, or its next notice time, differs between the
	// read model and the journey.
	DeadlineMismatch Kind = "deadline_mismatch"
	// JourneyNotAnswering: the journey did not answer its state query.
	JourneyNotAnswering Kind = "journey_not_answering"
	// NotificationWithoutRecipient: notices of a running journey reached nobody.
	NotificationWithoutRecipient Kind = "notification_without_recipient"
	// UnitNotInOrgChart: an active journey's unit is missing or deactivated.
	UnitNotInOrgChart Kind = "unit_not_in_org_chart"
	// GuideNotInOrgChart: an active journey's guide is missing, deactivated or no guide.
	GuideNotInOrgChart Kind = "guide_not_in_org_chart"
	// CaseWorkerNotInOrgChart: an active journey's case worker is missing, deactivated
	// or no case worker.
	CaseWorkerNotInOrgChart Kind = "case_worker_not_in_org_chart"
	// DeliveryFailed: a notice could not be delivered, for good, and nobody handled it.
	DeliveryFailed Kind = "delivery_failed"
	// JournalWriteFailed: a journey's events could not be written to the read model.
	JournalWriteFailed Kind = "journal_write_failed"
)

// Kinds lists every kind, in report order.
var Kinds = []Kind{JourneyWithoutWorkflow, WorkflowWithoutJourney, DeadlineMismatch, JourneyNotAnswering,
	NotificationWithoutRecipient, UnitNotInOrgChart, GuideNotInOrgChart, CaseWorkerNotInOrgChart, DeliveryFailed, JournalWriteFailed}

// KindNames is Kinds as strings, for the metrics.
func KindNames() []string {
	out := make([]string, len(Kinds))
	for i, k := range Kinds {
		out[i] = string(k)
	}
	return out
}

// Finding is one problem: what is wrong and what to do, in English, for the API, the
// command line and the inbox.
type Finding struct {
	Kind          Kind      `json:"kind"`
	ParticipantID string    `json:"participantId,omitempty"`
	Unit          string    `json:"unit,omitempty"`
	Problem       string    `json:"problem"`
	Action        string    `json:"action"`
	FirstSeenAt   time.Time `json:"firstSeenAt"`
	// subject tells findings of one kind apart across runs: a participant, or a
	// notification.
	subject string
}

// Report is what one run found.
type Report struct {
	CheckedAt time.Time `json:"checkedAt"`
	// Grace is how young a journey may be and not be compared yet: Temporal's list of
	// running workflows lags, and a new journey writes the read model a moment later.
	Grace    string       `json:"grace"`
	Total    int          `json:"total"`
	Counts   map[Kind]int `json:"counts"` // every kind, 0 when none
	Findings []Finding    `json:"findings"`
	// Notified is how many inbox notifications the run wrote; a finding already
	// notified is not notified again.
	Notified int `json:"notified"`
}

// Store is what the check reads and writes of stegvis's database; *store.Store.
type Store interface {
	ActiveJourneys(ctx context.Context) ([]store.JourneyRow, error)
	JourneysOf(ctx context.Context, participantIDs []string) ([]store.JourneyRow, error)
	OpenDeadlines(ctx context.Context, participantIDs []string) ([]store.OpenDeadlineRow, error)
	OrgChartGaps(ctx context.Context) ([]store.OrgChartGap, error)
	UnaddressedNotifications(ctx context.Context) ([]store.UnaddressedNotices, error)
	FailedDeliveries(ctx context.Context) ([]store.FailedDelivery, error)
	UnresolvedJournalFailures(ctx context.Context) ([]store.FailedJournalWrites, error)
	OpenFindings(ctx context.Context) (map[store.FindingKey]time.Time, error)
	RecordFindings(ctx context.Context, now time.Time, found []store.FindingRecord) (map[store.FindingKey]time.Time, error)
	RecordSelfCheckRun(ctx context.Context, at time.Time, ok bool) error
	ResolveRecipient(ctx context.Context, role, unit, guideID string) (string, string, error)
	InsertSelfCheckNotice(ctx context.Context, n store.SelfCheckNotice) (bool, error)
}

var _ Store = (*store.Store)(nil)

// Defaults of a Checker.
const (
	// DefaultGrace: journeys younger than this are not held against the read model.
	DefaultGrace = 10 * time.Minute
	// DefaultConcurrency is how many journeys are queried at once.
	DefaultConcurrency = 8
	// NoticeTolerance is how far the two next notice times may differ: the read model
	// keeps microseconds.
	NoticeTolerance = time.Minute
	// queryTimeout bounds one journey's query.
	queryTimeout = 10 * time.Second
	// callTimeout bounds one call to Temporal's list and describe.
	callTimeout = 30 * time.Second
)

// Checker runs the self-check.
type Checker struct {
	Store     Store
	Temporal  client.Client
	Namespace string
	// Grace is DefaultGrace when 0; Concurrency DefaultConcurrency.
	Grace       time.Duration
	Concurrency int
	// Now is time.Now when nil.
	Now func() time.Time
}

// Check runs the check and reports what it finds, changing nothing: a finding's first
// sighting is that of the last recording run (CheckAndNotify), or now.
func (c *Checker) Check(ctx context.Context, progress func(string)) (Report, error) {
	return c.run(ctx, false, progress)
}

// CheckAndNotify runs the check, remembers its findings (those no longer found are
// resolved) and writes each new one to the inbox of the unit's manager, or of every
// admin when it belongs to no unit or the unit has no active manager.
func (c *Checker) CheckAndNotify(ctx context.Context, progress func(string)) (Report, error) {
	return c.run(ctx, true, progress)
}

// RunAndNotify is CheckAndNotify for the daily activity (activities.SelfChecker).
func (c *Checker) RunAndNotify(ctx context.Context, progress func(string)) (activities.SelfCheckSummary, error) {
	r, err := c.CheckAndNotify(ctx, progress)
	if err != nil {
		return activities.SelfCheckSummary{}, err
	}
	s := activities.SelfCheckSummary{Findings: r.Total, Notified: r.Notified, ByKind: map[string]int{}}
	for k, n := range r.Counts {
		if n > 0 {
			s.ByKind[string(k)] = n
		}
	}
	return s, nil
}

var _ activities.SelfChecker = (*Checker)(nil)

func (c *Checker) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Checker) grace() time.Duration { return cmp.Or(c.Grace, DefaultGrace) }

func (c *Checker) run(ctx context.Context, record bool, progress func(string)) (rep Report, err error) {
	if progress == nil {
		progress = func(string) {}
	}
	now := c.now()
	if c.Store == nil || c.Temporal == nil {
		return Report{}, errors.New("the self-check is not configured: it needs the database and Temporal")
	}
	if record {
		// The metrics (stegvis_self_check_*) are read from the database by every
		// process, so that they agree whichever worker ran the check. A run that cannot
		// even record this leaves the last success as it was, and the staleness alert
		// fires.
		defer func() {
			if rerr := c.Store.RecordSelfCheckRun(context.WithoutCancel(ctx), c.now(), err == nil); rerr != nil && err == nil {
				err = rerr
			}
		}()
	}
	var found []Finding
	for _, step := range []struct {
		name string
		run  func(context.Context, time.Time, func(string)) ([]Finding, error)
	}{
		{"journeys", c.journeys},
		{"org chart", c.orgChart},
		{"notifications", c.notifications},
		{"journal", c.journal},
	} {
		progress(step.name)
		f, err := step.run(ctx, now, progress)
		if err != nil {
			return Report{}, fmt.Errorf("self-check (%s): %w", step.name, err)
		}
		found = append(found, f...)
	}
	order := map[Kind]int{}
	for i, k := range Kinds {
		order[k] = i
	}
	slices.SortFunc(found, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(order[a.Kind], order[b.Kind]), strings.Compare(a.ParticipantID, b.ParticipantID), strings.Compare(a.subject, b.subject))
	})

	var first map[store.FindingKey]time.Time
	if record {
		recs := make([]store.FindingRecord, len(found))
		for i, f := range found {
			recs[i] = store.FindingRecord{FindingKey: key(f), ParticipantID: f.ParticipantID, Unit: f.Unit, Problem: f.Problem, Action: f.Action}
		}
		first, err = c.Store.RecordFindings(ctx, now, recs)
	} else {
		first, err = c.Store.OpenFindings(ctx)
	}
	if err != nil {
		return Report{}, err
	}
	rep = Report{CheckedAt: now, Grace: c.grace().String(), Counts: map[Kind]int{}, Findings: found, Total: len(found)}
	for _, k := range Kinds {
		rep.Counts[k] = 0
	}
	for i := range found {
		f := &found[i]
		f.FirstSeenAt = now
		if at, ok := first[key(*f)]; ok {
			f.FirstSeenAt = at
		}
		rep.Counts[f.Kind]++
	}
	if rep.Findings == nil {
		rep.Findings = []Finding{}
	}
	if record {
		progress("notify")
		if rep.Notified, err = c.notify(ctx, found); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func key(f Finding) store.FindingKey {
	return store.FindingKey{Kind: string(f.Kind), Subject: f.subject}
}

// notify writes each finding to an inbox, once per finding and first sighting.
func (c *Checker) notify(ctx context.Context, found []Finding) (int, error) {
	managers := map[string]string{}
	n := 0
	for _, f := range found {
		role, recipient := "admin", ""
		if f.Unit != "" {
			m, ok := managers[f.Unit]
			if !ok {
				var err error
				if m, _, err = c.Store.ResolveRecipient(ctx, "unit_manager", f.Unit, ""); err != nil {
					return n, fmt.Errorf("find the manager of unit %s: %w", f.Unit, err)
				}
				managers[f.Unit] = m
			}
			if m != "" {
				role, recipient = "unit_manager", m
			}
		}
		inserted, err := c.Store.InsertSelfCheckNotice(ctx, store.SelfCheckNotice{
			ID:            fmt.Sprintf("self-check/%s/%s/%s", f.Kind, f.subject, f.FirstSeenAt.UTC().Format("20060102T150405.000000Z")),
			ParticipantID: f.ParticipantID, Unit: f.Unit, Kind: string(f.Kind), RecipientRole: role, RecipientID: recipient,
			Message: f.Problem + " " + f.Action, FirstSeen: f.FirstSeenAt,
		})
		if err != nil {
			return n, err
		}
		if inserted {
			n++
		}
	}
	return n, nil
}

// local formats a time as people in the programme read it.
func local(t time.Time) string { return t.In(calendar.Stockholm).Format("2006-01-02 15:04") }

// running is a journey workflow Temporal lists as running.
type running struct {
	started time.Time
}

// runningJourneys lists the running journey workflows from Temporal's visibility,
// page by page, by participant.
func (c *Checker) runningJourneys(ctx context.Context, progress func(string)) (map[string]running, error) {
	out := map[string]running{}
	var token []byte
	for {
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		resp, err := c.Temporal.ListWorkflow(cctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: c.Namespace, PageSize: 1000, NextPageToken: token,
			Query: fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running'", workflows.JourneyWorkflowType),
		})
		cancel()
		if err != nil {
			return nil, fmt.Errorf("list the running journeys in Temporal: %w", err)
		}
		for _, e := range resp.GetExecutions() {
			id, ok := strings.CutPrefix(e.GetExecution().GetWorkflowId(), workflows.JourneyWorkflowID(""))
			if !ok {
				continue
			}
			out[id] = running{started: e.GetStartTime().AsTime()}
		}
		progress(fmt.Sprintf("listed %d running journeys", len(out)))
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return out, nil
		}
	}
}

// describe reads a journey's current run from the history service, which unlike the
// list does not lag: status is RUNNING, another status, or UNSPECIFIED when there is
// no workflow at all.
func (c *Checker) describe(ctx context.Context, participantID string) (enums.WorkflowExecutionStatus, error) {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	d, err := c.Temporal.DescribeWorkflowExecution(cctx, workflows.JourneyWorkflowID(participantID), "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return enums.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED, nil
	}
	if err != nil {
		return 0, fmt.Errorf("describe the journey of %s: %w", participantID, err)
	}
	return d.GetWorkflowExecutionInfo().GetStatus(), nil
}

// journeys compares the read model's journeys with the running workflows, and each
// running journey's open deadlines with the read model's.
func (c *Checker) journeys(ctx context.Context, now time.Time, progress func(string)) ([]Finding, error) {
	active, err := c.Store.ActiveJourneys(ctx)
	if err != nil {
		return nil, err
	}
	run, err := c.runningJourneys(ctx, progress)
	if err != nil {
		return nil, err
	}
	var found []Finding
	activeSet := map[string]store.JourneyRow{}
	var both []store.JourneyRow
	for _, j := range active {
		activeSet[j.ParticipantID] = j
		if _, ok := run[j.ParticipantID]; ok {
			both = append(both, j)
			continue
		}
		// Not listed: ask the history service, since the list lags behind.
		status, err := c.describe(ctx, j.ParticipantID)
		if err != nil {
			return nil, err
		}
		if status == enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
			both = append(both, j)
			continue
		}
		found = append(found, journeyWithoutWorkflow(j, status))
	}

	var unknown []string
	for id, r := range run {
		if _, ok := activeSet[id]; !ok && now.Sub(r.started) >= c.grace() {
			unknown = append(unknown, id)
		}
	}
	slices.Sort(unknown)
	if len(unknown) > 0 {
		rows, err := c.Store.JourneysOf(ctx, unknown)
		if err != nil {
			return nil, err
		}
		known := map[string]store.JourneyRow{}
		for _, r := range rows {
			known[r.ParticipantID] = r
		}
		for _, id := range unknown {
			r, ok := known[id]
			if ok && now.Sub(r.UpdatedAt) < c.grace() {
				continue // it has just exited; the workflow ends a moment after its last write
			}
			status, err := c.describe(ctx, id)
			if err != nil {
				return nil, err
			}
			if status != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
				continue // it ended since the list was made
			}
			// The journey knows its unit, and so whose inbox this belongs in.
			unit := ""
			if st, err := c.query(ctx, id); err == nil {
				unit = st.Unit
			}
			found = append(found, workflowWithoutJourney(id, unit, run[id].started, ok))
		}
	}

	f, err := c.deadlines(ctx, now, both, progress)
	if err != nil {
		return nil, err
	}
	return append(found, f...), nil
}

func (c *Checker) query(ctx context.Context, participantID string) (workflows.JourneyState, error) {
	qctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	var st workflows.JourneyState
	v, err := c.Temporal.QueryWorkflow(qctx, workflows.JourneyWorkflowID(participantID), "", workflows.QueryState)
	if err == nil {
		err = v.Get(&st)
	}
	return st, err
}

// deadlines queries each journey, Concurrency at a time, and compares its open
// deadlines with the read model's.
func (c *Checker) deadlines(ctx context.Context, now time.Time, journeys []store.JourneyRow, progress func(string)) ([]Finding, error) {
	if len(journeys) == 0 {
		return nil, nil
	}
	ids := make([]string, len(journeys))
	for i, j := range journeys {
		ids[i] = j.ParticipantID
	}
	rows, err := c.Store.OpenDeadlines(ctx, ids)
	if err != nil {
		return nil, err
	}
	open := map[string][]store.OpenDeadlineRow{}
	for _, r := range rows {
		open[r.ParticipantID] = append(open[r.ParticipantID], r)
	}
	results := make([]*Finding, len(journeys))
	var done atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(cmp.Or(c.Concurrency, DefaultConcurrency))
	for i, j := range journeys {
		g.Go(func() error {
			st, err := c.query(gctx, j.ParticipantID)
			var nf *serviceerror.NotFound
			switch {
			case ctx.Err() != nil:
				return ctx.Err()
			case errors.As(err, &nf):
				return nil // it ended a moment ago; the next run sees it
			case err != nil:
				results[i] = notAnswering(j, err)
			default:
				results[i] = c.compare(now, j, open[j.ParticipantID], st)
			}
			// After every journey: a few slow queries must not outlast the heartbeat
			// timeout (the SDK sends at most one heartbeat per interval anyway).
			progress(fmt.Sprintf("compared %d of %d journeys", done.Add(1), len(journeys)))
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var found []Finding
	for _, f := range results {
		if f != nil {
			found = append(found, *f)
		}
	}
	return found, nil
}

// compare holds a journey's open deadlines against the read model's, or nil when they
// agree. A journey whose events are on their way to the read model (its outbox holds
// some, and the read model was written within the grace period) is not compared, and
// a next notice time in the read model that passed within the grace period may have
// just been sent.
func (c *Checker) compare(now time.Time, j store.JourneyRow, rm []store.OpenDeadlineRow, st workflows.JourneyState) *Finding {
	if len(st.Outbox) > 0 && now.Sub(j.UpdatedAt) < c.grace() {
		return nil
	}
	inJourney := map[string]*workflows.Deadline{}
	for i := range st.Deadlines {
		inJourney[st.Deadlines[i].ID] = &st.Deadlines[i]
	}
	inReadModel := map[string]store.OpenDeadlineRow{}
	for _, r := range rm {
		inReadModel[r.DeadlineID] = r
	}
	var ids []string
	for id := range inReadModel {
		ids = append(ids, id)
	}
	for id, d := range inJourney {
		if _, ok := inReadModel[id]; !ok && isOpen(d) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var diffs []string
	for _, id := range ids {
		r, inRM := inReadModel[id]
		d := inJourney[id]
		switch {
		case d == nil:
			diffs = append(diffs, id+": open in the read model, unknown to the journey")
		case !isOpen(d):
			diffs = append(diffs, id+": open in the read model, met or closed in the journey")
		case !inRM:
			diffs = append(diffs, id+": open in the journey, not in the read model")
		case r.NextNoticeKnown:
			if msg := c.compareNotice(now, r.NextNoticeAt, d); msg != "" {
				diffs = append(diffs, id+": "+msg)
			}
		}
	}
	if len(diffs) == 0 {
		return nil
	}
	behind := ""
	if len(st.Outbox) > 0 {
		behind = fmt.Sprintf(" The journey has %d event(s) the read model has not received since %s.", len(st.Outbox), local(j.UpdatedAt))
	}
	return &Finding{
		Kind: DeadlineMismatch, ParticipantID: j.ParticipantID, Unit: j.Unit, subject: j.ParticipantID,
		Problem: fmt.Sprintf("The read model and the journey of participant %s disagree on open deadlines: %s.%s",
			j.ParticipantID, strings.Join(diffs, "; "), behind),
		Action: "Lists, the queue, the overdue report and the digests read the read model, so they are wrong for this participant; the journey itself " +
			"sends its notices by its own dates. Run `stegvis rebuild` to rewrite the read model from the journal; if the difference comes back, " +
			"the journey's event writes fail: look for journal_write_failed findings and the worker's log.",
	}
}

func isOpen(d *workflows.Deadline) bool { return d.MetAt == nil && d.ClosedAt == nil }

func (c *Checker) compareNotice(now time.Time, rm *time.Time, d *workflows.Deadline) string {
	wf := d.NextNoticeAt()
	switch {
	case rm == nil && wf == nil:
		return ""
	case rm == nil:
		return fmt.Sprintf("the read model has no notice left, the journey plans the next at %s", local(*wf))
	case wf != nil && (rm.Sub(*wf)).Abs() <= NoticeTolerance:
		return ""
	case skipped(d, *rm):
		return "" // a reminder the journey skipped on purpose (a later notice was due) writes nothing
	case !now.Before(*rm) && now.Sub(*rm) < c.grace():
		return "" // sent a moment ago; its write is on the way
	case wf == nil:
		return fmt.Sprintf("the read model plans the next notice at %s, the journey has none left", local(*rm))
	}
	return fmt.Sprintf("the read model plans the next notice at %s, the journey at %s", local(*rm), local(*wf))
}

// skipped reports whether the journey skipped its notice planned at t.
func skipped(d *workflows.Deadline, t time.Time) bool {
	for _, s := range d.Sent {
		if s.Skipped && s.Index < len(d.Notices) && d.Notices[s.Index].At.Sub(t).Abs() <= NoticeTolerance {
			return true
		}
	}
	return false
}

func journeyWithoutWorkflow(j store.JourneyRow, status enums.WorkflowExecutionStatus) Finding {
	how := "there is no workflow " + workflows.JourneyWorkflowID(j.ParticipantID)
	if status != enums.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED {
		// String is Temporal's short name: Terminated, Failed, TimedOut, ...
		how = fmt.Sprintf("its workflow %s has ended (%s)", workflows.JourneyWorkflowID(j.ParticipantID), strings.ToLower(status.String()))
	}
	return Finding{
		Kind: JourneyWithoutWorkflow, ParticipantID: j.ParticipantID, Unit: j.Unit, subject: j.ParticipantID,
		Problem: fmt.Sprintf("The read model shows participant %s in a journey (phase %s, unit %s), but Temporal runs no journey for them: %s. "+
			"Nobody is reminded or escalated about their deadlines.", j.ParticipantID, j.Phase, j.Unit, how),
		Action: fmt.Sprintf("Open the workflow %s in the Temporal UI to see how it ended. If it failed or was ended by mistake, reset it to its last "+
			"good workflow task (temporal workflow reset) so that the journey runs again; if it was ended on purpose, ask an administrator to "+
			"record the exit, since the read model still lists the participant.", workflows.JourneyWorkflowID(j.ParticipantID)),
	}
}

func workflowWithoutJourney(id, unit string, started time.Time, exited bool) Finding {
	rm := "has no row for them"
	if exited {
		rm = "shows them as exited"
	}
	return Finding{
		Kind: WorkflowWithoutJourney, ParticipantID: id, Unit: unit, subject: id,
		Problem: fmt.Sprintf("Temporal runs the journey of participant %s (workflow %s, running since %s), but the read model %s: "+
			"lists, the queue, reports and digests leave the participant out.", id, workflows.JourneyWorkflowID(id), local(started), rm),
		Action: "The journey's writes to the read model fail or were lost: look for journal_write_failed findings and the worker's log. " +
			"Once writes work, `stegvis rebuild` restores the read model from the journal, and the journey's next event brings it up to date.",
	}
}

func notAnswering(j store.JourneyRow, err error) *Finding {
	why := "it failed"
	if errors.Is(err, context.DeadlineExceeded) {
		why = "it did not answer within " + queryTimeout.String()
	}
	return &Finding{
		Kind: JourneyNotAnswering, ParticipantID: j.ParticipantID, Unit: j.Unit, subject: j.ParticipantID,
		Problem: fmt.Sprintf("The journey of participant %s did not answer its state query (%s), so its deadlines could not be compared with the read model, "+
			"and guides cannot open it either.", j.ParticipantID, why),
		Action: fmt.Sprintf("Open the workflow %s in the Temporal UI: a failing workflow task (a bug, or no worker polling %s) stops its notices too. "+
			"Fix the cause; the next check passes once the journey answers.", workflows.JourneyWorkflowID(j.ParticipantID), workflows.TaskQueue),
	}
}

// orgChart finds active journeys whose unit, guide or case worker the org chart lacks.
func (c *Checker) orgChart(ctx context.Context, _ time.Time, _ func(string)) ([]Finding, error) {
	gaps, err := c.Store.OrgChartGaps(ctx)
	if err != nil {
		return nil, err
	}
	var found []Finding
	for _, g := range gaps {
		p := g.ParticipantID
		base := Finding{ParticipantID: p, Unit: g.Unit, subject: p}
		if g.UnitState != "" {
			f := base
			f.Kind = UnitNotInOrgChart
			if g.UnitState == "missing" {
				f.Problem = fmt.Sprintf("Participant %s's journey is in unit %s, which the org chart does not have.", p, g.Unit)
				f.Action = fmt.Sprintf("Add unit %s to the org chart (PUT /v1/units/%s) or transfer the participant to an existing unit (POST /v1/participants/%s/transfer); "+
					"until then escalations find no team lead or unit manager and reach nobody.", g.Unit, g.Unit, p)
			} else {
				f.Problem = fmt.Sprintf("Participant %s's journey is in unit %s, which is deactivated in the org chart.", p, g.Unit)
				f.Action = fmt.Sprintf("Transfer the participant to an active unit (POST /v1/participants/%s/transfer), or reactivate unit %s (PUT /v1/units/%s).", p, g.Unit, g.Unit)
			}
			found = append(found, f)
		}
		if g.GuideState != "" {
			f := base
			f.Kind = GuideNotInOrgChart
			f.Problem = fmt.Sprintf("Participant %s's guide %s %s.", p, g.GuideID, staffState(g.GuideState, "guide"))
			f.Action = fmt.Sprintf("Assign an active guide of unit %s (POST /v1/participants/%s/guide): reminders go to %s's inbox, and escalations "+
				"look for the team lead %s reports to.", g.Unit, p, g.GuideID, g.GuideID)
			found = append(found, f)
		}
		if g.CaseWorkerState != "" {
			f := base
			f.Kind = CaseWorkerNotInOrgChart
			f.Problem = fmt.Sprintf("Participant %s's case worker %s %s.", p, g.CaseWorkerID, staffState(g.CaseWorkerState, "case worker"))
			f.Action = fmt.Sprintf("Add or reactivate %s as a case worker in the org chart (PUT /v1/staff/%s), or, if they have left, have the case system "+
				"name the participant's new case worker: notices of missed meetings go to the unit's case worker meanwhile, and %s cannot open the journey.",
				g.CaseWorkerID, g.CaseWorkerID, g.CaseWorkerID)
			found = append(found, f)
		}
	}
	return found, nil
}

func staffState(state, role string) string {
	switch {
	case state == "missing":
		return "is not in the org chart"
	case state == "inactive":
		return "is deactivated in the org chart"
	}
	return fmt.Sprintf("is a %s in the org chart, not a %s", strings.ReplaceAll(strings.TrimPrefix(state, "role:"), "_", " "), role)
}

// notifications finds notices that reached nobody and deliveries that failed for good.
func (c *Checker) notifications(ctx context.Context, _ time.Time, _ func(string)) ([]Finding, error) {
	un, err := c.Store.UnaddressedNotifications(ctx)
	if err != nil {
		return nil, err
	}
	var found []Finding
	for _, u := range un {
		roles := strings.ReplaceAll(strings.Join(u.Roles, " or "), "_", " ")
		found = append(found, Finding{
			Kind: NotificationWithoutRecipient, ParticipantID: u.ParticipantID, Unit: u.Unit, subject: u.ParticipantID,
			Problem: fmt.Sprintf("%d notice(s) of participant %s's journey (deadlines %s, the first on %s) reached nobody: the org chart named no active %s "+
				"of unit %s when they were written.", u.Count, u.ParticipantID, strings.Join(u.Deadlines, ", "), local(u.First), roles, u.Unit),
			Action: fmt.Sprintf("Add an active %s to unit %s in the org chart (PUT /v1/staff/{id}) so that the next notices reach someone, and follow up "+
				"these deadlines with the participant's guide yourself: missed notices are not sent again. Then mark them handled "+
				"(an admin: POST /v1/admin/deliveries/{number}/handled for notification %s).", roles, u.Unit, joinNumbers(u.Numbers)),
		})
	}
	failed, err := c.Store.FailedDeliveries(ctx)
	if err != nil {
		return nil, err
	}
	for _, f := range failed {
		to := f.RecipientID
		if to == "" {
			to = "its recipient"
		}
		reason := ""
		if f.Reason != "" {
			reason = " (" + f.Reason + ")"
		}
		found = append(found, Finding{
			Kind: DeliveryFailed, ParticipantID: f.ParticipantID, Unit: f.Unit, subject: fmt.Sprintf("n%d", f.Number),
			Problem: fmt.Sprintf("Notification %d, the %s about participant %s's deadline %s to %s, could not be delivered%s on %s, and nobody has handled it.",
				f.Number, f.Kind, f.ParticipantID, f.DeadlineID, to, reason, local(f.FailedAt)),
			Action: fmt.Sprintf("Fix the address or the webhook the reason names (%s's email: PUT /v1/staff/%s), tell %s about the notice, "+
				"then mark the failure handled (an admin: POST /v1/admin/deliveries/%d/handled) so that it leaves this list.", to, to, to, f.Number),
		})
	}
	return found, nil
}

// journal finds journeys whose events could not be written to the read model.
func (c *Checker) journal(ctx context.Context, _ time.Time, _ func(string)) ([]Finding, error) {
	failed, err := c.Store.UnresolvedJournalFailures(ctx)
	if err != nil {
		return nil, err
	}
	var found []Finding
	for _, f := range failed {
		events := ""
		if f.FirstSeq != nil && f.LastSeq != nil {
			events = fmt.Sprintf(", events %d–%d", *f.FirstSeq, *f.LastSeq)
		}
		found = append(found, Finding{
			Kind: JournalWriteFailed, ParticipantID: f.ParticipantID, Unit: f.Unit, subject: f.ParticipantID,
			Problem: fmt.Sprintf("%d write(s) of participant %s's journey events to the read model failed since %s and are not resolved%s; the latest reason: %s. "+
				"The journey runs on and sends its notices, but lists, reports and digests do not show what happened.",
				f.Count, f.ParticipantID, local(f.First), events, f.Reason),
			Action: fmt.Sprintf("Fix the cause the reason names (and the worker's log shows); the journey's next writes bring the read model up to date. "+
				"Then resolve the failures (an admin: POST /v1/admin/journal-failures/%s/resolved) so that they leave this list.", f.ParticipantID),
		})
	}
	return found, nil
}

// joinNumbers lists notification numbers for a person to act on: "12, 13 and 14".
func joinNumbers(ns []int64) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = strconv.FormatInt(n, 10)
	}
	if len(parts) < 2 {
		return strings.Join(parts, "")
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}
