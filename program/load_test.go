package program

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestShippedProgrammesLoad(t *testing.T) {
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.IDs(), ","); got != "demo,jobbgaranti,steg" {
		t.Fatalf("shipped programmes: %s", got)
	}
	j, _ := c.Lookup("jobbgaranti")
	if j.Deadlines.Plan.Within != MustSpan("5 workdays") || len(j.Deadlines.Plan.Escalations) != 2 || j.Deadlines.Plan.Escalations[1].To != RoleUnitManager {
		t.Fatalf("jobbgaranti: %+v", j.Deadlines.Plan)
	}
	s, _ := c.Lookup("steg")
	if s.Deadlines.Plan.Within != MustSpan("10 workdays") || len(s.Steps) != 5 || s.Deadlines.Evaluation == nil {
		t.Fatalf("steg: %+v", s)
	}
	var targets []int
	for _, st := range s.Steps {
		targets = append(targets, st.TargetPercent)
	}
	if fmt.Sprint(targets) != "[75 60 35 10 10]" || s.Steps[4].By != MustSpan("12 months") {
		t.Fatalf("steg steps: %+v", s.Steps)
	}
	if r := j.Deadlines.Review; r == nil || r.Earliest != MustSpan("4 weeks") || r.Within != MustSpan("6 weeks") {
		t.Fatalf("jobbgaranti reviews every 4–6 weeks: %+v", r)
	}
	if j.Deadlines.DeepenedPlan == nil || j.Deadlines.DeepenedPlan.Within != MustSpan("4 weeks") {
		t.Fatalf("jobbgaranti deepened plan after 4 weeks: %+v", j.Deadlines.DeepenedPlan)
	}
}

func write(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

const good = `id: kommun
version: 2
name: Kommunens jobbspår
deadlines:
  plan:
    within: 7 workdays
    remindBefore: 2 workdays
    escalations:
      - { after: 1 workday, to: team_lead }
`

func TestADirectoryAddsAndReplacesProgrammes(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "kommun.yaml", good)
	write(t, dir, "steg.yaml", strings.NewReplacer("kommun", "steg", "version: 2", "version: 3").Replace(good))
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	k, ok := c.Lookup("kommun")
	if !ok || k.Version != 2 || k.Deadlines.Plan.Within != MustSpan("7 workdays") {
		t.Fatalf("kommun: %+v", k)
	}
	s, _ := c.Lookup("steg")
	if s.Version != 3 || c.Origin("steg") != filepath.Join(dir, "steg.yaml") {
		t.Fatalf("the directory's steg should replace the shipped one: %+v from %s", s, c.Origin("steg"))
	}
	if _, ok := c.Lookup("jobbgaranti"); !ok {
		t.Fatal("shipped programmes remain")
	}
}

func TestEveryProgrammeErrorNamesTheFileTheFieldAndTheFix(t *testing.T) {
	tests := []struct {
		name, file, body string
		want             []string
	}{
		{"bad duration", "kommun.yaml", strings.Replace(good, "7 workdays", "seven workdays", 1),
			[]string{"kommun.yaml: deadlines.plan.within:", `"5 workdays"`}},
		{"unknown unit", "kommun.yaml", strings.Replace(good, "7 workdays", "7 fortnights", 1),
			[]string{"kommun.yaml: deadlines.plan.within:", "use workdays, days, weeks or months"}},
		{"misspelt field", "kommun.yaml", strings.Replace(good, "remindBefore", "remindbefore", 1),
			[]string{"kommun.yaml: line 7:", `unknown field "remindbefore"`, "remindBefore, escalations"}},
		{"unknown role", "kommun.yaml", strings.Replace(good, "team_lead", "boss", 1),
			[]string{"kommun.yaml: deadlines.plan.escalations[0].to:", "use team_lead or unit_manager"}},
		{"id and file name differ", "other.yaml", good,
			[]string{"other.yaml: id:", "rename the file to kommun.yaml or set id: other"}},
		{"no version", "kommun.yaml", strings.Replace(good, "version: 2\n", "", 1),
			[]string{"kommun.yaml: version:", "raise it whenever the rules change"}},
		{"no plan", "kommun.yaml", "id: kommun\nversion: 1\nname: K\n",
			[]string{"kommun.yaml: deadlines.plan:", "is required"}},
		{"ladder out of order", "kommun.yaml", strings.Replace(good, "      - { after: 1 workday, to: team_lead }\n",
			"      - { after: 3 workdays, to: team_lead }\n      - { after: 2 workdays, to: unit_manager }\n", 1),
			[]string{"kommun.yaml: deadlines.plan.escalations[1].after:", "not later than the level before"}},
		{"mixed kinds", "kommun.yaml", strings.Replace(good, "2 workdays", "90s", 1),
			[]string{"kommun.yaml: deadlines.plan:", "mixes plain durations"}},
		{"window outside a review", "kommun.yaml", strings.Replace(good, "    within: 7 workdays\n", "    within: 7 workdays\n    earliest: 2 workdays\n", 1),
			[]string{"kommun.yaml: deadlines.plan.earliest:", "only a review has a window"}},
		{"review window backwards", "kommun.yaml", good + "  review:\n    earliest: 8 weeks\n    within: 6 weeks\n",
			[]string{"kommun.yaml: deadlines.review.earliest:", "after within"}},
		{"steps out of order", "kommun.yaml", good + "steps:\n  - { step: 1, by: 6 months, targetPercent: 75 }\n  - { step: 3, by: 3 months, targetPercent: 60 }\n",
			[]string{"kommun.yaml: steps[1].step:", "in order from 1", "kommun.yaml: steps[1].by:", "cannot be due sooner"}},
		{"target beyond 100", "kommun.yaml", good + "steps:\n  - { step: 1, by: 3 months, targetPercent: 175 }\n",
			[]string{"kommun.yaml: steps[0].targetPercent:", "use 0 to 100"}},
		{"bad pause length", "kommun.yaml", good + "pause:\n  maxLength: forever\n",
			[]string{"kommun.yaml: pause.maxLength:", "not a duration"}},
		{"broken YAML", "kommun.yaml", "id: kommun\n  version: [\n",
			[]string{"kommun.yaml: line", "check the indentation"}},
		{"empty file", "kommun.yaml", "", []string{"kommun.yaml: the file is empty"}},
		{"NUL in the name", "kommun.yaml", strings.Replace(good, "name: Kommunens jobbspår", `name: "Kommunens\0 jobbspår"`, 1),
			[]string{"kommun.yaml: name:", "control character NUL (U+0000)", "remove it"}},
		{"newline in the name", "kommun.yaml", strings.Replace(good, "name: Kommunens jobbspår", `name: "Kommunens\njobbspår"`, 1),
			[]string{"kommun.yaml: name:", "newline (U+000A)", "one line"}},
		{"C1 control in the source", "kommun.yaml", good + "source: \"SFS 2025:1\\x85\"\n",
			[]string{"kommun.yaml: source:", "U+0085"}},
		{"invalid UTF-8", "kommun.yaml", strings.Replace(good, "jobbspår", "jobbsp\xe5r", 1),
			[]string{"kommun.yaml: the file is not valid UTF-8 (byte 0xE5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, tt.file, tt.body)
			_, err := Load(dir)
			if err == nil {
				t.Fatal("accepted a bad file")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestAMissingProgrammesDirectoryIsNamed(t *testing.T) {
	_, err := Load("/nonexistent/programmes")
	if err == nil || !strings.Contains(err.Error(), "PROGRAMS_DIR") {
		t.Fatalf("got %v", err)
	}
}
