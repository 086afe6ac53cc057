// Command bench measures stegvis against raw Temporal in one run: it starts the
// embedded Temporal dev server (as `stegvis dev` does), a fresh PostgreSQL database, a
// worker and the API on loopback, then times each row of issue 7 next to its
// baseline, prints one table and writes the figures as JSON.
//
//	go run ./bench                  # full size (make bench)
//	go run ./bench -small -out f    # the small version make test runs
//
// Timings never fail a run; only errors do.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rs/zerolog"
	"go.temporal.io/sdk/client"

	"github.com/stegvis/stegvis/auth"
	"github.com/stegvis/stegvis/devserver"
	"github.com/stegvis/stegvis/logging"
	"github.com/stegvis/stegvis/metrics"
	"github.com/stegvis/stegvis/protect"
	"github.com/stegvis/stegvis/store"
	"github.com/stegvis/stegvis/workflows"
)

type config struct {
	journeys     int
	meetings     int
	importRows   int
	participants int
	eventsPer    int
	queries      int
	concurrency  int
	open         int
	temporalDB   string
	pollers      int
	queryBudget  time.Duration
	small        bool
	out          string
	sections     map[string]bool // the rows to run (-sections)
}

// allSections are the groups of rows, in the order they run.
var allSections = []string{"starts", "meetings", "import", "storm", "reports"}

