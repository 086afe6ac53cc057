package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"

	"github.com/stegvis/stegvis/workflows"
)

// The processes of the topology, the database and the builds: what the steps of
// production_test.go are made of.

// --- waiting on the database -------------------------------------------------------

func (c *cluster) countNotifications(kind string, level int) int {
	n, err := c.notifications(kind, level)
	if err != nil {
		c.t.Fatal(err)
	}
	return n
}

// notifications counts the storm's notifications of a kind and level.
func (c *cluster) notifications(kind string, level int) (int, error) {
	var n int
	err := c.db.QueryRow(context.Background(), `SELECT count(*) FROM notifications WHERE participant_id LIKE $1 AND kind = $2 AND level = $3`,
		stormPrefix+"%", kind, level).Scan(&n)
	return n, err
}

// waitNotifications waits, within generous bounds, until every storm journey has
// handled the notice planned at due: recorded it, or (a reminder or due notice)
// skipped it as stale. A journey handles its notices in order, each recorded before
// the next is looked at, and never skips an escalation; so a journey has handled this
// notice once it has a notification planned at or after it.
func (c *cluster) waitNotifications(kind string, level int, due time.Time) {
	deadline := due.Add(4 * time.Minute)
	for {
		recorded := c.countNotifications(kind, level)
		var handled int
		if err := c.db.QueryRow(context.Background(), `SELECT count(DISTINCT participant_id) FROM notifications
			WHERE participant_id LIKE $1 AND planned_at > $2`, stormPrefix+"%", due.Add(-time.Second)).Scan(&handled); err != nil {
			c.t.Fatal(err)
		}
		if handled >= journeys && (kind != "escalation" || recorded >= journeys) {
			c.logf("all %d %s notices (level %d, due %s) handled, the last %s after they came due: %d recorded, %d skipped as stale",
				journeys, kind, level, due.Format(time.TimeOnly), time.Since(due).Round(time.Second), recorded, journeys-recorded)
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("only %d of %d %s notices (level %d) recorded, %d handled, %s after they came due\n%s\n%s",
				recorded, journeys, kind, level, handled, time.Since(due).Round(time.Second), c.missing(kind, level), c.dbActivity())
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func (c *cluster) waitSQL(what string, want int, sql string, args ...any) {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var n int
		if err := c.db.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
			c.t.Fatal(err)
		}
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: %d, want %d\n%s", what, n, want, c.dbActivity())
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// --- processes ---------------------------------------------------------------------

func (c *cluster) startTemporal() {
	c.temporal = c.start("temporal", c.bin, c.temporalArgs, c.temporalEnv)
	deadline := time.Now().Add(3 * time.Minute)
	for !strings.Contains(c.temporal.stdout.String(), "TEMPORAL_ADDRESS="+c.temporalAddr) {
		if c.temporal.exited() || time.Now().After(deadline) {
			c.t.Fatalf("the Temporal server did not start (%s):\n%s\n%s", c.temporal.state(), c.temporal.stdout.String(), tail(c.temporal.stderr.String(), 30))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var workerCount atomic.Int32

func (c *cluster) startWorker(bin string) *proc {
	name := fmt.Sprintf("worker-%d", workerCount.Add(1))
	if bin != c.bin {
		name += "-patched"
	}
	return c.start(name, bin, []string{"worker", "--metrics-addr=", "--digest-time=", "--retention-after-exit="}, c.env)
}

func (c *cluster) waitAPIReady(n *apiNode) {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if strings.Contains(n.p.stderr.String(), "HTTP API listening") {
			if status, _, err := c.do(n.base, "GET", "/readyz", "", ""); err == nil && status == http.StatusOK {
				return
			}
		}
		if n.p.exited() || time.Now().After(deadline) {
			c.t.Fatalf("%s never became ready (%s):\n%s", n.p.name, n.p.state(), tail(n.p.stderr.String(), 30))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// proc is a process of the topology, with its output kept.
type proc struct {
	name           string
	cmd            *exec.Cmd
	stdout, stderr *syncBuf
	done           chan struct{}
	err            error // once done is closed
}

func (c *cluster) start(name, bin string, args, env []string) *proc {
	c.t.Helper()
	p := &proc{name: name, cmd: exec.Command(bin, args...), stdout: &syncBuf{}, stderr: &syncBuf{}, done: make(chan struct{})}
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	c.t.Cleanup(func() {
		if !p.exited() {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	c.mu.Lock()
	c.procs = append(c.procs, p)
	c.mu.Unlock()
	return p
}

// keepLogsOnFailure writes the output of every process the test started to files
// under a directory that outlives the test, and the last lines of each to the test
// log, when the test has failed.
func (c *cluster) keepLogsOnFailure() {
	t := c.t
	if !t.Failed() {
		return
	}
	dir, err := os.MkdirTemp("", "stegvis-e2e-logs-")
	if err != nil {
		t.Log(err)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, p := range c.procs {
		t.Logf("--- %s (%s), last lines of stderr:\n%s", p.name, p.state(), tail(p.stderr.String(), 15))
		for _, out := range []struct {
			name string
			buf  *syncBuf
		}{{"stdout", p.stdout}, {"stderr", p.stderr}} {
			file := filepath.Join(dir, fmt.Sprintf("%02d-%s.%s", i+1, p.name, out.name))
			if err := os.WriteFile(file, []byte(out.buf.String()), 0o644); err != nil {
				t.Log(err)
			}
		}
	}
	t.Logf("the output of every process is in %s", dir)
}

// missing names the storm journeys without a notification of a kind and level, and
// describes the first of them as Temporal sees it.
func (c *cluster) missing(kind string, level int) string {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var ids []string
	for i := 1; i <= journeys; i++ {
		id := participant(stormPrefix, i)
		var n int
		if err := c.db.QueryRow(ctx, `SELECT count(*) FROM notifications WHERE participant_id = $1 AND kind = $2 AND level = $3`, id, kind, level).Scan(&n); err != nil {
			return err.Error()
		}
		if n == 0 {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return "none missing now"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "missing: %s", strings.Join(ids[:min(len(ids), 20)], " "))
	wid := workflows.JourneyWorkflowID(ids[0])
	d, err := c.tc.DescribeWorkflowExecution(ctx, wid, "")
	if err != nil {
		fmt.Fprintf(&b, "\ndescribe %s: %v", wid, err)
		return b.String()
	}
	fmt.Fprintf(&b, "\n%s: %s, pending workflow task %v", wid, d.GetWorkflowExecutionInfo().GetStatus(), d.GetPendingWorkflowTask())
	for _, a := range d.GetPendingActivities() {
		fmt.Fprintf(&b, "\n  pending activity %s: %s, attempt %d, last failure %q", a.GetActivityType().GetName(), a.GetState(), a.GetAttempt(), a.GetLastFailure().GetMessage())
	}
	var events []string
	it := c.tc.GetWorkflowHistory(ctx, wid, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			break
		}
		events = append(events, fmt.Sprintf("%s %s", ev.GetEventTime().AsTime().Format("15:04:05.000"), ev.GetEventType()))
	}
	fmt.Fprintf(&b, "\n  last events:\n    %s", strings.Join(events[max(0, len(events)-15):], "\n    "))
	return b.String()
}

// dbActivity describes what PostgreSQL is busy with on the test's databases: the
// sessions that are not idle, for a message about something that did not happen.
func (c *cluster) dbActivity() string {
	rows, err := c.db.Query(context.Background(), `SELECT datname, state, coalesce(wait_event_type || '/' || wait_event, ''),
		coalesce(round(extract(epoch FROM now() - xact_start))::text || 's', ''), left(regexp_replace(query, '\s+', ' ', 'g'), 100)
		FROM pg_stat_activity WHERE (datname LIKE 'stegvis_e2e_%' OR datname = current_database()) AND state <> 'idle' AND pid <> pg_backend_pid() ORDER BY xact_start LIMIT 30`)
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	var b strings.Builder
	b.WriteString("PostgreSQL sessions not idle (database, state, wait, transaction age, query):")
	for rows.Next() {
		var db, state, wait, age, query string
		if err := rows.Scan(&db, &state, &wait, &age, &query); err != nil {
			return err.Error()
		}
		fmt.Fprintf(&b, "\n  %s %s %s %s %s", db, state, wait, age, query)
	}
	return b.String()
}

func (p *proc) signal(s os.Signal) { _ = p.cmd.Process.Signal(s) }

func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits for the process to exit and returns how it exited.
func (p *proc) wait(timeout time.Duration) error {
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("still running after %s; killed", timeout)
	}
}

func (p *proc) state() string {
	if !p.exited() {
		return "running"
	}
	if p.err != nil {
		return "exited: " + p.err.Error()
	}
	return "exited: status 0"
}

func waitLog(t *testing.T, p *proc, s string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(p.stderr.String(), s) {
		if p.exited() || time.Now().After(deadline) {
			t.Fatalf("%s never logged %q (%s):\n%s", p.name, s, p.state(), tail(p.stderr.String(), 30))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// --- building and setting up -------------------------------------------------------

// goBuildErr builds pkg into out, with the build tags if any.
func goBuildErr(ctx context.Context, out, tags, pkg string) (string, error) {
	args := []string{"build", "-o", out}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	cmd := exec.CommandContext(ctx, "go", append(args, pkg)...)
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go %s: %v\n%s", strings.Join(cmd.Args[1:], " "), err, b)
	}
	return out, nil
}

// usedPorts keeps one test from picking a port twice.
var usedPorts sync.Map

// freePort picks a free port between 12000 and 20000: below Linux's ephemeral range, so
// that no listener on port 0 takes it between this check and the process binding it,
// and apart from the smoke tests' 20000–32000.
func freePort(t *testing.T) int {
	t.Helper()
	for range 1000 {
		port := 12000 + rand.IntN(8000)
		if _, taken := usedPorts.LoadOrStore(port, true); taken {
			continue
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		ln.Close()
		return port
	}
	t.Fatal("no free port between 12000 and 20000")
	return 0
}

// quietLogger drops the SDK's log lines.
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}
