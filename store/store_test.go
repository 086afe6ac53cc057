package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stegvis/stegvis/activities"
	"github.com/stegvis/stegvis/program"
	"github.com/stegvis/stegvis/store"
	"github.com/stegvis/stegvis/store/storetest"
)

func TestOpenCreatesTheDatabaseAndMigrationsAreIdempotent(t *testing.T) {
	url := storetest.URL(t)
	ctx := context.Background()
	for range 2 {
		st, err := store.Open(ctx, url, true)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		v, dirty, err := st.MigrationVersion()
		if err != nil || dirty || v < 1 {
			t.Fatalf("version %d dirty %v err %v", v, dirty, err)
		}
		st.Close()
	}
}

func TestANotificationIsWrittenOnlyOnce(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	n := activities.Notification{
		ID: "run-1/plan/escalation-1", ParticipantID: "p-1", Unit: "arbetsmarknad", DeadlineID: "plan",
		DeadlineKind: "plan", Kind: program.NoticeEscalation, Level: 1, RecipientRole: program.RoleTeamLead,
		DueAt: time.Now(), PlannedAt: time.Now(),
	}
	first, err := st.InsertNotification(ctx, n)
	if err != nil || !first {
		t.Fatalf("first insert: %v %v", first, err)
	}
	again, err := st.InsertNotification(ctx, n)
	if err != nil || again {
		t.Fatalf("a retried activity wrote twice: %v %v", again, err)
	}
	got, err := st.NotificationsFor(ctx, "p-1")
	if err != nil || len(got) != 1 || got[0].RecipientID != "" || got[0].Level != 1 {
		t.Fatalf("got %+v, %v", got, err)
	}
}

func TestUnreachablePostgresFailsFastWithOneLineSayingWhatToSet(t *testing.T) {
	_, err := store.Open(context.Background(), "postgres://postgres@127.0.0.1:1/stegvis?sslmode=disable", true)
	var unreachable *store.UnreachableError
	if !errors.As(err, &unreachable) {
		t.Fatalf("want UnreachableError, got %v", err)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.Contains(msg, "DATABASE_URL") || !strings.Contains(msg, "127.0.0.1:1") {
		t.Fatalf("message: %q", msg)
	}
}

func TestABadURLDoesNotEchoThePassword(t *testing.T) {
	_, err := store.Open(context.Background(), "postgres://u:s3cret@host:notaport/db", true)
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("got %v", err)
	}
}