func main() {
	var c config
	flag.IntVar(&c.journeys, "journeys", 0, "journeys started through the API, and as many through the raw SDK (default 2000, -small 100)")
	flag.IntVar(&c.meetings, "meetings", 0, "meetings recorded through the API, and as many raw Updates (default 500, -small 50)")
	flag.IntVar(&c.importRows, "import", 0, "rows of the import file (default 10000, -small 100)")
	flag.IntVar(&c.participants, "participants", 0, "participants seeded into the read model (default 100000, -small 1000)")
	flag.IntVar(&c.eventsPer, "events", 20, "events per seeded participant")
	flag.IntVar(&c.queries, "queries", 0, "times each report and manager query is run (default 30, -small 5)")
	flag.DurationVar(&c.queryBudget, "query-budget", 30*time.Second, "stop repeating one report after this long (at least 3 runs each)")
	flag.IntVar(&c.concurrency, "concurrency", 16, "requests in flight")
	flag.IntVar(&c.open, "open", 0, "journeys started at one instant for the open-journeys and reminder-storm rows (default 10000, -small 100)")
	flag.IntVar(&c.pollers, "worker-pollers", -1, "the worker's WORKER_POLLERS (-1: the binary's default)")
	flag.StringVar(&c.temporalDB, "temporal-db", "sqlite", "the embedded Temporal server's persistence: sqlite or postgres (as stegvis dev --temporal-db)")
	flag.BoolVar(&c.small, "small", false, "the small version (make test): every size small")
	flag.StringVar(&c.out, "out", "", "the JSON file (default bench/results/<date>.json)")
	sections := flag.String("sections", strings.Join(allSections, ","), "the rows to run, comma-separated, of "+strings.Join(allSections, ",")+" (meetings needs starts)")
	flag.Parse()
	def := func(v *int, full, small int) {
		if *v == 0 {
			*v = full
			if c.small {
				*v = small
			}
		}
	}
	c.sections = map[string]bool{}
	for _, name := range strings.Split(*sections, ",") {
		name = strings.TrimSpace(name)
		if !slices.Contains(allSections, name) {
			fmt.Fprintf(os.Stderr, "bench: -sections: %q is not one of %s\n", name, strings.Join(allSections, ","))
			os.Exit(2)
		}
		c.sections[name] = true
	}
	if c.sections["meetings"] && !c.sections["starts"] {
		fmt.Fprintln(os.Stderr, "bench: -sections: meetings are recorded on the journeys the starts row started; add starts")
		os.Exit(2)
	}
	def(&c.journeys, 2000, 100)
	def(&c.meetings, 500, 50)
	def(&c.importRows, 10000, 100)
	def(&c.participants, 100000, 1000)
	def(&c.queries, 30, 5)
	def(&c.open, 10000, 100)
	if c.meetings > c.journeys {
		c.meetings = c.journeys
	}
	if c.out == "" {
		c.out = filepath.Join("bench", "results", time.Now().UTC().Format(time.DateOnly)+".json")
	}
	// Ctrl+C stops it and still drops the database.
	sctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(sctx, 2*time.Hour)
	defer cancel()
	if err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// env is everything one run starts.
type env struct {
	tc      client.Client
	st      *store.Store
	dbURL   string
	base    string // the API's URL
	http    *http.Client
	system  string // tokens
	guide   string
	manager string
	runID   string // tells this run's participants apart
	// retry503 retries a 503 (small run only; at full size it is counted).
	retry503 bool
	// The stegvis processes, and how much disk Temporal uses.
	worker, api  *proc
	temporalSize func(context.Context) (float64, error)
}

func run(ctx context.Context, c config) (err error) {
	started := time.Now()
	e := &env{runID: fmt.Sprintf("%d", time.Now().Unix()), retry503: c.small, http: &http.Client{
		Timeout:   60 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 2 * c.concurrency},
	}}

	// A fresh database, dropped at the end.
	dbName := "stegvis_bench_" + time.Now().UTC().Format("20060102_150405")
	u, err := url.Parse(baseDBURL())
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	u.Path = "/" + dbName
	e.dbURL = u.String()
	e.st, err = store.Open(ctx, e.dbURL, true)
	if err != nil {
		return fmt.Errorf("open %s (is PostgreSQL running? see README): %w", dbName, err)
	}
	defer func() {
		e.st.Close()
		if derr := dropDB(dbName); derr != nil && err == nil {
			err = derr
		}
	}()
	if err := seedOrgChart(ctx, e.st); err != nil {
		return err
	}

	// The embedded Temporal server, exactly as stegvis dev starts it, on SQLite or
	// (-temporal-db postgres) on a fresh PostgreSQL database, dropped at the end.
	tmp, err := os.MkdirTemp("", "stegvis-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	port, err := freePort()
	if err != nil {
		return err
	}
	tsOpts := devserver.Options{DataDir: tmp, IP: "127.0.0.1", Port: port, UIPort: 0, Namespace: "default", Log: zerolog.Nop()}
	if c.temporalDB == "postgres" {
		tu := *u
		tu.Path = "/" + dbName + "_temporal"
		tsOpts.PostgresURL = tu.String()
		defer func() {
			for _, db := range []string{dbName + "_temporal", dbName + "_temporal_visibility"} {
				if derr := dropDB(db); derr != nil && err == nil {
					err = derr
				}
			}
		}()
	} else if c.temporalDB != "sqlite" {
		return fmt.Errorf("-temporal-db %q: sqlite or postgres", c.temporalDB)
	}
	ts, err := devserver.Start(tsOpts)
	if err != nil {
		return err
	}
	defer ts.Stop()
	e.temporalSize = func(ctx context.Context) (float64, error) { return temporalSize(ctx, e, tmp, tsOpts.PostgresURL) }

	keyText := "b1:" + protect.GenerateKey()
	keys, err := protect.ParseKeys(keyText)
	if err != nil {
		return err
	}
	// The bench's own client, for the raw-SDK baselines.
	reg := metrics.New()
	defer reg.Close()
	e.tc, err = client.DialContext(ctx, client.Options{HostPort: ts.Address, Namespace: "default", DataConverter: protect.DataConverter(keys),
		Logger: logging.SDK(zerolog.Nop()), MetricsHandler: reg.TemporalHandler()})
	if err != nil {
		return fmt.Errorf("connect to the embedded Temporal server: %w", err)
	}
	defer e.tc.Close()
	if err := workflows.RegisterSearchAttributes(ctx, e.tc, "default", 2*devserver.NamespaceCacheRefresh); err != nil {
		return err
	}

	// Tokens from a dev issuer whose keys the bench serves, as an identity provider would.
	idp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	idpBase := "http://" + idp.Addr().String()
	iss, err := auth.NewDevIssuer(idpBase+"/dev", filepath.Join(tmp, "dev-signing-key.pem"))
	if err != nil {
		idp.Close()
		return err
	}
	idpSrv := &http.Server{Handler: iss.JWKSHandler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = idpSrv.Serve(idp) }()
	defer idpSrv.Close()

	// The worker and the API: the production binary, one process each, configured as
	// the README's production section says (rate limit off: one token sends everything).
	bin, err := buildBinary(ctx, tmp)
	if err != nil {
		return err
	}
	progDir := filepath.Join(tmp, "programs")
	if err := writeStormProgram(progDir, c.open); err != nil {
		return err
	}
	apiPort, err := freePort()
	if err != nil {
		return err
	}
	metricsPort, err := freePort()
	if err != nil {
		return err
	}
	common := []string{"DATABASE_URL=" + e.dbURL, "MIGRATE=false", "TEMPORAL_ADDRESS=" + ts.Address, "TEMPORAL_NAMESPACE=default",
		"ENCRYPTION_KEYS=" + keyText, "LOG_LEVEL=info", "LOG_FORMAT=json"}
	workerEnv := append(common, fmt.Sprintf("METRICS_ADDR=127.0.0.1:%d", metricsPort))
	if c.pollers >= 0 {
		workerEnv = append(workerEnv, fmt.Sprintf("WORKER_POLLERS=%d", c.pollers))
	}
	e.worker, err = startProc(ctx, "stegvis worker", bin, []string{"worker"}, workerEnv, "worker polling")
	if err != nil {
		return err
	}
	defer e.worker.stop()
	e.api, err = startProc(ctx, "stegvis api", bin, []string{"api"}, append(common,
		fmt.Sprintf("HTTP_ADDR=127.0.0.1:%d", apiPort), "OIDC_ISSUER="+idpBase+"/dev", "OIDC_JWKS_URL="+idpBase+"/dev/jwks.json",
		"OIDC_AUDIENCE=stegvis", "RATE_LIMIT=0", "PROGRAMS_DIR="+progDir, "SHUTDOWN_DELAY=0s"), "HTTP API listening")
	if err != nil {
		return err
	}
	defer e.api.stop()
	e.base = fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	if e.system, err = iss.Mint("ekb-system", time.Hour*3, auth.System); err != nil {
		return err
	}
	if e.guide, err = iss.Mint("g-anna", time.Hour*3, auth.Guide); err != nil {
		return err
	}
	if e.manager, err = iss.Mint("um-cecilia", time.Hour*3, auth.UnitManager); err != nil {
		return err
	}
	if err := waitReady(ctx, e); err != nil {
		return err
	}

	res := Result{
		Command: strings.TrimSpace("go run ./bench " + strings.Join(os.Args[1:], " ")),
		Machine: machine(),
		Params: map[string]int{"journeys": c.journeys, "meetings": c.meetings, "importRows": c.importRows,
			"participants": c.participants, "eventsPerParticipant": c.eventsPer, "queries": c.queries, "concurrency": c.concurrency, "open": c.open, "workerPollers": c.pollers,
			"queryBudgetSeconds": int(c.queryBudget.Seconds())},
		TemporalDB: c.temporalDB,
		Rows:       []Row{},
	}
	// The JSON is written after every section, marked incomplete until the end: a run
	// that fails late (or is stopped) keeps the rows it measured.
	save := func(complete bool) error {
		res.Date, res.Seconds, res.Complete = time.Now().UTC().Format(time.RFC3339), time.Since(started).Seconds(), complete
		return writeJSON(c.out, res)
	}
	add := func(rs ...Row) error {
		for _, r := range rs {
			res.Rows = append(res.Rows, r)
			fmt.Fprintf(os.Stderr, "  %s · %s: %s\n", r.What, r.Measure, r.valueText())
		}
		return save(false)
	}
	fmt.Fprintf(os.Stderr, "bench: Temporal %s, API %s, database %s\n", ts.Address, e.base, dbName)

	var apiIDs, rawIDs []string
	if c.sections["starts"] {
		ids1, ids2, rs, err := benchStarts(ctx, e, c)
		if err != nil {
			return fmt.Errorf("journey starts: %w", err)
		}
		apiIDs, rawIDs = ids1, ids2
		if err := add(rs...); err != nil {
			return err
		}
	}
	type section struct {
		name string
		run  func() ([]Row, error)
		what string
	}
	for _, sec := range []section{
		{"meetings", func() ([]Row, error) {
			return benchMeetings(ctx, e, c, apiIDs[:min(c.meetings, len(apiIDs))], rawIDs[:min(c.meetings, len(rawIDs))])
		}, "meetings"},
		{"import", func() ([]Row, error) { return benchImport(ctx, e, c, tmp) }, "import"},
		{"storm", func() ([]Row, error) { return benchStorm(ctx, e, c) }, "open journeys and the reminder storm"},
		{"reports", func() ([]Row, error) { return benchReports(ctx, e, c) }, "reports"},
	} {
		if !c.sections[sec.name] {
			continue
		}
		rs, err := sec.run()
		if err != nil {
			return fmt.Errorf("%s: %w", sec.what, err)
		}
		if err := add(rs...); err != nil {
			return err
		}
	}
	if err := save(true); err != nil {
		return err
	}
	printTable(os.Stdout, res)
	return nil
}

// maxErr is how many of n requests may fail before a row stops: none in the small
// run (make test fails on any error), a tenth at full size, where overload is what
// is measured and the failures are counted in the table.
func (c config) maxErr(n int) int {
	if c.small {
		return 0
	}
	return n / 10
}

func baseDBURL() string {
	for _, k := range []string{"DATABASE_URL", "TEST_DATABASE_URL"} {
		if u := os.Getenv(k); u != "" {
			return u
		}
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

func dropDB(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, baseDBURL())
	if err != nil {
		return fmt.Errorf("drop %s: %w", name, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop %s: %w", name, err)
	}
	return nil
}

// The demo organisation of stegvis dev.
func seedOrgChart(ctx context.Context, st *store.Store) error {
	if err := st.UpsertUnitIfMissing(ctx, store.Unit{UnitID: "arbetsmarknad", Name: "Arbetsmarknadsenheten", Active: true}); err != nil {
		return err
	}
	for _, s := range []store.Staff{
		{StaffID: "um-cecilia", Name: "Cecilia", UnitID: "arbetsmarknad", Role: "unit_manager", Active: true},
		{StaffID: "tl-bo", Name: "Bo", UnitID: "arbetsmarknad", Role: "team_lead", ReportsTo: "um-cecilia", Active: true},
		{StaffID: "g-anna", Name: "Anna", UnitID: "arbetsmarknad", Role: "guide", ReportsTo: "tl-bo", Active: true},
		{StaffID: "g-karim", Name: "Karim", UnitID: "arbetsmarknad", Role: "guide", ReportsTo: "tl-bo", Active: true},
		{StaffID: "cw-dina", Name: "Dina", UnitID: "arbetsmarknad", Role: "case_worker", Active: true},
	} {
		if err := st.UpsertStaff(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func waitReady(ctx context.Context, e *env) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := e.http.Get(e.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the API did not become ready within 60s (last: %v)", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "MemTotal:" {
				var kb int64
				fmt.Sscan(f[1], &kb)
				m.MemoryMiB = kb / 1024
			}
		}
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}

func writeJSON(file string, res Result) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(file, append(b, '\n'), 0o644)
}
