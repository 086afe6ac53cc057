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

	"github.com/peterbourgon/ff/v3/ffcli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := rootCommand(os.Stdout)
	if err := root.ParseAndRun(ctx, os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		// One line that says what is wrong and what to set.
		fmt.Fprintf(os.Stderr, "stegvis: %v\n", err)
		os.Exit(1)
	}
}

func rootCommand(out *os.File) *ffcli.Command {
	fs := flag.NewFlagSet("stegvis", flag.ContinueOnError)
	return &ffcli.Command{
		Name:       "stegvis",
		ShortUsage: "stegvis <subcommand> [flags]",
		ShortHelp:  "keeps every participant of a job-coaching programme on track",
		LongHelp: "Every flag can also be set by an environment variable of the same name in\n" +
			"upper case with underscores: --database-url is DATABASE_URL.",
		FlagSet:     fs,
		Subcommands: []*ffcli.Command{apiCommand(), workerCommand(), migrateCommand(out), rebuildCommand(out), importCommand(out), rekeyCommand(out), devCommand(out)},
		Exec: func(context.Context, []string) error {
			return flag.ErrHelp
		},
	}
}
