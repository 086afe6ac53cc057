package main

import (
	"context"
	"fmt"
	"os"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/stegvis/stegvis/config"
	"github.com/stegvis/stegvis/store"
)

// databaseCommand is a subcommand that opens (and migrates) the database, runs, exits.
func databaseCommand(name, help string, run func(context.Context, *store.Store) error) *ffcli.Command {
	var db config.Database
	fs := newFlagSet(name)
	db.RegisterURL(fs)
	return &ffcli.Command{
		Name:       name,
		ShortUsage: "stegvis " + name + " [flags]",
		ShortHelp:  help,
		FlagSet:    fs,
		Options:    envOptions,
		Exec: func(ctx context.Context, _ []string) error {
			db.Migrate = true
			st, err := openStore(ctx, db)
			if err != nil {
				return err
			}
			defer st.Close()
			return run(ctx, st)
		},
	}
}

func migrateCommand(out *os.File) *ffcli.Command {
	return databaseCommand("migrate", "create the database if missing and apply pending migrations, then exit",
		func(_ context.Context, st *store.Store) error {
			v, dirty, err := st.MigrationVersion()
			if err != nil {
				return err
			}
			if dirty {
				return fmt.Errorf("schema version %d is dirty: a migration failed half-way; fix the database by hand, then run migrate again", v)
			}
			fmt.Fprintf(out, "database schema at version %d\n", v)
			return nil
		})
}

func rebuildCommand(out *os.File) *ffcli.Command {
	return databaseCommand("rebuild", "empty the read model (participants, deadlines) and fill it again from the journey event table",
		func(ctx context.Context, st *store.Store) error {
			n, err := st.Rebuild(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "read model rebuilt: %d participants\n", n)
			return nil
		})
}
