// Package e2e_test proves the production topology of issue 8 on one machine: a Temporal
// server on PostgreSQL, two `stegvis worker` and two `stegvis api` processes, 500
// journeys whose reminders and escalations come due together, a worker killed in the
// middle of that storm, a restart of the Temporal server, a rolling restart of the
// APIs under load and a rolling deploy of workers with a patched workflow.
//
// It runs in `make test` (go test ./...) and skips only under -short. It takes about six
// minutes, most of it waiting for the demo programme's minutes to pass: referral to the
// last escalation is five minutes, of which the backdated referral saves 15 s.
package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"golang.org/x/sync/errgroup"

	"github.com/stegvis/stegvis/auth"
	"github.com/stegvis/stegvis/protect"
	"github.com/stegvis/stegvis/store/storetest"
	"github.com/stegvis/stegvis/workflows"
)

const (
	// journeys is how many journeys the storm has.
	journeys = 500
	// stormPrefix and patchedPrefix name the storm's participants and those started
	// after the rolling deploy.
	stormPrefix     = "storm-"
	patchedPrefix   = "patched-"
	patchedJourneys = 20
	// referralAge backdates the storm's common referral, so that the demo programme's
	// notices come a little sooner: reminder at referral+2m, due at +3m, escalations at
	// +4m (team lead) and +5m (unit manager). The starts take 25–40 s here alone and up
	// to about 90 s beside the rest of make test; a journey that acted on its reminder
	// only after its deadline (referral+3m) would skip it as stale, by design, and the
	// test demands every reminder. So the backdating is small: a start may come up to
	// 165 s after the test began before a reminder could be stale.
	referralAge = 15 * time.Second
	// loadParticipants are the storm journeys the client load reads and records
	// meetings on.
	loadParticipants = 50
	// maxRetries is how often the load's client, like a load balancer, retries a
	// request that met a refused connection or a 503, each time on the next API.
	maxRetries = 20
	// namespace is the one `stegvis dev` registers.
	namespace = "default"
)

func TestProductionTopology(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a Temporal server, two workers and two APIs for about five minutes")
	}
	c := newCluster(t)

	// 1. 500 journeys on the demo programme, referred at the same instant, through
	// both APIs in turn.
	// 2. The reminder storm, which may begin while the last journeys are still being
	// started: one worker is killed with SIGKILL while it runs, and a replacement
	// starts later. Every notice is handled exactly once (checkExactlyOnce).
	referred := time.Now().Add(-referralAge).Truncate(time.Second)
	killed := make(chan error, 1)
	kctx, stopKiller := context.WithCancel(context.Background())
	go func() { killed <- c.killWorkerInReminderStorm(kctx, referred.Add(2*time.Minute)) }()
	if err := c.startStorm(referred); err != nil {
		stopKiller()
		<-killed
		t.Fatal(err)
	}
	err := <-killed
	stopKiller()
	if err != nil {
		t.Fatal(err)
	}
	c.workers[0] = c.startWorker(c.bin)
	waitLog(t, c.workers[0], "Started Worker")
	c.logf("replacement %s polling, %d reminders recorded", c.workers[0].name, c.countNotifications("reminder", 0))
	c.waitNotifications("reminder", 0, referred.Add(2*time.Minute))
	c.waitNotifications("due", 0, referred.Add(3*time.Minute))

	// 3. The Temporal server restarts on the same databases; the journeys go on:
	// their escalations come after it, and an Update through the API succeeds.
	c.restartTemporal()
	c.meetingAfterTemporalRestart(stormPrefix + "0001")

	// 4. The APIs restart one at a time under a client load.
	held := c.rollAPIsUnderLoad()

	c.waitNotifications("escalation", 1, referred.Add(4*time.Minute))

	// 5. The workers roll to a build with a patched workflow; the level-2 escalations
	// of the running journeys come on the patched workers.
	c.rollWorkersToPatchedBuild()
	c.oldJourneysStayOnTheOldPath(held)
	c.newJourneysTakeTheNewPath()
	c.waitNotifications("escalation", 2, referred.Add(5*time.Minute))

	// Exactly once, and the read model agrees.
	c.checkExactlyOnce()
	c.checkReadModel(held)
	c.checkHistories()
	c.logf("done")
}

// cluster is the processes of the production topology and the test's handles on them.
type cluster struct {
	t     *testing.T
	began time.Time

	bin          string
	patched      chan builds // the patched stegvis and replayer, built in the background
	patchedBuild builds

	temporalArgs []string
	temporalEnv  []string
	temporal     *proc
	temporalAddr string

	env     []string // of workers and APIs
	keys    string
	workers []*proc
	apis    []*apiNode

	db    *pgxpool.Pool
	tc    client.Client
	token string // the system role: starts, reads and records
	hc    *http.Client

	mu    sync.Mutex
	procs []*proc
}

