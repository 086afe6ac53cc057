package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/stegvis/stegvis/config"
	"github.com/stegvis/stegvis/logging"
	"github.com/stegvis/stegvis/selfcheck"
	"github.com/stegvis/stegvis/temporalconn"
)

// exitCode ends the process with a code of its own; main prints err, if any, first.
type exitCode struct {
	code int
	err  error
}

func (e exitCode) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e exitCode) Unwrap() error { return e.err }

// Exit codes of `stegvis check`, for scripts and monitoring.
const (
	checkClean    = 0 // nothing found
	checkFindings = 1 // something found: the findings are printed
	checkFailed   = 2 // the check could not run: the cause is printed
)

// dialTimeout bounds how long `stegvis check` waits for Temporal: an operator is
// waiting, unlike a worker, which waits for its cluster for as long as it takes.
const dialTimeout = 30 * time.Second

func checkCommand(out io.Writer) *ffcli.Command {
	var (
		logc   config.Log
		db     config.Database
		tc     config.Temporal
		kc     config.Keys
		sc     config.SelfCheck
		asJSON bool
		notify bool
	)
	fs := newFlagSet("check")
	logc.Register(fs, logging.FormatConsole)
	db.Register(fs)
	tc.Register(fs)
	kc.Register(fs)
	sc.RegisterGrace(fs)
	fs.BoolVar(&asJSON, "json", false, "stegvis check: print the findings as JSON (as GET /v1/admin/self-check answers) instead of a table")
	fs.BoolVar(&notify, "notify", false, "stegvis check: also remember the findings and write new ones to the unit managers' and admins' inboxes, as the daily run does")
	return &ffcli.Command{
		Name:       "check",
		ShortUsage: "stegvis check [--json] [--notify] [flags]",
		ShortHelp:  "run the self-check now: exit 0 when all is well, 1 when it finds something, 2 when it cannot run",
		LongHelp: "Compares the read model with the journeys Temporal runs and with the org chart, and\n" +
			"prints what is wrong and what to do. It connects to PostgreSQL and Temporal as\n" +
			"`stegvis worker` does (DATABASE_URL, TEMPORAL_*, ENCRYPTION_KEYS). Without --notify it\n" +
			"changes nothing.",
		FlagSet: fs,
		Options: envOptions,
		Exec: func(ctx context.Context, _ []string) error {
			rep, err := runCheck(ctx, logc, db, tc, kc, sc, notify)
			if err != nil {
				return exitCode{checkFailed, err}
			}
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return exitCode{checkFailed, err}
				}
			} else {
				printReport(out, rep, notify)
			}
			if rep.Total > 0 {
				return exitCode{code: checkFindings}
			}
			return nil
		},
	}
}

func runCheck(ctx context.Context, logc config.Log, db config.Database, tc config.Temporal, kc config.Keys, sc config.SelfCheck, notify bool) (selfcheck.Report, error) {
	p, err := startClusterProcess(ctx, logc, db, tc, kc, config.Metrics{}) // a one-off command serves no /metrics
	if err != nil {
		return selfcheck.Report{}, err
	}
	defer p.Close()
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	c, err := temporalconn.Dial(dctx, p.client, p.log)
	if err != nil {
		return selfcheck.Report{}, fmt.Errorf("%w (set TEMPORAL_ADDRESS to a reachable frontend)", err)
	}
	defer c.Close()
	checker := newChecker(p.store, c, tc.Namespace, sc)
	if notify {
		return checker.CheckAndNotify(ctx, nil)
	}
	return checker.Check(ctx, nil)
}

// printReport writes the findings as a table an operator reads in a terminal: one
// block per finding, then the counts.
func printReport(out io.Writer, rep selfcheck.Report, notified bool) {
	if rep.Total == 0 {
		fmt.Fprintf(out, "self-check %s: no findings (journeys younger than %s are not compared yet)\n", rep.CheckedAt.Format(time.RFC3339), rep.Grace)
		return
	}
	fmt.Fprintf(out, "self-check %s: %d finding(s) (journeys younger than %s are not compared yet)\n\n", rep.CheckedAt.Format(time.RFC3339), rep.Total, rep.Grace)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tPARTICIPANT\tUNIT\tFIRST SEEN")
	for _, f := range rep.Findings {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.Kind, dash(f.ParticipantID), dash(f.Unit), f.FirstSeenAt.Format(time.RFC3339))
	}
	tw.Flush()
	fmt.Fprintln(out)
	for i, f := range rep.Findings {
		fmt.Fprintf(out, "%d. %s %s\n   problem: %s\n   to do:   %s\n", i+1, f.Kind, dash(f.ParticipantID), f.Problem, f.Action)
	}
	fmt.Fprintln(out)
	var counts []string
	for _, k := range selfcheck.Kinds {
		if n := rep.Counts[k]; n > 0 {
			counts = append(counts, fmt.Sprintf("%s %d", k, n))
		}
	}
	fmt.Fprintf(out, "counts: %s\n", strings.Join(counts, ", "))
	if notified {
		fmt.Fprintf(out, "inbox notifications written: %d (a finding already notified is not notified again)\n", rep.Notified)
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
