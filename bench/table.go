package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"
)

// Result is what one run writes to bench/results/<date>.json.
type Result struct {
	Date    string         `json:"date"`
	Command string         `json:"command"`
	Machine Machine        `json:"machine"`
	Params  map[string]int `json:"params"`
	// TemporalDB is the embedded server's persistence: sqlite or postgres.
	TemporalDB string  `json:"temporalDb"`
	Rows       []Row   `json:"rows"`
	Seconds    float64 `json:"seconds"` // the whole run
	// Complete is false in the file written after each section, until the run ends.
	Complete bool `json:"complete"`
}

// Machine is where it ran.
type Machine struct {
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpuModel,omitempty"`
	MemoryMiB int64  `json:"memoryMiB"`
	GoVersion string `json:"goVersion"`
	OS        string `json:"os"`
}

// Row is one figure with its baseline from the same run, if it has one.
type Row struct {
	What     string   `json:"what"`
	Measure  string   `json:"measure"`
	Unit     string   `json:"unit"` // "/s" or "ms"
	Value    float64  `json:"value"`
	Baseline *float64 `json:"baseline,omitempty"`
	Ratio    *float64 `json:"ratio,omitempty"` // value / baseline
	Target   string   `json:"target,omitempty"`
	Met      *bool    `json:"met,omitempty"`
	N        int      `json:"n"` // samples
}

func (r Row) valueText() string { return num(r.Value, r.Unit) }

func num(v float64, unit string) string {
	switch {
	case unit == "ms" && v < 10:
		return fmt.Sprintf("%.2f ms", v)
	case unit == "ms":
		return fmt.Sprintf("%.1f ms", v)
	default:
		return fmt.Sprintf("%.1f%s", v, unit)
	}
}

// row builds a Row; a target is "≥ x" (at least) or "< x" (under) in the row's unit,
// or "≥ x×" on the ratio.
func row(what, measure, unit string, v float64, base *float64, n int, target string) Row {
	r := Row{What: what, Measure: measure, Unit: unit, Value: v, Baseline: base, N: n, Target: target}
	if base != nil && *base > 0 {
		q := v / *base
		r.Ratio = &q
	}
	if target != "" {
		var x float64
		var met bool
		t := strings.TrimSpace(target)
		switch {
		case strings.HasSuffix(t, "×") && r.Ratio != nil:
			fmt.Sscanf(strings.TrimPrefix(t, "≥ "), "%g", &x)
			met = *r.Ratio >= x
		case strings.HasPrefix(t, "≥ "):
			fmt.Sscanf(strings.TrimPrefix(t, "≥ "), "%g", &x)
			met = v >= x
		case strings.HasPrefix(t, "< "):
			fmt.Sscanf(strings.TrimPrefix(t, "< "), "%g", &x)
			met = v < x
		default:
			return r
		}
		r.Met = &met
	}
	return r
}

func ptr(v float64) *float64 { return &v }

func printTable(w io.Writer, res Result) {
	m := res.Machine
	fmt.Fprintf(w, "\nstegvis bench, %s\nmachine: %d CPUs (%s), %d MiB memory, %s %s\ncommand: %s\nTemporal persistence: %s\n\n",
		res.Date, m.CPUs, m.CPUModel, m.MemoryMiB, m.GoVersion, m.OS, res.Command, res.TemporalDB)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "what\tmeasure\tvalue\tbaseline\tratio\ttarget\tmet?")
	for _, r := range res.Rows {
		base, ratio, met := "", "", ""
		if r.Baseline != nil {
			base = num(*r.Baseline, r.Unit)
		}
		if r.Ratio != nil {
			ratio = fmt.Sprintf("%.2f×", *r.Ratio)
		}
		if r.Met != nil {
			met = "no"
			if *r.Met {
				met = "yes"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.What, r.Measure, r.valueText(), base, ratio, r.Target, met)
	}
	tw.Flush()
	fmt.Fprintf(w, "\n(%.0f s in all)\n", res.Seconds)
}

// pool runs f(0..n-1) with conc in flight and returns the latency of each call that
// succeeded, the wall time of the whole and how many failed. More than maxErr failures
// stop it with the first error.
func pool(n, conc, maxErr int, f func(i int) error) (lat []time.Duration, wall time.Duration, failed int, err error) {
	all := make([]time.Duration, n)
	ok := make([]bool, n)
	var next, nfail atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for nfail.Load() <= int64(maxErr) {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				t := time.Now()
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					nfail.Add(1)
					continue
				}
				all[i], ok[i] = time.Since(t), true
			}
		}()
	}
	wg.Wait()
	wall = time.Since(start)
	for i, d := range all {
		if ok[i] {
			lat = append(lat, d)
		}
	}
	failed = int(nfail.Load())
	if failed > maxErr {
		return lat, wall, failed, fmt.Errorf("%d of %d failed, the first: %w", failed, n, first)
	}
	if failed > 0 {
		fmt.Fprintf(os.Stderr, "  %d of %d failed, the first: %v\n", failed, n, first)
	}
	return lat, wall, failed, nil
}

// pct is the p-th percentile (0..100) in milliseconds, nearest rank.
func pct(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.5) - 1
	i = max(0, min(i, len(s)-1))
	return float64(s[i].Microseconds()) / 1000
}
