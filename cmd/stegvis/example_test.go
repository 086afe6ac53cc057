package main

import (
	"encoding/csv"
	"os"
	"slices"
	"testing"

	"github.com/stegvis/stegvis/importer"
	"github.com/stegvis/stegvis/program"
)

// README's `stegvis import importer/example.csv` runs against the demo organisation
// of `make run`: every row must name a programme, a unit and a guide of that unit the
// demo has, or the API refuses it.
func TestTheExampleCaseloadNamesTheDemoOrgChart(t *testing.T) {
	f, err := os.Open("../../importer/example.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 2 || !slices.Equal(rows[0], importer.Columns) {
		t.Fatalf("example.csv: header %v, want %v and rows", rows[0], importer.Columns)
	}
	guides := map[string]string{}
	for _, s := range devStaff {
		if s.Role == "guide" && s.Active {
			guides[s.StaffID] = s.UnitID
		}
	}
	for i, r := range rows[1:] {
		line := i + 2
		if _, ok := program.Default().Lookup(r[1]); !ok {
			t.Errorf("line %d: programme %q is not shipped", line, r[1])
		}
		if r[2] != devUnit.UnitID {
			t.Errorf("line %d: unit %q is not the demo unit %q", line, r[2], devUnit.UnitID)
		}
		if g := r[4]; g != "" && guides[g] != r[2] {
			t.Errorf("line %d: %q is no active guide of %s in the demo org chart", line, g, r[2])
		}
	}
}