type builds struct {
	stegvis, replayer string
	err               error
}

type apiNode struct {
	addr, base string
	args       []string
	p          *proc
}

func newCluster(t *testing.T) *cluster {
	c := &cluster{t: t, began: time.Now(), patched: make(chan builds, 1)}
	dir := t.TempDir()
	var err error
	if c.bin, err = goBuildErr(context.Background(), filepath.Join(dir, "stegvis"), "", "../cmd/stegvis"); err != nil {
		t.Fatal(err)
	}
	c.logf("built %s", c.bin)
	// The patched build in the background; a test that ends early stops it and waits,
	// so that nothing writes into the temporary directory as it is removed.
	bctx, stopBuild := context.WithCancel(context.Background())
	go func() {
		var b builds
		b.stegvis, b.err = goBuildErr(bctx, filepath.Join(dir, "stegvis-e2epatch"), "e2epatch", "../cmd/stegvis")
		if b.err == nil {
			b.replayer, b.err = goBuildErr(bctx, filepath.Join(dir, "patchreplay"), "e2epatch", "./patchreplay")
		}
		c.patched <- b
	}()
	t.Cleanup(func() {
		stopBuild()
		if c.patchedBuild.stegvis == "" && c.patchedBuild.err == nil {
			<-c.patched
		}
	})

	// A failed run keeps every process's output in files, and logs where; cleanups
	// run last-registered first, so this one runs after every process has stopped.
	t.Cleanup(c.keepLogsOnFailure)

	// Databases: stegvis's own, and Temporal's pair, all dropped at the end (after
	// every process is gone).
	dbURL := storetest.URL(t)
	temporalURL := storetest.TemporalURL(t)

	// Tokens from an issuer whose keys the test serves, as an identity provider would.
	var iss *auth.DevIssuer
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { iss.JWKSHandler().ServeHTTP(w, r) }))
	t.Cleanup(jwks.Close)
	iss, err = auth.NewDevIssuer(jwks.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	if c.token, err = iss.Mint("e2e-system", 2*time.Hour, auth.System); err != nil {
		t.Fatal(err)
	}
	c.keys = "e2e1:" + protect.GenerateKey()
	c.hc = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}

	// The Temporal server alone: it never opens DATABASE_URL, so an unreachable one
	// proves it does not need it.
	temporalPort := freePort(t)
	c.temporalAddr = fmt.Sprintf("127.0.0.1:%d", temporalPort)
	c.temporalArgs = []string{"dev", "--temporal-only", "--temporal-db", "postgres", "--temporal-db-url", temporalURL,
		"--temporal-port", fmt.Sprint(temporalPort), "--ui-port", "0", "--data-dir", filepath.Join(dir, "temporal-data"), "--log-format", "json"}
	c.temporalEnv = append(os.Environ(), "DATABASE_URL=postgres://postgres@127.0.0.1:1/unused?sslmode=disable")
	c.startTemporal()

	if out, err := exec.Command(c.bin, "migrate", "--database-url", dbURL).CombinedOutput(); err != nil {
		t.Fatalf("stegvis migrate: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if c.db, err = pgxpool.New(ctx, dbURL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.db.Close)
	// The org chart the referrals name: the API checks unit and guide against it.
	for _, q := range []string{
		`INSERT INTO units (unit_id, name, active) VALUES ('arbetsmarknad', 'Arbetsmarknadsenheten', true)`,
		`INSERT INTO staff (staff_id, name, unit_id, role, active) VALUES ('g-e2e', 'Guide E2E', 'arbetsmarknad', 'guide', true)`,
	} {
		if _, err := c.db.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	keyring, err := protect.ParseKeys(c.keys)
	if err != nil {
		t.Fatal(err)
	}
	if c.tc, err = client.DialContext(ctx, client.Options{HostPort: c.temporalAddr, Namespace: namespace,
		DataConverter: protect.DataConverter(keyring), Logger: quietLogger{}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.tc.Close)

	c.env = append(os.Environ(),
		"DATABASE_URL="+dbURL, "MIGRATE=false",
		"TEMPORAL_ADDRESS="+c.temporalAddr, "TEMPORAL_NAMESPACE="+namespace,
		"ENCRYPTION_KEYS="+c.keys,
		"OIDC_ISSUER="+jwks.URL, "OIDC_JWKS_URL="+jwks.URL+"/jwks.json", "OIDC_AUDIENCE=stegvis",
		"RATE_LIMIT=0", "LOG_LEVEL=info", "LOG_FORMAT=json")
	for range 2 {
		c.workers = append(c.workers, c.startWorker(c.bin))
	}
	for i := range 2 {
		addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
		n := &apiNode{addr: addr, base: "http://" + addr,
			args: []string{"api", "--http-addr", addr, "--shutdown-delay", "2s", "--shutdown-timeout", "20s"}}
		n.p = c.start(fmt.Sprintf("api-%d", i+1), c.bin, n.args, c.env)
		c.apis = append(c.apis, n)
	}
	for _, n := range c.apis {
		c.waitAPIReady(n)
	}
	for _, w := range c.workers {
		waitLog(t, w, "Started Worker")
	}
	c.logf("Temporal on PostgreSQL at %s, 2 workers, 2 APIs (%s, %s)", c.temporalAddr, c.apis[0].addr, c.apis[1].addr)

	return c
}

func (c *cluster) logf(format string, args ...any) {
	c.t.Helper()
	c.t.Logf("[%5.1fs] %s", time.Since(c.began).Seconds(), fmt.Sprintf(format, args...))
}

// --- the steps ---------------------------------------------------------------------

// startStorm starts the storm's journeys, sixteen requests at a time.
func (c *cluster) startStorm(referred time.Time) error {
	t := c.t
	began := time.Now()
	ids := make(chan int)
	var (
		wg      sync.WaitGroup
		failed  atomic.Int32
		retries atomic.Int64
	)
	for range 16 {
		wg.Go(func() {
			for i := range ids {
				id := participant(stormPrefix, i)
				body := fmt.Sprintf(`{"participantId":%q,"programId":"demo","unit":"arbetsmarknad","referredAt":%q,"guideId":"g-e2e"}`,
					id, referred.Format(time.RFC3339))
				// Alternating APIs; a repeated start is answered 200 from the running journey.
				status, resp, n, err := c.send(i%2, "POST", "/v1/participants", body, "")
				retries.Add(int64(n))
				if err != nil || status != http.StatusCreated && status != http.StatusOK {
					if failed.Add(1) <= 3 {
						t.Errorf("start %s: %d %v %s", id, status, err, resp)
					}
				}
			}
		})
	}
	for i := 1; i <= journeys; i++ {
		ids <- i
	}
	close(ids)
	wg.Wait()
	if failed.Load() > 0 {
		return fmt.Errorf("%d of %d starts failed", failed.Load(), journeys)
	}
	c.logf("started %d demo journeys referred at %s through both APIs in %s (%d retries); reminders due at %s",
		journeys, referred.Format(time.TimeOnly), time.Since(began).Round(time.Millisecond), retries.Load(),
		referred.Add(2*time.Minute).Format(time.TimeOnly))
	return nil
}

// killWorkerInReminderStorm kills the first worker once some of the reminders are
// recorded, and returns a few seconds later for the replacement to start. It runs
// beside the starts, so it reports instead of failing the test.
func (c *cluster) killWorkerInReminderStorm(ctx context.Context, due time.Time) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Until(due.Add(-5 * time.Second))):
	}
	deadline := due.Add(3 * time.Minute)
	var seen int
	for {
		var err error
		if seen, err = c.notifications("reminder", 0); err != nil {
			return err
		}
		if seen >= 25 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d reminders recorded by %s", seen, deadline.Format(time.TimeOnly))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	victim := c.workers[0]
	victim.kill()
	if seen >= journeys {
		return fmt.Errorf("the reminder storm was over (%d recorded) before the kill; the test did not kill a worker in the middle of it", seen)
	}
	after, _ := c.notifications("reminder", 0)
	c.logf("SIGKILL %s with %d of %d reminders recorded (%d a moment later)", victim.name, seen, journeys, after)
	time.Sleep(3 * time.Second)
	return nil
}

func (c *cluster) restartTemporal() {
	t := c.t
	began := time.Now()
	c.temporal.signal(syscall.SIGTERM)
	if err := c.temporal.wait(90 * time.Second); err != nil {
		t.Fatalf("the Temporal server did not stop cleanly on SIGTERM: %v", err)
	}
	stopped := time.Since(began)
	c.startTemporal()
	c.logf("restarted the Temporal server on the same databases (stopped in %s, serving again after %s)",
		stopped.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
}

// meetingAfterTemporalRestart records a meeting through the API, retrying while the
// API's client reconnects to the restarted server.
func (c *cluster) meetingAfterTemporalRestart(id string) {
	body := meetingBody()
	key := "after-restart-" + id
	deadline := time.Now().Add(2 * time.Minute)
	attempts := 0
	for {
		attempts++
		status, resp, _, err := c.send(0, "POST", "/v1/participants/"+id+"/meetings", body, key)
		if err == nil && status == http.StatusOK {
			var v view
			if err := json.Unmarshal(resp, &v); err != nil || v.Meetings.Held != 1 {
				c.t.Fatalf("meeting after the Temporal restart: %s (%v)", resp, err)
			}
			break
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("a meeting Update after the Temporal restart never succeeded: %d %v %s", status, err, resp)
		}
		time.Sleep(time.Second)
	}
	c.logf("a meeting Update through the API after the Temporal restart succeeded (%d attempts)", attempts)
}

// rollAPIsUnderLoad restarts each API in turn (SIGTERM, then a new process on the same
// address) while clients read journeys and record meetings through both. It returns
// the meetings recorded per participant.
func (c *cluster) rollAPIsUnderLoad() map[string]int {
	t := c.t
	l := &load{c: c, held: map[string]int{stormPrefix + "0001": 1}}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() { l.run(ctx, g) })
	}
	time.Sleep(3 * time.Second)
	for i, n := range c.apis {
		began := time.Now()
		n.p.signal(syscall.SIGTERM)
		if err := n.p.wait(90 * time.Second); err != nil {
			cancel()
			wg.Wait()
			t.Fatalf("%s did not stop cleanly on SIGTERM: %v", n.p.name, err)
		}
		n.p = c.start(fmt.Sprintf("api-%d", i+1), c.bin, n.args, c.env)
		c.waitAPIReady(n)
		c.logf("restarted %s under load in %s", n.p.name, time.Since(began).Round(time.Millisecond))
		time.Sleep(2 * time.Second)
	}
	time.Sleep(2 * time.Second)
	cancel()
	wg.Wait()
	c.logf("load during the API restarts: %d logical requests (%d reads, %d meeting Updates), %d retries (%d refused or broken connections, %d answers 503), %d failed",
		l.requests.Load(), l.reads.Load(), l.updates.Load(), l.retries.Load(), l.connRetries.Load(), l.unavailable.Load(), l.failed.Load())
	if l.failed.Load() > 0 {
		t.Fatalf("%d logical requests failed during the API restarts; first: %s", l.failed.Load(), l.firstFailure)
	}
	if l.requests.Load() < 20 {
		t.Fatalf("the load made only %d requests", l.requests.Load())
	}
	return l.held
}

