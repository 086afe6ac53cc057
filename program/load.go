package program

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/stegvis/stegvis/textcheck"
)

//go:embed programs/*.yaml
var embedded embed.FS

// Catalog is the set of programmes a process knows: the ones shipped in the binary,
// replaced or joined by the files of a configured directory.
type Catalog struct {
	byID map[string]Program
	// origin says where each programme was read from, for messages.
	origin map[string]string
}

// Lookup returns the programme with the given id.
func (c *Catalog) Lookup(id string) (Program, bool) {
	p, ok := c.byID[id]
	return p, ok
}

// IDs lists the programme ids, sorted.
func (c *Catalog) IDs() []string {
	ids := make([]string, 0, len(c.byID))
	for id := range c.byID {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// All returns every programme, sorted by id.
func (c *Catalog) All() []Program {
	out := make([]Program, 0, len(c.byID))
	for _, id := range c.IDs() {
		out = append(out, c.byID[id])
	}
	return out
}

// Origin is the file a programme came from ("embedded:jobbgaranti.yaml" for shipped ones).
func (c *Catalog) Origin(id string) string { return c.origin[id] }

// UnknownError explains which programmes exist.
func (c *Catalog) UnknownError(id string) error {
	return fmt.Errorf("unknown programme %q: use one of %s", id, strings.Join(c.IDs(), ", "))
}

var defaultCatalog = mustLoadEmbedded()

// Default returns the programmes shipped in the binary.
func Default() *Catalog { return defaultCatalog }

func mustLoadEmbedded() *Catalog {
	c, err := Load("")
	if err != nil {
		panic(err) // a shipped file is broken; TestShippedProgrammesLoad says which
	}
	return c
}

// Load reads the shipped programmes and then every *.yaml file in dir (if dir is not
// empty). A file in dir whose id matches a shipped programme replaces it. Every file is
// validated; the error lists each problem on its own line as "file: field: what to do".
func Load(dir string) (*Catalog, error) {
	c := &Catalog{byID: map[string]Program{}, origin: map[string]string{}}
	var problems []string
	add := func(origin string, data []byte) {
		p, errs := parseProgram(origin, data)
		if len(errs) > 0 {
			problems = append(problems, errs...)
			return
		}
		if prev, ok := c.origin[p.ID]; ok && !strings.HasPrefix(prev, "embedded:") {
			problems = append(problems, fmt.Sprintf("%s: id: %q is also defined in %s; give each programme one file", origin, p.ID, prev))
			return
		}
		c.byID[p.ID] = p
		c.origin[p.ID] = origin
	}
	shipped, _ := fs.Glob(embedded, "programs/*.yaml")
	for _, name := range shipped {
		b, _ := embedded.ReadFile(name)
		add("embedded:"+filepath.Base(name), b)
	}
	if dir != "" {
		files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
		if err != nil {
			return nil, fmt.Errorf("programmes directory %s: %w", dir, err)
		}
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("programmes directory %s does not exist: create it or set PROGRAMS_DIR to the directory that holds the programme files", dir)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: cannot be read: %v", f, err))
				continue
			}
			add(f, b)
		}
	}
	if len(problems) > 0 {
		return nil, errors.New("invalid programme files:\n  " + strings.Join(problems, "\n  "))
	}
	return c, nil
}

// The shape of a programme file. Spans are strings here so that a bad one can be
// reported with its field's path.
type fileProgram struct {
	ID         string          `yaml:"id"`
	Version    int             `yaml:"version"`
	Name       string          `yaml:"name"`
	Source     string          `yaml:"source"`
	Deadlines  *fileDeadlines  `yaml:"deadlines"`
	Steps      []fileStep      `yaml:"steps"`
	Pause      *filePause      `yaml:"pause"`
	Attendance *fileAttendance `yaml:"attendance"`
}

type fileDeadlines struct {
	Guide         *fileRule `yaml:"guide"`
	FirstMeeting  *fileRule `yaml:"firstMeeting"`
	Mapping       *fileRule `yaml:"mapping"`
	Plan          *fileRule `yaml:"plan"`
	DeepenedPlan  *fileRule `yaml:"deepenedPlan"`
	FirstFollowUp *fileRule `yaml:"firstFollowUp"`
	Review        *fileRule `yaml:"review"`
	Reschedule    *fileRule `yaml:"reschedule"`
	Evaluation    *fileRule `yaml:"evaluation"`
}

type fileRule struct {
	Within       string           `yaml:"within"`
	Earliest     string           `yaml:"earliest"`
	RemindBefore string           `yaml:"remindBefore"`
	Escalations  []fileEscalation `yaml:"escalations"`
}

type fileEscalation struct {
	After string `yaml:"after"`
	To    string `yaml:"to"`
}

type fileStep struct {
	Step          int    `yaml:"step"`
	By            string `yaml:"by"`
	TargetPercent int    `yaml:"targetPercent"`
}

