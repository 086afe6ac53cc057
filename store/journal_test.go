package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stegvis/stegvis/activities"
	"github.com/stegvis/stegvis/store"
	"github.com/stegvis/stegvis/store/storetest"
)

func snapshot(phase string, referred time.Time, deadlines ...activities.DeadlineSnapshot) activities.JourneySnapshot {
	return activities.JourneySnapshot{Unit: "arbetsmarknad", ProgramID: "jobbgaranti", ProgramVersion: 1, GuideID: "g-anna",
		Phase: phase, ReferredAt: referred, Deadlines: deadlines}
}

func plan(status string) activities.DeadlineSnapshot {
	return activities.DeadlineSnapshot{ID: "plan", Kind: "plan", DueDate: "2026-03-09", DueAt: time.Date(2026, 3, 9, 23, 0, 0, 0, time.UTC), Status: status}
}

func count(t *testing.T, st *store.Store, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := st.Pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestARetriedEventBatchIsWrittenOnce(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	in := activities.JourneyEvents{ParticipantID: "p-1", JourneyID: "run-1", Snapshot: snapshot("planning", time.Now(), plan("open")),
		Events: []activities.JourneyEvent{{Seq: 1, At: time.Now(), Kind: "referred"}, {Seq: 2, At: time.Now(), Kind: "meeting_held"}}}
	for range 2 {
		if err := st.RecordJourneyEvents(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(t, st, `SELECT count(*) FROM journey_events WHERE participant_id = 'p-1'`); n != 2 {
		t.Fatalf("%d events, want 2", n)
	}
	if n := count(t, st, `SELECT count(*) FROM deadlines WHERE participant_id = 'p-1'`); n != 1 {
		t.Fatalf("%d deadlines, want 1", n)
	}
}

func TestALateOlderSnapshotDoesNotOverwriteANewerOne(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	ref := time.Now().Add(-time.Hour)
	newer := activities.JourneyEvents{ParticipantID: "p-2", JourneyID: "run-1", Snapshot: snapshot("active", ref, plan("met")),
		Events: []activities.JourneyEvent{{Seq: 5, At: time.Now(), Kind: "plan_signed"}}}
	older := activities.JourneyEvents{ParticipantID: "p-2", JourneyID: "run-1", Snapshot: snapshot("planning", ref, plan("open")),
		Events: []activities.JourneyEvent{{Seq: 4, At: time.Now(), Kind: "meeting_held"}}}
	if err := st.RecordJourneyEvents(ctx, newer); err != nil {
		t.Fatal(err)
	}
	if err := st.RecordJourneyEvents(ctx, older); err != nil {
		t.Fatal(err)
	}
	if n := count(t, st, `SELECT count(*) FROM participants WHERE participant_id = 'p-2' AND phase = 'active' AND seq = 5`); n != 1 {
		t.Fatal("the older snapshot overwrote the newer one")
	}
	// A re-entry (a new journey with a later referral) replaces the ended one.
	reentry := activities.JourneyEvents{ParticipantID: "p-2", JourneyID: "run-0", Snapshot: snapshot("planning", time.Now(), plan("open")),
		Events: []activities.JourneyEvent{{Seq: 1, At: time.Now(), Kind: "referred"}}}
	if err := st.RecordJourneyEvents(ctx, reentry); err != nil {
		t.Fatal(err)
	}
	if n := count(t, st, `SELECT count(*) FROM participants WHERE participant_id = 'p-2' AND journey_id = 'run-0'`); n != 1 {
		t.Fatal("the re-entry did not replace the ended journey")
	}
	if n := count(t, st, `SELECT count(*) FROM journey_events WHERE participant_id = 'p-2'`); n != 3 {
		t.Fatalf("the event table keeps every event of both journeys: %d", n)
	}
}
