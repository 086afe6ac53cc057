// Package calendar counts Swedish working days in Europe/Stockholm time.
//
// Public holidays come from github.com/rickar/cal/v2/se. The eves (midsommarafton,
// julafton, nyårsafton) are not public holidays in law, but municipal offices are closed
// on them and the working-time and holiday acts treat them like Sundays, so stegvis
// counts them as non-working days. A deadline never lands on a day nobody is at work.
//
// Workflow code must not call this package directly: a newer holiday list would change
// the result on replay. Workflows get dates from an activity, whose result is recorded
// in history (see activities.ScheduleDeadline).
package calendar

import (
	"time"
	_ "time/tzdata" // the binary carries its own zone data, so minimal images work

	"github.com/rickar/cal/v2"
	"github.com/rickar/cal/v2/se"
)

// Version names the rules this package applies. It is stored with every computed
// deadline so that a later change can be told apart in a journey's history.
const Version = "se-2026.1"

// Stockholm is the zone every deadline is counted in.
var Stockholm = mustLoad("Europe/Stockholm")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// Calendar answers working-day questions. The zero value is not usable; use Swedish.
type Calendar struct {
	bc *cal.BusinessCalendar
}

// Swedish returns the calendar of Swedish working days: Monday to Friday, without
// public holidays and the three eves.
func Swedish() *Calendar {
	return WithHolidays(se.Holidays...)
}

// WithHolidays returns a Monday-to-Friday calendar with the given days off; tests use
// it to show that a changed holiday list does not move running journeys.
func WithHolidays(h ...*cal.Holiday) *Calendar {
	bc := cal.NewBusinessCalendar()
	bc.AddHoliday(h...)
	return &Calendar{bc: bc}
}

// Date returns local midnight of t's calendar day in Stockholm.
func Date(t time.Time) time.Time {
	y, m, d := t.In(Stockholm).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, Stockholm)
}

// IsWorkday reports whether the Stockholm calendar day of t is a working day.
func (c *Calendar) IsWorkday(t time.Time) bool {
	return c.bc.IsWorkday(Date(t))
}

// HolidayName returns the name of the holiday or eve on t's day, or "".
func (c *Calendar) HolidayName(t time.Time) string {
	_, obs, h := c.bc.IsHoliday(Date(t))
	if !obs || h == nil {
		return ""
	}
	return h.Name
}

// AddWorkdays returns the Stockholm date n working days after (n > 0) or before (n < 0)
// the day of t. The day of t itself is never counted, whether or not it is a working day.
// The result is local midnight; adding days with time.Date keeps it DST-safe.
func (c *Calendar) AddWorkdays(t time.Time, n int) time.Time {
	d := Date(t)
	step := 1
	if n < 0 {
		step, n = -1, -n
	}
	for n > 0 {
		d = time.Date(d.Year(), d.Month(), d.Day()+step, 0, 0, 0, 0, Stockholm)
		if c.bc.IsWorkday(d) {
			n--
		}
	}
	return d
}

// AddDays returns the Stockholm date n calendar days after the day of t.
func AddDays(t time.Time, n int) time.Time {
	d := Date(t)
	return time.Date(d.Year(), d.Month(), d.Day()+n, 0, 0, 0, 0, Stockholm)
}

// EndOfDay returns the instant the Stockholm calendar day of t ends: the next local
// midnight. A deadline "on day D" is met by anything recorded before it.
func EndOfDay(t time.Time) time.Time {
	return AddDays(t, 1)
}

// At returns the instant of the given local clock time on the Stockholm day of t.
func At(t time.Time, hour, minute int) time.Time {
	d := Date(t)
	return time.Date(d.Year(), d.Month(), d.Day(), hour, minute, 0, 0, Stockholm)
}
