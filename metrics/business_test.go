package metrics_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/stegvis/stegvis/metrics"
)

// fakeReadModel answers with what the test sets; block makes it wait for the context.
type fakeReadModel struct {
	counts metrics.ReadModelCounts
	err    error
	block  bool
	asked  int
}

func (f *fakeReadModel) ReadModelCounts(ctx context.Context, _ time.Time) (metrics.ReadModelCounts, error) {
	f.asked++
	if f.block {
		<-ctx.Done()
		return metrics.ReadModelCounts{}, ctx.Err()
	}
	return f.counts, f.err
}

const errorsHelp = `# HELP stegvis_read_model_metrics_errors_total Queries of the read model for stegvis_journeys and stegvis_deadlines_* that failed; the gauges then show the last counts read.
# TYPE stegvis_read_model_metrics_errors_total counter
`

const journeysHelp = `# HELP stegvis_journeys Participants' latest journeys in the read model, by programme, unit and phase (exited included until retention deletes them).
# TYPE stegvis_journeys gauge
`

func TestReadModelCollectorAsksAtMostOncePerRefresh(t *testing.T) {
	src := &fakeReadModel{}
	clock := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	c := metrics.NewReadModelCollector(src, metrics.ReadModelOptions{Refresh: 30 * time.Second, Now: func() time.Time { return clock }})
	for _, step := range []struct {
		advance time.Duration
		n       int // the journeys the source says now
		want    string
		asked   int
	}{
		{0, 3, "3", 1},
		{29 * time.Second, 5, "3", 1}, // cached: the source is not asked
		{time.Second, 5, "5", 2},      // 30 s after the first query
	} {
		clock = clock.Add(step.advance)
		src.counts = metrics.ReadModelCounts{Journeys: []metrics.JourneyCount{{Program: "steg", Unit: "u", Phase: "active", N: step.n}}}
		want := journeysHelp + `stegvis_journeys{phase="active",program="steg",unit="u"} ` + step.want + "\n"
		if err := testutil.CollectAndCompare(c, strings.NewReader(want), "stegvis_journeys"); err != nil {
			t.Errorf("after %v: %v", step.advance, err)
		}
		if src.asked != step.asked {
			t.Errorf("after %v: the source was asked %d times, want %d", step.advance, src.asked, step.asked)
		}
	}
}

func TestReadModelCollectorServesNoGaugesBeforeTheFirstAnswerAndBoundsEachQuery(t *testing.T) {
	src := &fakeReadModel{block: true}
	c := metrics.NewReadModelCollector(src, metrics.ReadModelOptions{Timeout: 50 * time.Millisecond})
	start := time.Now()
	// No zeros that would read as an empty programme: only the error counter.
	if err := testutil.CollectAndCompare(c, strings.NewReader(errorsHelp+"stegvis_read_model_metrics_errors_total 1\n")); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("a hanging query held the scrape for %v; the timeout is 50ms", d)
	}
}

func TestReadModelCollectorKeepsTheLastCountsWhenAQueryFails(t *testing.T) {
	src := &fakeReadModel{counts: metrics.ReadModelCounts{Deadlines: []metrics.DeadlineCount{{Kind: "plan", Level: 2, Open: 4, Overdue: 1}}}}
	clock := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	c := metrics.NewReadModelCollector(src, metrics.ReadModelOptions{Refresh: time.Second, Now: func() time.Time { return clock }})
	want := `# HELP stegvis_deadlines_overdue Open deadlines whose due time has passed, by deadline kind and escalation level; 0 where a kind and level has open deadlines but none overdue.
# TYPE stegvis_deadlines_overdue gauge
stegvis_deadlines_overdue{kind="plan",level="2"} 1
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want+errorsHelp+"stegvis_read_model_metrics_errors_total 0\n"),
		"stegvis_deadlines_overdue", "stegvis_read_model_metrics_errors_total"); err != nil {
		t.Fatal(err)
	}
	src.err = errors.New("connection refused")
	src.counts = metrics.ReadModelCounts{}
	clock = clock.Add(2 * time.Second)
	if err := testutil.CollectAndCompare(c, strings.NewReader(want+errorsHelp+"stegvis_read_model_metrics_errors_total 1\n"),
		"stegvis_deadlines_overdue", "stegvis_read_model_metrics_errors_total"); err != nil {
		t.Fatal(err)
	}
}
