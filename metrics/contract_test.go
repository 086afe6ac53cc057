package metrics_test

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"go.yaml.in/yaml/v3"

	"github.com/stegvis/stegvis/metrics"
)

// metricName finds the metric names in a PromQL expression: stegvis's own and the
// Temporal SDK's (a label value or a job regex such as ".*stegvis.*" has no underscore
// after the prefix).
var metricName = regexp.MustCompile(`\b(?:stegvis|temporal)_[a-z0-9_]+\b`)

// checkNames reports every metric name in expr that is not in the contract.
func checkNames(t *testing.T, where, expr string) int {
	t.Helper()
	names := metricName.FindAllString(expr, -1)
	for _, n := range names {
		if !slices.Contains(metrics.BusinessMetricNames, n) && !slices.Contains(metrics.TemporalSDKMetricNames, n) {
			t.Errorf("%s uses %s, which is neither in metrics.BusinessMetricNames nor in metrics.TemporalSDKMetricNames: "+
				"use a defined metric, or define it and add it to the list (metrics/names.go)", where, n)
		}
	}
	return len(names)
}

func TestDashboardAndRulesUseOnlyContractMetrics(t *testing.T) {
	t.Run("rules", func(t *testing.T) {
		b, err := os.ReadFile("../deploy/prometheus/stegvis-rules.yaml")
		if err != nil {
			t.Fatal(err)
		}
		var f struct {
			Groups []struct {
				Rules []struct {
					Alert  string            `yaml:"alert"`
					Expr   string            `yaml:"expr"`
					Labels map[string]string `yaml:"labels"`
					Annot  map[string]string `yaml:"annotations"`
				} `yaml:"rules"`
			} `yaml:"groups"`
		}
		if err := yaml.Unmarshal(b, &f); err != nil {
			t.Fatal(err)
		}
		readme, err := os.ReadFile("../README.md")
		if err != nil {
			t.Fatal(err)
		}
		_, failures, _ := strings.Cut(string(readme), "\n## When something fails\n")
		failures, _, _ = strings.Cut(failures, "\n## ")
		rules, names := 0, 0
		for _, g := range f.Groups {
			for _, r := range g.Rules {
				rules++
				names += checkNames(t, "alert "+r.Alert, r.Expr)
				// The runbook points at an entry of README's "When something fails".
				entry, ok := strings.CutPrefix(r.Annot["runbook"], "README.md, When something fails: ")
				if !ok || !strings.Contains(failures, "\n### "+entry+"\n") {
					t.Errorf("alert %s: runbook %q names no entry (### heading) of README's \"When something fails\"", r.Alert, r.Annot["runbook"])
				}
				if s := r.Labels["severity"]; s != "warning" && s != "critical" {
					t.Errorf("alert %s: severity %q, want warning or critical", r.Alert, s)
				}
				for _, a := range []string{"summary", "description", "runbook"} {
					if strings.TrimSpace(r.Annot[a]) == "" {
						t.Errorf("alert %s has no %s annotation: say what it means and what to do", r.Alert, a)
					}
				}
			}
		}
		if rules == 0 || names < rules {
			t.Fatalf("%d rules, %d metric names found: the file was not read as rules", rules, names)
		}
	})
	t.Run("dashboard", func(t *testing.T) {
		b, err := os.ReadFile("../deploy/grafana/stegvis.json")
		if err != nil {
			t.Fatal(err)
		}
		type target struct {
			Expr       string `json:"expr"`
			Datasource struct {
				UID string `json:"uid"`
			} `json:"datasource"`
		}
		var d struct {
			Panels []struct {
				Type    string   `json:"type"`
				Title   string   `json:"title"`
				Targets []target `json:"targets"`
			} `json:"panels"`
			Templating struct {
				List []struct {
					Name       string `json:"name"`
					Type       string `json:"type"`
					Definition string `json:"definition"`
				} `json:"list"`
			} `json:"templating"`
		}
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("deploy/grafana/stegvis.json is not valid JSON: %v", err)
		}
		hasDatasource := false
		for _, v := range d.Templating.List {
			if v.Name == "datasource" && v.Type == "datasource" {
				hasDatasource = true
			}
			checkNames(t, "dashboard variable "+v.Name, v.Definition)
		}
		if !hasDatasource {
			t.Error("the dashboard has no datasource variable: it must not name one Prometheus")
		}
		panels := 0
		for _, p := range d.Panels {
			if p.Type == "row" {
				continue
			}
			panels++
			if len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, tg := range p.Targets {
				if tg.Datasource.UID != "${datasource}" {
					t.Errorf("panel %q queries datasource %q, want ${datasource}", p.Title, tg.Datasource.UID)
				}
				if checkNames(t, "panel "+p.Title, tg.Expr) == 0 {
					t.Errorf("panel %q: %q names no metric", p.Title, tg.Expr)
				}
			}
		}
		if panels == 0 {
			t.Fatal("no panels read from the dashboard")
		}
	})
}