type filePause struct {
	MaxLength string `yaml:"maxLength"`
}

type fileAttendance struct {
	NotifyCaseWorkerAfterNoShows int `yaml:"notifyCaseWorkerAfterNoShows"`
}

// fieldsOf names the keys each part of a file may have, for "unknown field" messages.
var fieldsOf = map[string]string{
	"fileProgram":    "id, version, name, source, deadlines, steps, pause, attendance",
	"fileDeadlines":  "guide, firstMeeting, mapping, plan, deepenedPlan, firstFollowUp, review, reschedule, evaluation",
	"fileRule":       "within, earliest (review only), remindBefore, escalations",
	"fileEscalation": "after, to",
	"fileStep":       "step, by, targetPercent",
	"filePause":      "maxLength",
	"fileAttendance": "notifyCaseWorkerAfterNoShows",
}

var (
	idPattern      = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)
	unknownField   = regexp.MustCompile(`line (\d+): field (\S+) not found in type program\.(\w+)`)
	yamlLineErr    = regexp.MustCompile(`line (\d+): (.*)`)
	escalationRole = map[string]Role{"team_lead": RoleTeamLead, "unit_manager": RoleUnitManager}
)

type reporter func(field, format string, args ...any)

func parseProgram(origin string, data []byte) (Program, []string) {
	var f fileProgram
	// The programme's name reaches every journey and the read model: a control character
	// or broken UTF-8 there would fail each write, so the file is refused instead.
	if p := textcheck.Check(string(data), textcheck.MultiLine); p != nil && p.Reason == textcheck.ReasonInvalidUTF8 {
		return Program{}, []string{origin + ": the file " + p.Message}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return Program{}, []string{origin + ": the file is empty; write a programme (see program/programs/jobbgaranti.yaml)"}
		}
		return Program{}, yamlProblems(origin, err)
	}
	var problems []string
	bad := func(field, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("%s: %s: %s", origin, field, fmt.Sprintf(format, args...)))
	}
	stem := strings.TrimSuffix(filepath.Base(strings.TrimPrefix(origin, "embedded:")), ".yaml")
	switch {
	case f.ID == "":
		bad("id", "is required: a short name such as %q", stem)
	case !idPattern.MatchString(f.ID):
		bad("id", "%q must be lower-case letters, digits and '-', at most 32", f.ID)
	case f.ID != stem:
		bad("id", "%q differs from the file name; rename the file to %s.yaml or set id: %s", f.ID, f.ID, stem)
	}
	if f.Version < 1 {
		bad("version", "must be 1 or more; raise it whenever the rules change, so running journeys keep the version they started on")
	}
	if strings.TrimSpace(f.Name) == "" {
		bad("name", "is required: the name guides and managers see")
	} else if p := textcheck.Check(f.Name, textcheck.SingleLine); p != nil {
		bad("name", "%s", p.Message)
	}
	if p := textcheck.Check(f.Source, textcheck.MultiLine); p != nil {
		bad("source", "%s", p.Message)
	}
	p := Program{ID: f.ID, Version: f.Version, Name: f.Name, Source: f.Source}
	if f.Deadlines == nil || f.Deadlines.Plan == nil {
		bad("deadlines.plan", "is required: when the signed action plan is due, for example within: 5 workdays")
	} else {
		d := f.Deadlines
		optional := func(name string, r *fileRule) *DeadlineRule {
			if r == nil {
				return nil
			}
			rule := parseRule("deadlines."+name, *r, name == "review", bad)
			return &rule
		}
		p.Deadlines = Deadlines{
			Guide:         optional("guide", d.Guide),
			FirstMeeting:  optional("firstMeeting", d.FirstMeeting),
			Mapping:       optional("mapping", d.Mapping),
			Plan:          *optional("plan", d.Plan),
			DeepenedPlan:  optional("deepenedPlan", d.DeepenedPlan),
			FirstFollowUp: optional("firstFollowUp", d.FirstFollowUp),
			Review:        optional("review", d.Review),
			Reschedule:    optional("reschedule", d.Reschedule),
			Evaluation:    optional("evaluation", d.Evaluation),
		}
	}
	p.Steps = parseSteps(f.Steps, bad)
	if f.Pause != nil && f.Pause.MaxLength != "" {
		if sp, err := ParseSpan(f.Pause.MaxLength); err != nil {
			bad("pause.maxLength", "%v", err)
		} else {
			p.Pause.MaxLength = sp
		}
	}
	if f.Attendance != nil {
		if n := f.Attendance.NotifyCaseWorkerAfterNoShows; n < 0 || n > 10 {
			bad("attendance.notifyCaseWorkerAfterNoShows", "%d: use a number from 1 to 10, or leave it out to never notify", n)
		} else {
			p.Attendance.NotifyCaseWorkerAfterNoShows = n
		}
	}
	return p, problems
}

