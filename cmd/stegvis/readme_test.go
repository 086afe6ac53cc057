package main

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/peterbourgon/ff/v3/ffcli"
)

// TestReadmeConfigurationTableListsEveryFlag keeps the README's configuration table and
// the real flags in step: every flag of every subcommand has a row naming the flag and
// its environment variable, and every row is a real flag.
func TestReadmeConfigurationTableListsEveryFlag(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, line := range strings.Split(string(readme), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`--") {
			continue
		}
		rows[strings.Trim(strings.TrimSpace(cells[1]), "`")] = strings.Trim(strings.TrimSpace(cells[2]), "`")
	}
	seen := map[string]bool{}
	var walk func(c *ffcli.Command)
	walk = func(c *ffcli.Command) {
		c.FlagSet.VisitAll(func(f *flag.Flag) {
			name := "--" + f.Name
			seen[name] = true
			env := strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
			got, ok := rows[name]
			if !ok {
				t.Errorf("flag %s of %q is missing from the README configuration table", name, c.Name)
			} else if got != env {
				t.Errorf("README lists %s as %s, the program reads %s", name, got, env)
			}
		})
		for _, s := range c.Subcommands {
			walk(s)
		}
	}
	walk(rootCommand(os.Stdout))
	for name := range rows {
		if !seen[name] {
			t.Errorf("README lists %s, which no subcommand has", name)
		}
	}
}
