package program

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stegvis/stegvis/calendar"
)

// Unit is what a Span counts.
type Unit string

// The units a programme may use. Exact is a plain Go duration, for demos and tests.
const (
	Workdays Unit = "workdays"
	Days     Unit = "days"
	Weeks    Unit = "weeks"
	Months   Unit = "months"
	Exact    Unit = "exact"
)

// Span is a programme's length of time: "5 workdays", "2 weeks", "3 months", or a
// Go duration such as "90s". Calendar spans land on whole Stockholm days.
//
// In JSON a span is the string ParseSpan reads, so programmes and workflow inputs say
// "5 workdays" rather than a struct.
type Span struct {
	N        int
	Unit     Unit
	Duration time.Duration // only for Exact
}

// IsZero reports whether the span is unset.
func (s Span) IsZero() bool { return s == Span{} }

// MarshalJSON writes the span as its string form; an unset span is "".
func (s Span) MarshalJSON() ([]byte, error) {
	if s.IsZero() {
		return json.Marshal("")
	}
	return json.Marshal(s.String())
}

// UnmarshalJSON reads a span from its string form.
func (s *Span) UnmarshalJSON(b []byte) error {
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		return fmt.Errorf("a duration must be a string such as \"5 workdays\": %w", err)
	}
	if str == "" {
		*s = Span{}
		return nil
	}
	sp, err := ParseSpan(str)
	if err != nil {
		return err
	}
	*s = sp
	return nil
}

// ParseSpan reads "5 workdays", "10 days", "2 weeks", "3 months" (singular or plural,
// also "1 workday"), or a Go duration such as "90s" or "2m30s".
func ParseSpan(s string) (Span, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Span{}, fmt.Errorf("empty duration: write for example \"5 workdays\", \"2 weeks\" or \"90s\"")
	}
	fields := strings.Fields(s)
	if len(fields) == 2 {
		n, err := strconv.Atoi(fields[0])
		if err != nil || n < 0 {
			return Span{}, fmt.Errorf("%q: the count must be a whole number of 0 or more, as in \"5 workdays\"", s)
		}
		u := strings.ToLower(fields[1])
		switch {
		case u == "workday" || u == "workdays":
			return Span{N: n, Unit: Workdays}, nil
		case u == "day" || u == "days":
			return Span{N: n, Unit: Days}, nil
		case u == "week" || u == "weeks":
			return Span{N: n, Unit: Weeks}, nil
		case u == "month" || u == "months":
			return Span{N: n, Unit: Months}, nil
		}
		return Span{}, fmt.Errorf("%q: unknown unit %q; use workdays, days, weeks or months", s, fields[1])
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return Span{}, fmt.Errorf("%q is not a duration: write for example \"5 workdays\", \"2 weeks\", \"3 months\" or \"90s\"", s)
	}
	return Span{Duration: d, Unit: Exact}, nil
}

// MustSpan is ParseSpan for literals in code; it panics on a bad literal.
func MustSpan(s string) Span {
	sp, err := ParseSpan(s)
	if err != nil {
		panic(err)
	}
	return sp
}

// String renders the span the way ParseSpan reads it.
func (s Span) String() string {
	if s.Unit == Exact {
		return s.Duration.String()
	}
	if s.N == 1 {
		return fmt.Sprintf("1 %s", strings.TrimSuffix(string(s.Unit), "s"))
	}
	return fmt.Sprintf("%d %s", s.N, s.Unit)
}

// IsExact reports whether the span is a plain duration rather than calendar days.
func (s Span) IsExact() bool { return s.Unit == Exact }

// AddDate moves the Stockholm day of t forward (sign 1) or back (sign -1) by a calendar
// span and returns local midnight of the resulting day. It must not be called on an
// Exact span.
func (s Span) AddDate(c *calendar.Calendar, t time.Time, sign int) time.Time {
	n := s.N * sign
	switch s.Unit {
	case Workdays:
		return c.AddWorkdays(t, n)
	case Days:
		return calendar.AddDays(t, n)
	case Weeks:
		return calendar.AddDays(t, 7*n)
	case Months:
		// Clamp to the month's last day: a month after 31 January is 28 February, not 3 March.
		d := calendar.Date(t)
		first := time.Date(d.Year(), d.Month()+time.Month(n), 1, 0, 0, 0, 0, calendar.Stockholm)
		last := first.AddDate(0, 1, -1).Day()
		return time.Date(first.Year(), first.Month(), min(d.Day(), last), 0, 0, 0, 0, calendar.Stockholm)
	}
	panic(fmt.Sprintf("program: AddDate on %s span", s.Unit))
}