// rollWorkersToPatchedBuild stops the workers one by one with SIGTERM and starts a
// worker of the patched build in each one's place.
func (c *cluster) rollWorkersToPatchedBuild() {
	t := c.t
	c.patchedBuild = <-c.patched
	if c.patchedBuild.err != nil {
		t.Fatalf("build the patched binaries: %v", c.patchedBuild.err)
	}
	for i, w := range c.workers {
		w.signal(syscall.SIGTERM)
		if err := w.wait(90 * time.Second); err != nil {
			t.Fatalf("%s did not stop cleanly on SIGTERM: %v", w.name, err)
		}
		c.workers[i] = c.startWorker(c.patchedBuild.stegvis)
		waitLog(t, c.workers[i], "Started Worker")
		c.logf("rolled %s to %s (patched build)", w.name, c.workers[i].name)
	}
}

// oldJourneysStayOnTheOldPath records a meeting on running journeys after the roll:
// the patched workers replay them, they answer, and they never take the new path.
func (c *cluster) oldJourneysStayOnTheOldPath(held map[string]int) {
	t := c.t
	var running []int
	for i := loadParticipants + 1; i <= loadParticipants+50; i++ {
		running = append(running, i)
	}
	if problems := eightAtATime(running, func(i int) string {
		return c.meetingOnOldPath(participant(stormPrefix, i), i, held)
	}); len(problems) > 0 {
		t.Fatalf("running journeys after the roll:\n%s", strings.Join(problems, "\n"))
	}
	c.logf("50 running journeys answered meeting Updates on the patched workers, on their old path")
}

