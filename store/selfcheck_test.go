package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stegvis/stegvis/activities"
	"github.com/stegvis/stegvis/store"
	"github.com/stegvis/stegvis/store/storetest"
)

// Migration 000013 repeats, guarded, what 000012 adds for delivery and journal write
// failures: applied after it (the order of a fresh database) or on a database where
// the columns and the table already exist, it succeeds, and down and up again work.
func TestMigration13WorksWithOrWithoutWhat12Adds(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, storetest.URL(t), false)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// With migration 000012 in the tree (after the merge of issue 13's branches) it
	// creates them; before, this test does, as 000012 is defined.
	if err := st.MigrateTo(12); err != nil {
		if err := st.MigrateTo(11); err != nil {
			t.Fatal(err)
		}
		for _, sql := range []string{
			`ALTER TABLE notifications ADD COLUMN delivery_failed_at timestamptz, ADD COLUMN delivery_failure text,
				ADD COLUMN delivery_handled_at timestamptz, ADD COLUMN delivery_handled_by text`,
			`CREATE TABLE journal_write_failures (id bigserial primary key, participant_id text not null, journey_id text not null,
				first_seq bigint, last_seq bigint, reason text not null, failed_at timestamptz not null default now(), resolved_at timestamptz)`,
		} {
			if _, err := st.Pool.Exec(ctx, sql); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := st.Migrate(); err != nil {
		t.Fatalf("000013 after the columns and table exist: %v", err)
	}
	if err := st.MigrateSteps(-1); err != nil {
		t.Fatalf("000013 down: %v", err)
	}
	if err := st.Migrate(); err != nil {
		t.Fatalf("000013 up again: %v", err)
	}
	if n := count(t, st, `SELECT count(*) FROM information_schema.columns WHERE table_name = 'journal_write_failures'`); n != 8 {
		t.Fatalf("journal_write_failures has %d columns, want 8", n)
	}
	// A self-check notice is a kind the table accepts now.
	if _, err := st.InsertSelfCheckNotice(ctx, store.SelfCheckNotice{ID: "self-check/x/p/1", Kind: "journey_without_workflow",
		RecipientRole: "admin", Message: "m", FirstSeen: time.Now()}); err != nil {
		t.Fatal(err)
	}
}

// The read model keeps each open deadline's next notice time, and tells a time written
// by a journey that knows it from a row of an older snapshot, which does not.
func TestTheReadModelKeepsTheNextNoticeTime(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	referred := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	next := time.Date(2026, 3, 6, 7, 0, 0, 0, time.UTC)
	d := plan("open")
	d.NextNoticeAt = &next
	s := snapshot("planning", referred, d)
	s.NextNotices = true
	if err := st.RecordJourneyEvents(ctx, activities.JourneyEvents{ParticipantID: "p-next", JourneyID: "j1",
		Events: []activities.JourneyEvent{{Seq: 1, At: referred, Kind: "referred", Summary: "referred"}}, Snapshot: s}); err != nil {
		t.Fatal(err)
	}
	old := snapshot("planning", referred, plan("open")) // written before the read model kept the time
	if err := st.RecordJourneyEvents(ctx, activities.JourneyEvents{ParticipantID: "p-old", JourneyID: "j2",
		Events: []activities.JourneyEvent{{Seq: 1, At: referred, Kind: "referred", Summary: "referred"}}, Snapshot: old}); err != nil {
		t.Fatal(err)
	}
	rows, err := st.OpenDeadlines(ctx, []string{"p-next", "p-old"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].ParticipantID != "p-next" || rows[0].NextNoticeAt == nil || !rows[0].NextNoticeAt.Equal(next) || !rows[0].NextNoticeKnown ||
		rows[1].ParticipantID != "p-old" || rows[1].NextNoticeAt != nil || rows[1].NextNoticeKnown {
		t.Fatalf("open deadlines %+v", rows)
	}
	// A rebuild from the journal gives the same.
	if _, err := st.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	again, err := st.OpenDeadlines(ctx, []string{"p-next", "p-old"})
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 2 || !again[0].NextNoticeAt.Equal(next) || !again[0].NextNoticeKnown || again[1].NextNoticeKnown {
		t.Fatalf("after a rebuild %+v", again)
	}
}