func parseSteps(steps []fileStep, bad reporter) []Step {
	var out []Step
	var prev Span
	for i, st := range steps {
		field := fmt.Sprintf("steps[%d]", i)
		if st.Step != i+1 {
			bad(field+".step", "is %d; list the steps in order from 1, without gaps", st.Step)
		}
		if st.TargetPercent < 0 || st.TargetPercent > 100 {
			bad(field+".targetPercent", "%d is not a share; use 0 to 100", st.TargetPercent)
		}
		if st.By == "" {
			bad(field+".by", "is required: how long after referral the step should be passed, for example \"3 months\"")
			continue
		}
		by, err := ParseSpan(st.By)
		if err != nil {
			bad(field+".by", "%v", err)
			continue
		}
		if i > 0 && approxDays(by) < approxDays(prev) {
			bad(field+".by", "%s is earlier than step %d's milestone (%s); a later step cannot be due sooner", by, i, prev)
		}
		prev = by
		out = append(out, Step{Step: st.Step, By: by, TargetPercent: st.TargetPercent})
	}
	return out
}

// approxDays orders spans of different units: a working week is five days of seven.
func approxDays(s Span) float64 {
	switch s.Unit {
	case Workdays:
		return float64(s.N) * 7 / 5
	case Days:
		return float64(s.N)
	case Weeks:
		return float64(s.N) * 7
	case Months:
		return float64(s.N) * 30.44
	}
	return s.Duration.Hours() / 24
}

func parseRule(path string, r fileRule, window bool, bad reporter) DeadlineRule {
	var rule DeadlineRule
	span := func(field, s string, required bool) (Span, bool) {
		if s == "" {
			if required {
				bad(field, "is required: write for example \"5 workdays\", \"2 weeks\" or \"90s\"")
			}
			return Span{}, false
		}
		sp, err := ParseSpan(s)
		if err != nil {
			bad(field, "%v", err)
			return Span{}, false
		}
		return sp, true
	}
	var exact, calendarSpans []string
	note := func(field string, sp Span) {
		if sp.IsExact() {
			exact = append(exact, field)
		} else {
			calendarSpans = append(calendarSpans, field)
		}
	}
	if sp, ok := span(path+".within", r.Within, true); ok {
		if sp.N == 0 && sp.Duration == 0 {
			bad(path+".within", "must be longer than zero")
		}
		rule.Within = sp
		note(path+".within", sp)
	}
	if sp, ok := span(path+".earliest", r.Earliest, false); ok {
		switch {
		case !window:
			bad(path+".earliest", "only a review has a window; remove it, or move it to deadlines.review")
		case approxDays(sp) > approxDays(rule.Within):
			bad(path+".earliest", "%s is after within (%s); the window opens before it closes", sp, rule.Within)
		default:
			rule.Earliest = sp
			note(path+".earliest", sp)
		}
	}
	if sp, ok := span(path+".remindBefore", r.RemindBefore, false); ok {
		rule.RemindBefore = sp
		note(path+".remindBefore", sp)
	}
	if len(r.Escalations) > 5 {
		bad(path+".escalations", "has %d levels; at most 5", len(r.Escalations))
	}
	var prev Span
	for i, e := range r.Escalations {
		field := fmt.Sprintf("%s.escalations[%d]", path, i)
		sp, ok := span(field+".after", e.After, true)
		role, known := escalationRole[e.To]
		if !known {
			bad(field+".to", "%q: use team_lead or unit_manager", e.To)
		}
		if !ok {
			continue
		}
		note(field+".after", sp)
		if i > 0 && approxDays(sp) <= approxDays(prev) {
			bad(field+".after", "%s is not later than the level before (%s); each level comes after the one before", sp, prev)
		}
		prev = sp
		rule.Escalations = append(rule.Escalations, Escalation{After: sp, To: role})
	}
	if len(exact) > 0 && len(calendarSpans) > 0 {
		bad(path, "mixes plain durations (%s) with calendar spans (%s); use one kind throughout a rule",
			strings.Join(exact, ", "), strings.Join(calendarSpans, ", "))
	}
	return rule
}

func yamlProblems(origin string, err error) []string {
	var out []string
	for _, line := range strings.Split(err.Error(), "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "yaml: unmarshal errors:"))
		if line == "" {
			continue
		}
		if m := unknownField.FindStringSubmatch(line); m != nil {
			out = append(out, fmt.Sprintf("%s: line %s: unknown field %q; the fields here are %s", origin, m[1], m[2], fieldsOf[m[3]]))
			continue
		}
		if m := yamlLineErr.FindStringSubmatch(line); m != nil {
			out = append(out, fmt.Sprintf("%s: line %s: %s; check the indentation and quoting there", origin, m[1], strings.TrimPrefix(m[2], "yaml: ")))
			continue
		}
		out = append(out, fmt.Sprintf("%s: %s", origin, strings.TrimPrefix(line, "yaml: ")))
	}
	return out
}
