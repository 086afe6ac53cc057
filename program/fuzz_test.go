package program

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// FuzzParseSpan: ParseSpan never panics, explains every rejection, returns only
// well-formed spans, and what it accepts survives String and JSON unchanged.
func FuzzParseSpan(f *testing.F) {
	for _, s := range []string{
		"5 workdays", "10 days", "2 weeks", "3 months", "90s", "1h30m", "1 workday",
		"1 day", "0 days", " 7 Workdays ", "+3 weeks", "0s", "2562047h47m16.854775807s",
		"", "five days", "-3 days", "10 fortnights", "99999999999999999999 days",
		"-90s", "1h 30m", "5 workdays extra", "3\tmonths", "5 wor\u212Adays",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		sp, err := ParseSpan(in)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("ParseSpan(%q): empty error message", in)
			}
			if sp != (Span{}) {
				t.Fatalf("ParseSpan(%q) = %+v with error %v; want the zero span", in, sp, err)
			}
			return
		}
		switch sp.Unit {
		case Exact:
			if sp.N != 0 || sp.Duration < 0 {
				t.Fatalf("ParseSpan(%q) = %+v: an exact span has N 0 and a duration of 0 or more", in, sp)
			}
		case Workdays, Days, Weeks, Months:
			if sp.N < 0 || sp.Duration != 0 {
				t.Fatalf("ParseSpan(%q) = %+v: a calendar span has N >= 0 and no duration", in, sp)
			}
		default:
			t.Fatalf("ParseSpan(%q) = %+v: unknown unit", in, sp)
		}
		if sp.IsZero() {
			t.Fatalf("ParseSpan(%q) accepted the input but returned the unset span", in)
		}

		// String renders the span the way ParseSpan reads it.
		str := sp.String()
		again, err := ParseSpan(str)
		if err != nil {
			t.Fatalf("ParseSpan(%q) = %+v, but its String %q does not parse: %v", in, sp, str, err)
		}
		if again != sp {
			t.Fatalf("ParseSpan(%q) = %+v, String %q, parsed again %+v", in, sp, str, again)
		}

		// JSON carries the string form.
		b, err := json.Marshal(sp)
		if err != nil {
			t.Fatalf("marshal %+v: %v", sp, err)
		}
		var back Span
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("unmarshal %s (from %q): %v", b, in, err)
		}
		if back != sp {
			t.Fatalf("JSON round trip of %q: %+v became %s became %+v", in, sp, b, back)
		}
	})
}

// FuzzParseProgram: parseProgram never panics; it either reports problems, each one
// line that starts with the file it is about, or returns a programme that honours
// every rule the loader promises.
func FuzzParseProgram(f *testing.F) {
	files, err := filepath.Glob("programs/*.yaml")
	if err != nil || len(files) == 0 {
		f.Fatalf("no shipped programmes to seed from: %v", err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		stem := strings.TrimSuffix(filepath.Base(file), ".yaml")
		s := string(b)
		f.Add(stem, b)
		f.Add(stem, b[:len(b)/2])                                             // truncated
		f.Add(stem, b[:len(b)/3])                                             // truncated elsewhere
		f.Add(stem, []byte(strings.Replace(s, "version: ", "version: x", 1))) // wrong type
		f.Add(stem, []byte(strings.Replace(s, "version:", "verzion:", 1)))    // unknown field
		f.Add(stem, []byte(strings.Replace(s, "within:", "within: [1, 2]\n    x:", 1)))
		f.Add(stem, []byte(s+"\nextra: true\n"))
		f.Add(stem, []byte(s+"\n---\nid: [\n"))
		f.Add("other", b) // id differs from the file name
	}
	f.Add("kommun", []byte(good))
	f.Add("kommun", []byte(good+"steps:\n  - { step: 1, by: 3 months, targetPercent: 75 }\n  - { step: 2, by: 6 months, targetPercent: 60 }\n"))
	f.Add("kommun", []byte(good+"  review:\n    earliest: 4 weeks\n    within: 6 weeks\npause:\n  maxLength: 3 months\nattendance:\n  notifyCaseWorkerAfterNoShows: 3\n"))
	f.Add("kommun", []byte(""))
	f.Add("kommun", []byte("null"))
	f.Add("kommun", []byte("[]"))
	f.Add("kommun", []byte("id: kommun\n  version: [\n"))
	f.Add("kommun", []byte("id: &a kommun\nversion: *a\n"))
	f.Add("kommun", []byte("deadlines: {plan: {within: \"0s\"}}\n"))

	f.Fuzz(func(t *testing.T, stem string, data []byte) {
		origin := "programs/" + stem + ".yaml"
		p, problems := parseProgram(origin, data)
		if len(problems) > 0 {
			for _, pr := range problems {
				rest, ok := strings.CutPrefix(pr, origin+": ")
				if !ok {
					t.Fatalf("problem does not start with the file %q: %q", origin, pr)
				}
				if strings.TrimSpace(rest) == "" {
					t.Fatalf("problem says nothing after the file name: %q", pr)
				}
				if strings.Contains(rest, "\n") && !strings.Contains(origin, "\n") { // messages repeat the file name
					t.Fatalf("problem spans several lines (Load lists one per line): %q", pr)
				}
			}
			return
		}
		checkProgram(t, origin, p)

		// Workflows carry the programme in their input: it must survive JSON.
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("marshal %+v: %v", p, err)
		}
		var back Program
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("unmarshal %s: %v", b, err)
		}
		if !reflect.DeepEqual(back, p) {
			t.Fatalf("JSON round trip changed the programme:\n%+v\n%s\n%+v", p, b, back)
		}
	})
}