// Every metric this package defines is in the contract, under the names that /metrics
// serves (a histogram's _bucket, _sum and _count), and every name of the contract is
// served by one of them: the rules and the dashboard read only what exists.
func TestEveryRegisteredBusinessMetricIsInTheContract(t *testing.T) {
	reg := metrics.New()
	at := time.Date(2026, 12, 4, 6, 30, 0, 0, time.UTC)
	reg.RegisterReadModel(&fakeReadModel{counts: metrics.ReadModelCounts{
		Journeys:  []metrics.JourneyCount{{Program: "steg", Unit: "u", Phase: "active", N: 1}},
		Deadlines: []metrics.DeadlineCount{{Kind: "plan", Level: 0, Open: 1}},
		SelfCheck: metrics.SelfCheckCounts{Findings: map[string]int{"delivery_failed": 1}, LastRun: &at, LastSuccess: &at},
	}}, metrics.ReadModelOptions{Timeout: time.Second, SelfCheckKinds: []string{"delivery_failed", "journal_write_failed"}})
	reg.NewHTTP().Duration.WithLabelValues("GET", "/v1/participants", "200").Observe(0.1)
	reg.NewInput()
	reg.NewSideEffects().NotificationWritten("escalation", time.Second)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var served []string
	for _, f := range families {
		name := f.GetName()
		if !strings.HasPrefix(name, "stegvis_") {
			continue
		}
		want := []string{name}
		if f.GetType() == dto.MetricType_HISTOGRAM {
			want = []string{name + "_bucket", name + "_sum", name + "_count"}
		}
		for _, n := range want {
			served = append(served, n)
			if !slices.Contains(metrics.BusinessMetricNames, n) {
				t.Errorf("%s is served but not in metrics.BusinessMetricNames", n)
			}
		}
	}
	for _, n := range metrics.BusinessMetricNames {
		if !slices.Contains(served, n) {
			t.Errorf("%s is in metrics.BusinessMetricNames but no collector of package metrics serves it", n)
		}
	}
}

// StegvisNoticesLate reads the le="900" bucket of the histogram the worker serves: it
// must have one (it once had buckets of its own, apart from NoticeLatenessBuckets).
func TestNoticeLatenessBucketsKeepTheAlertsFifteenMinutes(t *testing.T) {
	reg := metrics.New()
	reg.NewSideEffects().NotificationWritten("escalation", 20*time.Minute)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "stegvis_notice_lateness_seconds" {
			continue
		}
		h := f.GetMetric()[0].GetHistogram()
		for _, b := range h.GetBucket() {
			if b.GetUpperBound() == 900 {
				if b.GetCumulativeCount() != 0 || h.GetSampleCount() != 1 {
					t.Fatalf("a notice 20 minutes late: le=900 counts %d of %d, want 0 of 1", b.GetCumulativeCount(), h.GetSampleCount())
				}
				return
			}
		}
		t.Fatalf("stegvis_notice_lateness_seconds has no le=\"900\" bucket; StegvisNoticesLate reads it (buckets %v)", h.GetBucket())
	}
	t.Fatal("stegvis_notice_lateness_seconds is not served")
}

// The rules read the SDK's schedule-to-start latencies as summaries named with _seconds
// (quantile="0.99") and its counters with _total: that is what TemporalHandler makes of
// the SDK's timers and counters (the names are the SDK's, internal/common/metrics).
func TestTemporalSDKMetricsAreNamedAsTheRulesReadThem(t *testing.T) {
	reg := metrics.New()
	h := reg.TemporalHandler()
	defer reg.Close()
	h.WithTags(map[string]string{"task_queue": "stegvis"}).Timer("temporal_activity_schedule_to_start_latency").Record(2 * time.Second)
	h.Counter("temporal_request_failure").Inc(1)
	h.WithTags(map[string]string{"worker_type": "WorkflowWorker"}).Gauge("temporal_worker_task_slots_available").Update(1000)
	want := map[string]dto.MetricType{
		"temporal_activity_schedule_to_start_latency_seconds": dto.MetricType_SUMMARY,
		"temporal_request_failure_total":                      dto.MetricType_COUNTER,
		"temporal_worker_task_slots_available":                dto.MetricType_GAUGE,
	}
	deadline := time.Now().Add(5 * time.Second) // the scope reports every second
	for {
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]*dto.MetricFamily{}
		for _, f := range families {
			got[f.GetName()] = f
		}
		missing := 0
		for name := range want {
			if got[name] == nil {
				missing++
			}
		}
		if missing == 0 {
			for name, typ := range want {
				if got[name].GetType() != typ {
					t.Errorf("%s is a %v, the rules read a %v", name, got[name].GetType(), typ)
				}
				if !slices.Contains(metrics.TemporalSDKMetricNames, name) {
					t.Errorf("%s is not in metrics.TemporalSDKMetricNames", name)
				}
			}
			s := got["temporal_activity_schedule_to_start_latency_seconds"].GetMetric()[0].GetSummary()
			has99 := false
			for _, q := range s.GetQuantile() {
				has99 = has99 || q.GetQuantile() == 0.99
			}
			if !has99 {
				t.Errorf("the latency summary has no 0.99 quantile: %v", s)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s the SDK's metrics are not served as %v; got %d families", want, len(families))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
