package program

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stegvis/stegvis/calendar"
)

func TestParseSpanReadsTheProgrammeForms(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"5 workdays", "5 workdays"},
		{"1 workday", "1 workday"},
		{"1 month", "1 month"},
		{"10 days", "10 days"},
		{"2 weeks", "2 weeks"},
		{"3 months", "3 months"},
		{"90s", "1m30s"},
	}
	for _, tt := range tests {
		sp, err := ParseSpan(tt.in)
		if err != nil {
			t.Fatalf("ParseSpan(%q): %v", tt.in, err)
		}
		if sp.String() != tt.want {
			t.Errorf("ParseSpan(%q) = %s, want %s", tt.in, sp, tt.want)
		}
	}
	for _, bad := range []string{"", "five workdays", "5 fortnights", "-3 days", "soon"} {
		if _, err := ParseSpan(bad); err == nil {
			t.Errorf("ParseSpan(%q) accepted a bad duration", bad)
		}
	}
}

func TestMonthsClampToTheEndOfTheMonth(t *testing.T) {
	jan31 := time.Date(2027, 1, 31, 10, 0, 0, 0, calendar.Stockholm)
	got := MustSpan("1 month").AddDate(calendar.Swedish(), jan31, 1)
	if got.Format(time.DateOnly) != "2027-02-28" {
		t.Fatalf("got %s", got.Format(time.DateOnly))
	}
}

func TestJobbgarantiPlanIsDueFiveWorkdaysAfterReferral(t *testing.T) {
	p, _ := Lookup("jobbgaranti")
	// Referred on Wednesday before Easter 2026: Good Friday and Easter Monday do not count.
	referred := time.Date(2026, 4, 1, 9, 30, 0, 0, calendar.Stockholm)
	s := p.Deadlines.Plan.Schedule(calendar.Swedish(), referred)
	if s.DueDate != "2026-04-10" {
		t.Fatalf("due %s, want 2026-04-10", s.DueDate)
	}
	if want := "2026-04-11T00:00:00+02:00"; s.DueAt.Format(time.RFC3339) != want {
		t.Fatalf("dueAt %s, want %s", s.DueAt.Format(time.RFC3339), want)
	}
	want := []struct {
		kind NoticeKind
		at   string
	}{
		{NoticeReminder, "2026-04-09T08:00:00+02:00"},
		{NoticeDue, "2026-04-10T08:00:00+02:00"},
		{NoticeEscalation, "2026-04-13T08:00:00+02:00"},
		{NoticeEscalation, "2026-04-15T08:00:00+02:00"},
	}
	if len(s.Notices) != len(want) {
		t.Fatalf("got %d notices, want %d", len(s.Notices), len(want))
	}
	for i, w := range want {
		if s.Notices[i].Kind != w.kind || s.Notices[i].At.Format(time.RFC3339) != w.at {
			t.Errorf("notice %d: got %s at %s, want %s at %s", i, s.Notices[i].Kind, s.Notices[i].At.Format(time.RFC3339), w.kind, w.at)
		}
	}
}

func TestExactSpansCountToTheSecond(t *testing.T) {
	p, _ := Lookup("demo")
	start := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	s := p.Deadlines.Plan.Schedule(calendar.Swedish(), start)
	if !s.DueAt.Equal(start.Add(3 * time.Minute)) {
		t.Fatalf("dueAt %s", s.DueAt)
	}
	if !s.Notices[0].At.Equal(start.Add(2*time.Minute)) || !s.Notices[len(s.Notices)-1].At.Equal(start.Add(5*time.Minute)) {
		t.Fatalf("notices %+v", s.Notices)
	}
}

func TestSpanRoundTripsThroughJSON(t *testing.T) {
	p, _ := Lookup("jobbgaranti")
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back Program
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Deadlines.Plan.Within != p.Deadlines.Plan.Within || back.Deadlines.Plan.Escalations[1].After != p.Deadlines.Plan.Escalations[1].After {
		t.Fatalf("round trip changed the programme: %s", b)
	}
}
