package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"go.temporal.io/server/temporaltest"

	"github.com/stegvis/stegvis/protect"
	"github.com/stegvis/stegvis/selfcheck"
	"github.com/stegvis/stegvis/store"
	"github.com/stegvis/stegvis/store/storetest"
)

// exitOf is the process's exit code for what a subcommand returned, as main works it out.
func exitOf(err error) int {
	var ec exitCode
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ec):
		return ec.code
	}
	return 1
}

// `stegvis check` exits 0 on a clean system, 1 with the findings printed when it finds
// something, and 2 when it cannot run.
func TestStegvisCheckExitCodes(t *testing.T) {
	ctx := context.Background()
	ts := temporaltest.NewServer(temporaltest.WithT(t))
	dbURL := storetest.URL(t)
	st, err := store.Open(ctx, dbURL, true)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	keys := "t1:" + protect.GenerateKey()
	run := func(extra ...string) (int, string) {
		var out bytes.Buffer
		args := append([]string{"--database-url", dbURL, "--temporal-address", ts.GetFrontendHostPort(),
			"--temporal-namespace", ts.GetDefaultNamespace(), "--encryption-keys", keys, "--log-level", "error"}, extra...)
		err := checkCommand(&out).ParseAndRun(ctx, args)
		return exitOf(err), out.String()
	}

	if code, out := run(); code != 0 || !strings.Contains(out, "no findings") {
		t.Fatalf("a clean system: exit %d\n%s", code, out)
	}
	if _, err := st.Pool.Exec(ctx, `INSERT INTO journal_write_failures (participant_id, journey_id, reason) VALUES ('p-cli', 'run-1', 'permanent: value too long')`); err != nil {
		t.Fatal(err)
	}
	code, out := run()
	if code != 1 || !strings.Contains(out, "journal_write_failed  p-cli") || !strings.Contains(out, "value too long") || !strings.Contains(out, "counts: journal_write_failed 1") {
		t.Fatalf("with a finding: exit %d\n%s", code, out)
	}
	code, out = run("--json")
	var rep selfcheck.Report
	if err := json.Unmarshal([]byte(out), &rep); code != 1 || err != nil || rep.Total != 1 || rep.Findings[0].ParticipantID != "p-cli" {
		t.Fatalf("--json: exit %d, %v\n%s", code, err, out)
	}
	// Without --notify nothing is remembered; with it the finding is, and notified once.
	if n := countRows(t, st, `SELECT count(*) FROM self_check_findings`); n != 0 {
		t.Fatalf("a check without --notify remembered %d findings", n)
	}
	if code, out := run("--notify"); code != 1 || !strings.Contains(out, "inbox notifications written: 1") {
		t.Fatalf("--notify: exit %d\n%s", code, out)
	}
	if n := countRows(t, st, `SELECT count(*) FROM notifications WHERE kind = 'self_check' AND recipient_role = 'admin'`); n != 1 {
		t.Fatalf("%d notices for the admins, want 1", n)
	}

	var out2 bytes.Buffer
	err = checkCommand(&out2).ParseAndRun(ctx, []string{"--database-url", "postgres://postgres@127.0.0.1:1/stegvis?sslmode=disable", "--encryption-keys", keys})
	if exitOf(err) != 2 || !strings.Contains(err.Error(), "cannot reach PostgreSQL") {
		t.Fatalf("PostgreSQL down: exit %d, %v", exitOf(err), err)
	}
}

func countRows(t *testing.T, st *store.Store, sql string) int {
	t.Helper()
	var n int
	if err := st.Pool.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
