package calendar

import (
	"testing"
	"time"
)

func day(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02", s, Stockholm)
	if err != nil {
		panic(err)
	}
	return t
}

func TestAddWorkdaysSkipsWeekendsHolidaysAndEves(t *testing.T) {
	c := Swedish()
	tests := []struct {
		name string
		from string
		n    int
		want string
	}{
		{"plain week", "2026-03-02", 5, "2026-03-09"},
		{"over a weekend", "2026-03-05", 2, "2026-03-09"},
		{"from a Saturday the Saturday is not counted", "2026-03-07", 1, "2026-03-09"},
		{"Easter: Good Friday and Easter Monday", "2026-04-01", 5, "2026-04-10"},
		{"Ascension Day", "2026-05-12", 3, "2026-05-18"},
		{"Midsummer Eve counts as a day off", "2026-06-15", 5, "2026-06-23"},
		{"National Day on a Saturday changes nothing", "2026-06-04", 2, "2026-06-08"},
		{"Christmas and New Year", "2026-12-22", 5, "2027-01-04"},
		{"backwards over a weekend", "2026-03-09", -1, "2026-03-06"},
		{"backwards over Easter", "2026-04-07", -1, "2026-04-02"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.AddWorkdays(day(tt.from), tt.n)
			if got.Format("2006-01-02") != tt.want {
				t.Fatalf("AddWorkdays(%s, %d) = %s, want %s", tt.from, tt.n, got.Format("2006-01-02"), tt.want)
			}
		})
	}
}

func TestEvesAreNotWorkdays(t *testing.T) {
	c := Swedish()
	for _, d := range []string{"2026-06-19", "2026-12-24", "2026-12-31"} {
		if c.IsWorkday(day(d)) {
			t.Errorf("%s (%s) counted as a working day", d, c.HolidayName(day(d)))
		}
	}
	if !c.IsWorkday(day("2026-06-18")) {
		t.Error("the Thursday before midsummer must be a working day")
	}
}

func TestDayArithmeticIsDSTSafe(t *testing.T) {
	// Summer time starts on 2026-03-29 and ends on 2026-10-25 in Stockholm: a naive
	// 24h step would land at 01:00 or 23:00 and on the wrong day.
	spring := AddDays(day("2026-03-28"), 2)
	if spring.Format(time.RFC3339) != "2026-03-30T00:00:00+02:00" {
		t.Fatalf("spring: got %s", spring.Format(time.RFC3339))
	}
	autumn := EndOfDay(day("2026-10-25"))
	if autumn.Format(time.RFC3339) != "2026-10-26T00:00:00+01:00" {
		t.Fatalf("autumn: got %s", autumn.Format(time.RFC3339))
	}
	if got := Date(time.Date(2026, 10, 24, 22, 30, 0, 0, time.UTC)); got.Format("2006-01-02") != "2026-10-25" {
		t.Fatalf("a UTC evening is the next Stockholm day: got %s", got.Format("2006-01-02"))
	}
}