// checkProgram fails unless p is what parseProgram promises for a file without problems.
func checkProgram(t *testing.T, origin string, p Program) {
	t.Helper()
	if p.ID == "" || !idPattern.MatchString(p.ID) || !strings.HasSuffix(origin, "/"+p.ID+".yaml") {
		t.Fatalf("accepted id %q from %s", p.ID, origin)
	}
	if p.Version < 1 {
		t.Fatalf("accepted version %d", p.Version)
	}
	if strings.TrimSpace(p.Name) == "" {
		t.Fatalf("accepted an empty name")
	}
	d := p.Deadlines
	rules := map[string]*DeadlineRule{
		"guide": d.Guide, "firstMeeting": d.FirstMeeting, "mapping": d.Mapping, "plan": &d.Plan,
		"deepenedPlan": d.DeepenedPlan, "firstFollowUp": d.FirstFollowUp, "review": d.Review,
		"reschedule": d.Reschedule, "evaluation": d.Evaluation,
	}
	for name, r := range rules {
		if r == nil {
			continue
		}
		if r.Within.IsZero() || (r.Within.N == 0 && r.Within.Duration == 0) {
			t.Fatalf("%s: accepted within %+v", name, r.Within)
		}
		if !r.Earliest.IsZero() && (name != "review" || approxDays(r.Earliest) > approxDays(r.Within)) {
			t.Fatalf("%s: accepted earliest %v with within %v", name, r.Earliest, r.Within)
		}
		if len(r.Escalations) > 5 {
			t.Fatalf("%s: accepted %d escalation levels", name, len(r.Escalations))
		}
		spans := []Span{r.Within}
		if !r.Earliest.IsZero() {
			spans = append(spans, r.Earliest)
		}
		if !r.RemindBefore.IsZero() {
			spans = append(spans, r.RemindBefore)
		}
		for i, e := range r.Escalations {
			if e.To != RoleTeamLead && e.To != RoleUnitManager {
				t.Fatalf("%s: escalation %d goes to %q", name, i, e.To)
			}
			if i > 0 && approxDays(e.After) <= approxDays(r.Escalations[i-1].After) {
				t.Fatalf("%s: escalation %d (%v) is not after the one before (%v)", name, i, e.After, r.Escalations[i-1].After)
			}
			spans = append(spans, e.After)
		}
		for _, s := range spans {
			if s.IsExact() != spans[0].IsExact() {
				t.Fatalf("%s: accepted a rule mixing exact and calendar spans: %+v", name, *r)
			}
		}
	}
	for i, st := range p.Steps {
		if st.Step != i+1 || st.TargetPercent < 0 || st.TargetPercent > 100 || st.By.IsZero() {
			t.Fatalf("accepted step %d: %+v", i, st)
		}
		if i > 0 && approxDays(st.By) < approxDays(p.Steps[i-1].By) {
			t.Fatalf("accepted step %d due before step %d: %+v", i+1, i, p.Steps)
		}
	}
	if n := p.Attendance.NotifyCaseWorkerAfterNoShows; n < 0 || n > 10 {
		t.Fatalf("accepted notifyCaseWorkerAfterNoShows %d", n)
	}
}