// meetingOnOldPath records one meeting on a running journey (which no other request
// touches now) and returns what is wrong with the answer, if anything.
func (c *cluster) meetingOnOldPath(id string, i int, held map[string]int) string {
	status, resp, _, err := c.send(i%2, "POST", "/v1/participants/"+id+"/meetings", meetingBody(), "after-roll-"+id)
	if err != nil || status != http.StatusOK {
		return fmt.Sprintf("meeting on %s: %d %v %s", id, status, err, resp)
	}
	var v view
	if err := json.Unmarshal(resp, &v); err != nil {
		return fmt.Sprintf("%s: %v", id, err)
	}
	if v.hasEvent(workflows.E2EPatchEventKind) {
		return fmt.Sprintf("%s took the patched path: %s", id, resp)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	held[id]++
	if v.Meetings.Held != held[id] {
		return fmt.Sprintf("%s: %d meetings held, want %d", id, v.Meetings.Held, held[id])
	}
	return ""
}

// newJourneysTakeTheNewPath starts journeys on the patched workers: each records the
// new path's event, in its timeline and in the read model.
func (c *cluster) newJourneysTakeTheNewPath() {
	t := c.t
	now := time.Now().Format(time.RFC3339)
	for i := 1; i <= patchedJourneys; i++ {
		id := participant(patchedPrefix, i)
		body := fmt.Sprintf(`{"participantId":%q,"programId":"demo","unit":"arbetsmarknad","referredAt":%q,"guideId":"g-e2e"}`, id, now)
		if status, resp, _, err := c.send(i%2, "POST", "/v1/participants", body, ""); err != nil || status != http.StatusCreated {
			t.Fatalf("start %s on the patched workers: %d %v %s", id, status, err, resp)
		}
	}
	deadline := time.Now().Add(2 * time.Minute)
	for i := 1; i <= patchedJourneys; i++ {
		id := participant(patchedPrefix, i)
		for {
			status, resp, _, err := c.send(i%2, "GET", "/v1/participants/"+id, "", "")
			var v view
			if err == nil && status == http.StatusOK && json.Unmarshal(resp, &v) == nil && v.hasEvent(workflows.E2EPatchEventKind) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("new journey %s never took the patched path: %d %v %s", id, status, err, resp)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	c.waitSQL("new journeys' patched-path events in the read model", patchedJourneys,
		`SELECT count(DISTINCT participant_id) FROM journey_events WHERE kind = $1 AND participant_id LIKE $2`,
		workflows.E2EPatchEventKind, patchedPrefix+"%")
	c.logf("%d journeys started after the roll took the patched path", patchedJourneys)
}

// checkExactlyOnce: every escalation of the storm is in the notifications table
// exactly once per journey. So is every reminder and due notice, but for one the
// journey itself skipped by design because it only got to act on it once the next
// notice was due (when the machine is too slow for the demo programme's minutes):
// the journey's own record then says skipped, once, and the table has no row.
func (c *cluster) checkExactlyOnce() {
	t := c.t
	ctx := context.Background()
	rows, err := c.db.Query(ctx, `SELECT kind, level, count(*), count(DISTINCT participant_id) FROM notifications
		WHERE participant_id LIKE $1 GROUP BY kind, level ORDER BY kind, level`, stormPrefix+"%")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][2]int{}
	for rows.Next() {
		var (
			kind         string
			level, n, pn int
		)
		if err := rows.Scan(&kind, &level, &n, &pn); err != nil {
			t.Fatal(err)
		}
		got[fmt.Sprintf("%s/%d", kind, level)] = [2]int{n, pn}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"escalation/1", "escalation/2"} {
		if got[k] != [2]int{journeys, journeys} {
			t.Fatalf("%s notifications (rows, participants): %v, want %d once each; all: %v", k, got[k], journeys, got)
		}
	}
	for _, k := range []string{"reminder/0", "due/0"} {
		if got[k] == [2]int{journeys, journeys} {
			continue
		}
		// Say what became of the missing ones: lost, or skipped as stale by a journey that
		// acted on the notice only after the next was due (the machine was too slow).
		kind := strings.TrimSuffix(k, "/0")
		skipped := c.checkSkipped(kind)
		t.Fatalf("%s notifications (rows, participants): %v, want %d once each; %d were skipped as stale by their journeys (acted on after the next notice was due: starts or the storm were too slow); all: %v",
			k, got[k], journeys, skipped, got)
	}
	if len(got) != 4 {
		t.Fatalf("notifications by kind/level (rows, participants): %v", got)
	}
	var dups int
	if err := c.db.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM notifications WHERE participant_id LIKE $1
		GROUP BY participant_id, deadline_id, kind, level HAVING count(*) > 1) d`, stormPrefix+"%").Scan(&dups); err != nil {
		t.Fatal(err)
	}
	if dups > 0 {
		t.Fatalf("%d participant/deadline/kind/level combinations were notified more than once", dups)
	}
	// How late the storms were recorded: the margin to the next notice (60 s) matters.
	var late string
	if err := c.db.QueryRow(ctx, `SELECT string_agg(format('%s/%s %ss', kind, level, round(extract(epoch FROM l)::numeric, 1)), ', ' ORDER BY kind, level)
		FROM (SELECT kind, level, max(created_at - planned_at) AS l FROM notifications WHERE participant_id LIKE $1 GROUP BY kind, level) x`,
		stormPrefix+"%").Scan(&late); err != nil {
		t.Fatal(err)
	}
	c.logf("notifications: %d reminders, %d due notices, %d level-1 and %d level-2 escalations, none twice; the last of each recorded after %s",
		got["reminder/0"][0], got["due/0"][0], journeys, journeys, late)
}

// checkSkipped asks each storm journey without a notification of kind (reminder or
// due) what became of it: it fails the test at once if one was lost, and returns how
// many were handled exactly once, as skipped.
func (c *cluster) checkSkipped(kind string) int {
	t := c.t
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rows, err := c.db.Query(ctx, `SELECT participant_id FROM participants p WHERE participant_id LIKE $1 AND NOT EXISTS
		(SELECT 1 FROM notifications n WHERE n.participant_id = p.participant_id AND n.kind = $2) ORDER BY 1`, stormPrefix+"%", kind)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		v, err := c.tc.QueryWorkflow(ctx, workflows.JourneyWorkflowID(id), "", workflows.QueryState)
		var st workflows.JourneyState
		if err == nil {
			err = v.Get(&st)
		}
		if err != nil {
			t.Fatalf("query %s: %v", id, err)
		}
		var records []workflows.NoticeRecord
		for _, d := range st.Deadlines {
			if d.ID != "plan" {
				continue
			}
			for k, n := range d.Notices {
				if string(n.Kind) != kind {
					continue
				}
				for _, r := range d.Sent {
					if r.Index == k {
						records = append(records, r)
					}
				}
			}
		}
		if len(records) != 1 || !records[0].Skipped {
			t.Fatalf("%s has no %s notification, and its journey records %+v for it: the notice was lost", id, kind, records)
		}
	}
	return len(ids)
}

// checkReadModel: the journey events, the participants and their deadlines agree.
func (c *cluster) checkReadModel(held map[string]int) {
	t := c.t
	began := time.Now()
	c.waitSQL("plan deadlines at escalation level 2 in the read model", journeys,
		`SELECT count(*) FROM deadlines WHERE participant_id LIKE $1 AND deadline_id = 'plan' AND status = 'open' AND escalation_level = 2`,
		stormPrefix+"%")
	c.logf("the read model shows every plan deadline at escalation level 2 (after %s)", time.Since(began).Round(time.Millisecond))
	ctx := context.Background()
	for _, q := range []struct {
		what string
		want int
		sql  string
		args []any
	}{
		{"participants of the demo programme in planning", journeys,
			`SELECT count(*) FROM participants WHERE participant_id LIKE $1 AND program_id = 'demo' AND phase = 'planning'`, []any{stormPrefix + "%"}},
		{"participants with one journey event for each of their notifications", journeys,
			`SELECT count(*) FROM participants p WHERE participant_id LIKE $1 AND (SELECT count(*) FROM notifications n
			 WHERE n.participant_id = p.participant_id AND n.kind = 'escalation') = 2 AND (
			 SELECT array_agg(kind ORDER BY kind) FROM journey_events e WHERE e.participant_id = p.participant_id AND e.kind LIKE 'notice_%') = (
			 SELECT array_agg('notice_' || kind ORDER BY 'notice_' || kind) FROM notifications n WHERE n.participant_id = p.participant_id)`,
			[]any{stormPrefix + "%"}},
		{"patched-path events of running journeys", 0,
			`SELECT count(*) FROM journey_events WHERE participant_id LIKE $1 AND kind = $2`, []any{stormPrefix + "%", workflows.E2EPatchEventKind}},
		{"new journeys with exactly one patched-path event", patchedJourneys,
			`SELECT count(*) FROM (SELECT participant_id FROM journey_events WHERE participant_id LIKE $1 AND kind = $2
			 GROUP BY participant_id HAVING count(*) = 1) p`, []any{patchedPrefix + "%", workflows.E2EPatchEventKind}},
	} {
		var n int
		if err := c.db.QueryRow(ctx, q.sql, q.args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != q.want {
			t.Fatalf("read model: %d %s, want %d", n, q.what, q.want)
		}
	}
	// The meetings the load recorded, each once despite the retries: in the journey and
	// in the read model's events. Read eight at a time: each read is a query, which the
	// patched workers answer by replaying the journey.
	if problems := eightAtATime(slices.Collect(maps.Keys(held)), func(id string) string {
		return c.checkMeetings(id, held[id])
	}); len(problems) > 0 {
		t.Fatalf("%d journeys disagree:\n%s", len(problems), strings.Join(problems, "\n"))
	}
	c.logf("read model agrees: %d participants, their plan deadlines at level 2, one event per notification; %d journeys' meetings counted once each",
		journeys, len(held))
}

// checkMeetings compares the meetings a journey counts, and the meeting events of the
// read model, with the number recorded; it returns what is wrong, if anything.
func (c *cluster) checkMeetings(id string, want int) string {
	var events int
	if err := c.db.QueryRow(context.Background(), `SELECT count(*) FROM journey_events WHERE participant_id = $1 AND kind = 'meeting_held'`, id).Scan(&events); err != nil {
		return fmt.Sprintf("%s: %v", id, err)
	}
	status, resp, _, err := c.send(0, "GET", "/v1/participants/"+id, "", "")
	var v view
	if err != nil || status != http.StatusOK || json.Unmarshal(resp, &v) != nil {
		return fmt.Sprintf("read %s: %d %v %s", id, status, err, resp)
	}
	if v.Meetings.Held != want || events != want {
		return fmt.Sprintf("%s: %d meetings held in the journey, %d meeting events in the read model; %d were recorded", id, v.Meetings.Held, events, want)
	}
	if plan := v.deadline("plan"); plan == nil || plan.EscalationLevel != 2 {
		return fmt.Sprintf("%s: plan deadline %+v, want escalation level 2", id, plan)
	}
	return ""
}

// checkHistories reads every journey's history: no workflow task failed (a replay
// that went wrong fails its task), the running journeys have no version marker of the
// e2e patch and the new ones have one; then the patched build and this (released)
// build replay them. (Every journey has the marker of workflows.SideEffectsApartChangeID,
// a change released before this test's patch.)
func (c *cluster) checkHistories() {
	t := c.t
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	keyring, err := protect.ParseKeys(c.keys)
	if err != nil {
		t.Fatal(err)
	}
	dc := protect.DataConverter(keyring)
	var ids []string
	for i := 1; i <= journeys; i++ {
		ids = append(ids, workflows.JourneyWorkflowID(participant(stormPrefix, i)))
	}
	for i := 1; i <= patchedJourneys; i++ {
		ids = append(ids, workflows.JourneyWorkflowID(participant(patchedPrefix, i)))
	}
	var (
		actRetried, events int
		wftTimedOut        = map[string]int{}
		histories          = map[string]*historypb.History{}
	)
	for _, id := range ids {
		d, err := c.tc.DescribeWorkflowExecution(ctx, id, "")
		if err != nil {
			t.Fatalf("describe %s: %v", id, err)
		}
		if s := d.GetWorkflowExecutionInfo().GetStatus(); s != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
			t.Fatalf("%s is %s, want running", id, s)
		}
		h := &historypb.History{}
		it := c.tc.GetWorkflowHistory(ctx, id, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		markers := 0
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				t.Fatalf("history of %s: %v", id, err)
			}
			h.Events = append(h.Events, ev)
			switch ev.GetEventType() {
			case enums.EVENT_TYPE_WORKFLOW_TASK_FAILED:
				a := ev.GetWorkflowTaskFailedEventAttributes()
				t.Fatalf("%s: a workflow task failed (%s): %s", id, a.GetCause(), a.GetFailure().GetMessage())
			case enums.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
				wftTimedOut[ev.GetWorkflowTaskTimedOutEventAttributes().GetTimeoutType().String()]++
			case enums.EVENT_TYPE_ACTIVITY_TASK_STARTED:
				// Written once the activity is done, with the attempt that finished it.
				if ev.GetActivityTaskStartedEventAttributes().GetAttempt() > 1 {
					actRetried++
				}
			case enums.EVENT_TYPE_MARKER_RECORDED:
				a := ev.GetMarkerRecordedEventAttributes()
				var change string
				if p := a.GetDetails()["change-id"]; a.GetMarkerName() == "Version" && p != nil {
					if err := dc.FromPayloads(p, &change); err != nil {
						t.Fatalf("%s: version marker: %v", id, err)
					}
				}
				if change == workflows.E2EPatchChangeID {
					markers++
				}
			}
		}
		events += len(h.Events)
		histories[id] = h
		want := 0
		if strings.HasPrefix(id, workflows.JourneyWorkflowID(patchedPrefix)) {
			want = 1
		}
		if markers != want {
			t.Fatalf("%s has %d version markers, want %d", id, markers, want)
		}
	}
	c.logf("%d histories (%d events): no workflow task failed; retried after the killed worker, the restarts or busy workers: workflow tasks timed out %v, %d activities finished on a later attempt",
		len(ids), events, wftTimedOut, actRetried)

	// The patched build replays every history: the old journeys on their old path,
	// the new ones on the new.
	cmd := exec.Command(c.patchedBuild.replayer, "-address", c.temporalAddr, "-namespace", namespace)
	cmd.Env = append(os.Environ(), "ENCRYPTION_KEYS="+c.keys)
	cmd.Stdin = strings.NewReader(strings.Join(ids, "\n"))
	out, err := cmd.CombinedOutput()
	last := tail(string(out), 1)
	if err != nil || !strings.Contains(last, fmt.Sprintf("replayed %d histories with e2e patch true, 0 failed", len(ids))) {
		t.Fatalf("the patched build does not replay the histories: %v\n%s", err, tail(string(out), 20))
	}
	// The released build still replays the running journeys, which the patched
	// workers have extended: rolling back would be safe.
	r, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{DataConverter: dc})
	if err != nil {
		t.Fatal(err)
	}
	r.RegisterWorkflowWithOptions(workflows.Journey, workflow.RegisterOptions{Name: workflows.JourneyWorkflowType})
	r.RegisterWorkflowWithOptions(workflows.DeliveryWorkflow, workflow.RegisterOptions{Name: workflows.DeliveryWorkflowType})
	for _, id := range ids[:journeys] {
		if err := r.ReplayWorkflowHistory(quietLogger{}, histories[id]); err != nil {
			t.Fatalf("the released workflow code cannot replay %s: %v", id, err)
		}
	}
	c.logf("the patched build replayed all %d histories (%s); the released build replayed the %d running journeys", len(ids), last, journeys)
}

// --- the load balancer's client ----------------------------------------------------

// load reads journeys and records meetings through both APIs in turn, and retries a
// refused connection or a 503 on the next API, as a load balancer would.
type load struct {
	c                                         *cluster
	requests, reads, updates                  atomic.Int64
	retries, connRetries, unavailable, failed atomic.Int64

	mu           sync.Mutex
	held         map[string]int
	firstFailure string
}

func (l *load) run(ctx context.Context, g int) {
	rng := rand.New(rand.NewPCG(uint64(g), uint64(time.Now().UnixNano())))
	for n := 0; ctx.Err() == nil; n++ {
		id := participant(stormPrefix, 1+rng.IntN(loadParticipants))
		var (
			status, retries int
			resp            []byte
			err             error
		)
		l.requests.Add(1)
		if n%2 == 0 {
			l.reads.Add(1)
			status, resp, retries, err = l.c.sendLB("GET", "/v1/participants/"+id, "", "", l)
		} else {
			l.updates.Add(1)
			key := fmt.Sprintf("load-%d-%d", g, n)
			status, resp, retries, err = l.c.sendLB("POST", "/v1/participants/"+id+"/meetings", meetingBody(), key, l)
			if err == nil && status == http.StatusOK {
				l.mu.Lock()
				l.held[id]++
				l.mu.Unlock()
			}
		}
		l.retries.Add(int64(retries))
		if err != nil || status != http.StatusOK {
			l.failed.Add(1)
			l.mu.Lock()
			if l.firstFailure == "" {
				l.firstFailure = fmt.Sprintf("%s: %d %v %s", id, status, err, resp)
			}
			l.mu.Unlock()
		}
	}
}

var roundRobin atomic.Uint64

// sendLB sends a request to the next API in turn, retrying on the next one after a
// connection error or a 503, at most maxRetries times. The Idempotency-Key makes a
// retried Update the same Update.
func (c *cluster) sendLB(method, path, body, key string, l *load) (status int, resp []byte, retries int, err error) {
	for attempt := 0; ; attempt++ {
		n := c.apis[roundRobin.Add(1)%uint64(len(c.apis))]
		status, resp, err = c.do(n.base, method, path, body, key)
		switch {
		case err != nil:
			l.connRetries.Add(1)
		case status == http.StatusServiceUnavailable:
			l.unavailable.Add(1)
		default:
			return status, resp, attempt, nil
		}
		if attempt == maxRetries {
			return status, resp, attempt, err
		}
		time.Sleep(time.Duration(50*(attempt+1)) * time.Millisecond)
	}
}

// send is a request to one API (by index), retried there on a connection error or a
// 503 for up to a minute; it returns how many retries it took.
func (c *cluster) send(api int, method, path, body, key string) (int, []byte, int, error) {
	n := c.apis[api%len(c.apis)]
	deadline := time.Now().Add(time.Minute)
	for retries := 0; ; retries++ {
		status, resp, err := c.do(n.base, method, path, body, key)
		if (err == nil && status != http.StatusServiceUnavailable) || time.Now().After(deadline) {
			return status, resp, retries, err
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func (c *cluster) do(base, method, path, body, key string) (int, []byte, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func meetingBody() string {
	return fmt.Sprintf(`{"kind":"other","outcome":"held","occurredAt":%q}`, time.Now().Add(-time.Second).Format(time.RFC3339))
}

// view is the part of a journey the test reads.
type view struct {
	Meetings struct {
		Held int `json:"held"`
	} `json:"meetings"`
	Timeline []struct {
		Kind string `json:"kind"`
	} `json:"timeline"`
	Deadlines []deadlineView `json:"deadlines"`
}

type deadlineView struct {
	ID              string `json:"id"`
	EscalationLevel int    `json:"escalationLevel"`
}

func (v view) hasEvent(kind string) bool {
	return slices.ContainsFunc(v.Timeline, func(e struct {
		Kind string `json:"kind"`
	}) bool {
		return e.Kind == kind
	})
}

func (v view) deadline(id string) *deadlineView {
	for i := range v.Deadlines {
		if v.Deadlines[i].ID == id {
			return &v.Deadlines[i]
		}
	}
	return nil
}

func participant(prefix string, i int) string { return fmt.Sprintf("%s%04d", prefix, i) }

// eightAtATime runs check on every item, eight at a time (each check is an Update or a
// query that the workers answer by replaying a journey), and returns what the checks
// found wrong (their non-empty answers), sorted.
func eightAtATime[T any](items []T, check func(T) string) []string {
	var (
		g        errgroup.Group
		mu       sync.Mutex
		problems []string
	)
	g.SetLimit(8)
	for _, item := range items {
		g.Go(func() error {
			if p := check(item); p != "" {
				mu.Lock()
				problems = append(problems, p)
				mu.Unlock()
			}
			return nil
		})
	}
	_ = g.Wait() // the checks report problems, never errors
	slices.Sort(problems)
	return problems
}
