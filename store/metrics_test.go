package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/stegvis/stegvis/activities"
	"github.com/stegvis/stegvis/metrics"
	"github.com/stegvis/stegvis/store/storetest"
)

// The fixture, written as the journeys write it (RecordJourneyEvents), at 2026-03-10 12:00 UTC:
//
//	p-1  jobbgaranti  unit-a  planning  plan open, due 03-09 23:00 (overdue), level 1
//	     (re-entered: its earlier, exited journey is no longer in the read model)
//	p-2  jobbgaranti  unit-a  planning  plan open, due 03-20 (not yet), level 0
//	p-3  jobbgaranti  unit-a  active    plan met (not open); first_follow_up open, due 04-01, level 0
//	p-4  steg         unit-b  active    step-1 closed (not open)
//
// so by hand: journeys jobbgaranti/unit-a/planning 2, jobbgaranti/unit-a/active 1,
// steg/unit-b/active 1; open plan level 0: 1, plan level 1: 1, first_follow_up level 0: 1;
// overdue plan level 1: 1, the other two 0.
const readModelMetricsWant = `
# HELP stegvis_journeys Participants' latest journeys in the read model, by programme, unit and phase (exited included until retention deletes them).
# TYPE stegvis_journeys gauge
stegvis_journeys{phase="active",program="jobbgaranti",unit="unit-a"} 1
stegvis_journeys{phase="planning",program="jobbgaranti",unit="unit-a"} 2
stegvis_journeys{phase="active",program="steg",unit="unit-b"} 1
# HELP stegvis_deadlines_open Open deadlines in the read model, by deadline kind and escalation level (0: no escalation yet).
# TYPE stegvis_deadlines_open gauge
stegvis_deadlines_open{kind="first_follow_up",level="0"} 1
stegvis_deadlines_open{kind="plan",level="0"} 1
stegvis_deadlines_open{kind="plan",level="1"} 1
# HELP stegvis_deadlines_overdue Open deadlines whose due time has passed, by deadline kind and escalation level; 0 where a kind and level has open deadlines but none overdue.
# TYPE stegvis_deadlines_overdue gauge
stegvis_deadlines_overdue{kind="first_follow_up",level="0"} 0
stegvis_deadlines_overdue{kind="plan",level="0"} 0
stegvis_deadlines_overdue{kind="plan",level="1"} 1
`

const readModelErrors = `
# HELP stegvis_read_model_metrics_errors_total Queries of the read model for stegvis_journeys and stegvis_deadlines_* that failed; the gauges then show the last counts read.
# TYPE stegvis_read_model_metrics_errors_total counter
stegvis_read_model_metrics_errors_total `

func TestReadModelMetricsCountLatestJourneysAndOpenDeadlinesAndSurviveADatabaseThatIsGone(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	day := func(d int, hour int) time.Time { return time.Date(2026, 3, d, hour, 0, 0, 0, time.UTC) }
	met := day(5, 9)
	write := func(participant, journey, program, unit, phase string, referred time.Time, ds ...activities.DeadlineSnapshot) {
		t.Helper()
		in := activities.JourneyEvents{ParticipantID: participant, JourneyID: journey,
			Snapshot: activities.JourneySnapshot{Unit: unit, ProgramID: program, ProgramVersion: 1, Phase: phase, ReferredAt: referred, Deadlines: ds},
			Events:   []activities.JourneyEvent{{Seq: 1, At: referred, Kind: "referred"}}}
		if err := st.RecordJourneyEvents(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	dl := func(id, kind string, dueAt time.Time, status string, level int) activities.DeadlineSnapshot {
		d := activities.DeadlineSnapshot{ID: id, Kind: kind, DueDate: dueAt.Format(time.DateOnly), DueAt: dueAt, Status: status, EscalationLevel: level}
		if status == "met" {
			d.MetAt = &met
		}
		return d
	}
	write("p-1", "run-old", "jobbgaranti", "unit-a", "exited", day(1, 8), dl("plan", "plan", day(2, 23), "closed", 2))
	write("p-1", "run-1", "jobbgaranti", "unit-a", "planning", day(3, 8), dl("plan", "plan", day(9, 23), "open", 1))
	write("p-2", "run-2", "jobbgaranti", "unit-a", "planning", day(4, 8), dl("plan", "plan", day(20, 23), "open", 0))
	write("p-3", "run-3", "jobbgaranti", "unit-a", "active", day(2, 8),
		dl("plan", "plan", day(6, 23), "met", 0), dl("first_follow_up", "first_follow_up", time.Date(2026, 4, 1, 22, 0, 0, 0, time.UTC), "open", 0))
	write("p-4", "run-4", "steg", "unit-b", "active", day(2, 8), dl("step-1", "step", day(8, 23), "closed", 0))

	clock := now
	c := metrics.NewReadModelCollector(st, metrics.ReadModelOptions{Refresh: 30 * time.Second, Now: func() time.Time { return clock }})
	if err := testutil.CollectAndCompare(c, strings.NewReader(readModelMetricsWant+readModelErrors+"0\n")); err != nil {
		t.Fatal(err)
	}

	// PostgreSQL gone (the pool closed): once Refresh has passed, the query fails, the
	// scrape still succeeds with the last counts, and the failure is counted.
	st.Close()
	clock = clock.Add(31 * time.Second)
	if err := testutil.CollectAndCompare(c, strings.NewReader(readModelMetricsWant+readModelErrors+"1\n")); err != nil {
		t.Fatal(err)
	}
	// Within Refresh of that failure the database is not asked again.
	clock = clock.Add(10 * time.Second)
	if err := testutil.CollectAndCompare(c, strings.NewReader(readModelMetricsWant+readModelErrors+"1\n")); err != nil {
		t.Fatal(err)
	}
}
