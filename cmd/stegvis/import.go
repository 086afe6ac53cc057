package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/mattn/go-isatty"
	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/stegvis/stegvis/importer"
)

func importCommand(out *os.File) *ffcli.Command {
	var o importer.Options
	fs := newFlagSet("import")
	fs.StringVar(&o.APIURL, "api-url", "http://127.0.0.1:8080", "the stegvis API that the import calls")
	fs.StringVar(&o.Token, "api-token", "", "bearer token with the system role (stegvis dev writes one to .data/dev-tokens.json)")
	fs.IntVar(&o.Concurrency, "concurrency", 8, "requests in flight at once")
	fs.BoolVar(&o.Restart, "restart", false, "ignore the checkpoint of an earlier run and start from the first row")
	return &ffcli.Command{
		Name:       "import",
		ShortUsage: "stegvis import [flags] participants.csv",
		ShortHelp:  "bring an existing caseload into running journeys, with their real past dates",
		LongHelp: "The file's first row must be: " + strings.Join(importer.Columns, ",") + "\n" +
			"Running it again does not duplicate anything; a stopped run continues from its checkpoint.",
		FlagSet: fs,
		Options: envOptions,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("name one CSV file: stegvis import participants.csv")
			}
			o.File = args[0]
			if isatty.IsTerminal(os.Stderr.Fd()) {
				o.Progress = os.Stderr
			}
			sum, err := importer.Run(ctx, o)
			fmt.Fprintf(out, "%d rows: %d journeys started, %d already there, %d done in an earlier run, %d rejected\n",
				sum.Rows, sum.Started, sum.Existing, sum.Skipped, len(sum.Rejected))
			for _, r := range sum.Rejected {
				fmt.Fprintf(out, "  line %d: %s\n", r.Line, r.Reason)
			}
			return err
		},
	}
}
