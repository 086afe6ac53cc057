package store_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stegvis/stegvis/activities"
	"github.com/stegvis/stegvis/calendar"
	"github.com/stegvis/stegvis/store"
	"github.com/stegvis/stegvis/store/storetest"
)

func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02T15:04", s, calendar.Stockholm)
	if err != nil {
		panic(err)
	}
	return t
}

func ptrTime(s string) *time.Time { t := at(s); return &t }

func dl(id, kind, due string, met *time.Time, status string) activities.DeadlineSnapshot {
	return activities.DeadlineSnapshot{ID: id, Kind: kind, DueDate: due[:10], DueAt: at(due), MetAt: met, Status: status}
}

// record writes a journey's events: one snapshot per event, in order.
func record(t *testing.T, st *store.Store, participant, journey string, snaps ...activities.JourneySnapshot) {
	t.Helper()
	for i, s := range snaps {
		err := st.RecordJourneyEvents(context.Background(), activities.JourneyEvents{
			ParticipantID: participant, JourneyID: journey, Snapshot: s,
			Events: []activities.JourneyEvent{{Seq: int64(i + 1), At: s.ReferredAt, Kind: "test"}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 0.01 }

// TestReportsMatchAFixtureWorkedOutByHand: six journeys, with a pause that moved a plan
// deadline, a transfer between units and a re-entry after an exit.
func TestReportsMatchAFixtureWorkedOutByHand(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	now := at("2026-06-30T12:00")
	snap := func(unit, referred string, guide string, ds ...activities.DeadlineSnapshot) activities.JourneySnapshot {
		return activities.JourneySnapshot{Unit: unit, ProgramID: "steg", ProgramVersion: 1, GuideID: guide, Phase: "active",
			ReferredAt: at(referred), Deadlines: ds}
	}
	// J1: plan on time, step 1 by its milestone, then an exit into work.
	j1 := snap("A", "2026-03-02T09:00", "g1",
		dl("plan", "plan", "2026-03-10T00:00", ptrTime("2026-03-06T10:00"), "met"),
		dl("step-1", "step", "2026-06-03T00:00", ptrTime("2026-05-20T10:00"), "met"))
	j1exit := j1
	j1exit.ExitedAt, j1exit.ExitReason, j1exit.Phase = ptrTime("2026-06-15T10:00"), "employment_regular", "exited"
	record(t, st, "p-1", "j1", j1, j1exit)
	// J2: the plan was due 17 March; a pause moved it to 24 March; signed 20 March: on time.
	record(t, st, "p-2", "j2", snap("A", "2026-03-10T09:00", "g1",
		dl("plan", "plan", "2026-03-25T00:00", ptrTime("2026-03-20T10:00"), "met"),
		dl("first_follow_up", "first_follow_up", "2026-04-04T00:00", ptrTime("2026-04-03T10:00"), "met"),
		dl("review-1", "review", "2026-05-16T00:00", nil, "open")))
	// J3: referred to A, transferred to B; the plan ran out and is still open.
	j3 := snap("A", "2026-03-15T09:00", "g1", dl("plan", "plan", "2026-03-21T00:00", nil, "open"))
	j3moved := j3
	j3moved.Unit = "B"
	record(t, st, "p-3", "j3", j3, j3moved)
	// J4: p-1 comes back: a new journey, plan overdue.
	record(t, st, "p-1", "j4", snap("A", "2026-06-20T09:00", "g1", dl("plan", "plan", "2026-06-27T00:00", nil, "open")))
	// J5 and J6: referred to B without a guide; J5 got one after 10 days, J6 still waits.
	record(t, st, "p-5", "j5", snap("B", "2026-04-01T09:00", "", dl("guide", "guide", "2026-04-03T00:00", ptrTime("2026-04-11T09:00"), "met")))
	record(t, st, "p-6", "j6", snap("B", "2026-04-05T12:00", "", dl("guide", "guide", "2026-04-08T00:00", nil, "open")))
	year := store.Period{From: at("2026-01-01T00:00"), To: at("2027-01-01T00:00")}

	plan, err := st.PlanTimeliness(ctx, now, year)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.TimelinessRow{
		{Unit: "A", Month: "2026-03", Due: 3, OnTime: 2, Missing: 1, Share: 2.0 / 3},
		{Unit: "A", Month: "2026-06", Due: 1, Missing: 1},
	}
	if len(plan) != len(want) {
		t.Fatalf("plan timeliness: %+v", plan)
	}
	for i, w := range want {
		g := plan[i]
		if g.Unit != w.Unit || g.Month != w.Month || g.Due != w.Due || g.OnTime != w.OnTime || g.Missing != w.Missing || g.Late != w.Late || !near(g.Share, w.Share) {
			t.Errorf("plan row %d: got %+v, want %+v", i, g, w)
		}
	}

	fu, err := st.FollowUpTimeliness(ctx, now, year)
	if err != nil || len(fu) != 2 || fu[0].Month != "2026-04" || fu[0].OnTime != 1 || fu[1].Month != "2026-05" || fu[1].Missing != 1 || fu[1].Share != 0 {
		t.Fatalf("follow-up timeliness: %+v %v", fu, err)
	}

	exits, err := st.Exits(ctx, year)
	if err != nil || len(exits) != 1 || exits[0] != (store.ExitRow{Unit: "A", Month: "2026-06", Reason: "employment_regular", Count: 1}) {
		t.Fatalf("exits: %+v %v", exits, err)
	}

	wait, err := st.WaitingTime(ctx, now, year)
	if err != nil || len(wait) != 1 {
		t.Fatalf("waiting: %+v %v", wait, err)
	}
	// 10 days, and 5 April 12:00 to 30 June 12:00 = 86 days.
	w := wait[0]
	if w.Unit != "B" || w.Participants != 2 || w.StillWaiting != 1 || !near(w.LongestDays, 86) || !near(w.MedianDays, 48) {
		t.Fatalf("waiting time: %+v", w)
	}

	steps, err := st.StepAttainment(ctx, now, year)
	if err != nil || len(steps) != 1 || steps[0].Cohort != "2026-03" || steps[0].Step != 1 || steps[0].PassedBy != 1 || steps[0].Reached != 1 {
		t.Fatalf("steps: %+v %v", steps, err)
	}

	// Only unit B: the transferred journey counts for A in plan timeliness (referral unit).
	onlyB := year
	onlyB.Unit = "B"
	if rows, _ := st.PlanTimeliness(ctx, now, onlyB); len(rows) != 0 {
		t.Fatalf("plan timeliness for B: %+v", rows)
	}
}

// A snapshot without deadlines (JSON null) is counted as none, not a failed report.
func TestReportsSurviveASnapshotWithoutDeadlines(t *testing.T) {
	st, _ := storetest.New(t)
	record(t, st, "nil-dl", "run-1", activities.JourneySnapshot{Unit: "u", ProgramID: "jobbgaranti", ProgramVersion: 1,
		Phase: "planning", ReferredAt: at("2026-03-02T09:00"), Deadlines: nil})
	p := store.Period{From: at("2026-01-01T00:00"), To: at("2027-01-01T00:00")}
	if _, err := st.PlanTimeliness(context.Background(), at("2026-06-01T00:00"), p); err != nil {
		t.Fatalf("plan timeliness: %v", err)
	}
	if _, err := st.WaitingTime(context.Background(), at("2026-06-01T00:00"), p); err != nil {
		t.Fatalf("waiting time: %v", err)
	}
}
