package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stegvis/stegvis/activities"
	"github.com/stegvis/stegvis/program"
	"github.com/stegvis/stegvis/store"
	"github.com/stegvis/stegvis/store/storetest"
)

func TestADeliveryFailureIsRecordedOncePerChannelUntilHandled(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	n := activities.Notification{ID: "run-1/plan/escalation-1", ParticipantID: "p-1", Unit: "arbetsmarknad", DeadlineID: "plan",
		DeadlineKind: "plan", Kind: program.NoticeEscalation, Level: 1, RecipientRole: program.RoleTeamLead, RecipientID: "tl-bo", DueAt: time.Now(), PlannedAt: time.Now()}
	if _, err := st.InsertNotification(ctx, n); err != nil {
		t.Fatal(err)
	}
	var number int64
	if err := st.Pool.QueryRow(ctx, `SELECT number FROM notifications WHERE id = $1`, n.ID).Scan(&number); err != nil {
		t.Fatal(err)
	}
	if _, err := st.MarkDeliveryHandled(ctx, number, "admin-eva"); !errors.Is(err, store.ErrNoDeliveryFailure) {
		t.Fatalf("handling a notification that has not failed: %v", err)
	}
	// One written without a recipient reached nobody: it can be marked handled, once
	// someone has followed it up by hand.
	nobody := n
	nobody.ID, nobody.RecipientID = "run-1/plan/escalation-2", ""
	if _, err := st.InsertNotification(ctx, nobody); err != nil {
		t.Fatal(err)
	}
	var nobodyNumber int64
	if err := st.Pool.QueryRow(ctx, `SELECT number FROM notifications WHERE id = $1`, nobody.ID).Scan(&nobodyNumber); err != nil {
		t.Fatal(err)
	}
	if it, err := st.MarkDeliveryHandled(ctx, nobodyNumber, "admin-eva"); err != nil || it.DeliveryHandledBy != "admin-eva" || it.DeliveryFailed {
		t.Fatalf("handling a notification without a recipient: %+v %v", it, err)
	}
	// A retried activity records the same reason again: it stays once.
	for _, reason := range []string{"email: SMTP 550 (permanent rejection)", "email: SMTP 550 (permanent rejection)", "webhook: the webhook answered 404"} {
		if err := st.MarkDeliveryFailed(ctx, n.ID, reason); err != nil {
			t.Fatal(err)
		}
	}
	d, err := st.DeliveryOf(ctx, n.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.DeliveryFailure != "email: SMTP 550 (permanent rejection); webhook: the webhook answered 404" {
		t.Fatalf("recorded failure %q", d.DeliveryFailure)
	}
	it, err := st.MarkDeliveryHandled(ctx, number, "admin-eva")
	if err != nil || !it.DeliveryFailed || it.DeliveryHandledBy != "admin-eva" || it.DeliveryHandledAt == nil || it.RecipientID != "tl-bo" {
		t.Fatalf("mark handled: %+v %v", it, err)
	}
	again, err := st.MarkDeliveryHandled(ctx, number, "admin-olle")
	if err != nil || again.DeliveryHandledBy != "admin-eva" || !again.DeliveryHandledAt.Equal(*it.DeliveryHandledAt) {
		t.Fatalf("marking again should keep the first: %+v %v", again, err)
	}
	if _, err := st.MarkDeliveryHandled(ctx, number+1000, "admin-eva"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown notification: %v", err)
	}
}

func TestRepeatedJournalWriteFailuresOfAJourneyExtendOneRow(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	reason := "PostgreSQL refused the events' text (SQLSTATE 22021); written with the text cleaned"
	for _, f := range []activities.JournalWriteFailure{
		{ParticipantID: "p-1", JourneyID: "run-1", FirstSeq: 1, LastSeq: 3, Reason: reason},
		{ParticipantID: "p-1", JourneyID: "run-1", FirstSeq: 4, LastSeq: 4, Reason: reason},
		{ParticipantID: "p-1", JourneyID: "run-1", Reason: "notification run-1/plan/reminder: PostgreSQL refused its text (SQLSTATE 22021); written with the text cleaned"},
		{ParticipantID: "p-2", JourneyID: "run-2", FirstSeq: 1, LastSeq: 1, Reason: reason},
	} {
		if err := st.RecordJournalWriteFailure(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(t, st, `SELECT count(*) FROM journal_write_failures`); n != 3 {
		t.Fatalf("%d rows, want 3 (p-1's events, p-1's notification, p-2's events)", n)
	}
	if n := count(t, st, `SELECT count(*) FROM journal_write_failures WHERE journey_id = 'run-1' AND first_seq = 1 AND last_seq = 4 AND resolved_at IS NULL`); n != 1 {
		t.Fatal("p-1's event failures should be one open row for events 1–4")
	}
	if n := count(t, st, `SELECT count(*) FROM journal_write_failures WHERE journey_id = 'run-1' AND first_seq IS NULL`); n != 1 {
		t.Fatal("the notification's failure should have no event range")
	}
}
