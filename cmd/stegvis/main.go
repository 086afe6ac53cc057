// Command stegvis is the whole service in one binary: `api`, `worker` and `migrate` for
// a cluster, and `dev` to run everything, including Temporal, in one process.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"
)

func main() {
	ctx := stopOnSignal(context.Background())
	root := rootCommand(os.Stdout)
	if err := root.ParseAndRun(ctx, os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		// A subcommand with exit codes of its own (stegvis check).
		var ec exitCode
		if errors.As(err, &ec) {
			if ec.err != nil {
				fmt.Fprintf(os.Stderr, "stegvis: %v\n", ec.err)
			}
			os.Exit(ec.code)
		}
		// One line that says what is wrong and what to set.
		fmt.Fprintf(os.Stderr, "stegvis: %v\n", err)
		os.Exit(1)
	}
}

// stopSignal is why the context of every subcommand ended: SIGTERM (a deploy, a
// rescheduled pod, systemctl stop) or SIGINT (Ctrl+C).
type stopSignal struct {
	sig os.Signal
	at  time.Time
}

func (s stopSignal) Error() string { return "received " + s.sig.String() }

// stopOnSignal returns a context that ends at the first SIGTERM or SIGINT, which
// starts a graceful shutdown. A second signal ends the process at once, without
// waiting for in-flight requests or activities: the way out when draining takes too
// long for whoever is waiting.
func stopOnSignal(parent context.Context) context.Context {
	ctx, cancel := context.WithCancelCause(parent)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		first := <-sigs
		cancel(stopSignal{sig: first, at: time.Now()})
		second := <-sigs
		fmt.Fprintf(os.Stderr, "stegvis: second signal (%v) while shutting down; exiting at once\n", second)
		code := 1
		if s, ok := second.(syscall.Signal); ok {
			code = 128 + int(s) // as a shell reports a process killed by that signal
		}
		os.Exit(code)
	}()
	return ctx
}

// stopRequested says which signal ended ctx and when, if one did.
func stopRequested(ctx context.Context) (sig string, at time.Time, ok bool) {
	var s stopSignal
	if !errors.As(context.Cause(ctx), &s) {
		return "", time.Time{}, false
	}
	return s.sig.String(), s.at, true
}

func rootCommand(out *os.File) *ffcli.Command {
	fs := flag.NewFlagSet("stegvis", flag.ContinueOnError)
	return &ffcli.Command{
		Name:       "stegvis",
		ShortUsage: "stegvis <subcommand> [flags]",
		ShortHelp:  "keeps every participant of a job-coaching programme on track",
		LongHelp: "Every flag can also be set by an environment variable of the same name in\n" +
			"upper case with underscores: --database-url is DATABASE_URL.\n\n" +
			"SIGTERM or Ctrl+C stops gracefully (see SHUTDOWN_DELAY and SHUTDOWN_TIMEOUT);\n" +
			"a second one stops at once.",
		FlagSet:     fs,
		Subcommands: []*ffcli.Command{apiCommand(), workerCommand(), migrateCommand(out), rebuildCommand(out), importCommand(out), rekeyCommand(out), checkCommand(out), devCommand(out)},
		Exec: func(context.Context, []string) error {
			return flag.ErrHelp
		},
	}
}
