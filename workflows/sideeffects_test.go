package workflows

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"

	"github.com/stegvis/stegvis/activities"
)

// The plan of a jobbgaranti journey referred Monday 2 March 2026 (worked out by hand in
// TestPlanReminderFiresBeforeTheDeadlineAndEscalationsAfterIt): what must be written
// whatever happens to the side effects.
var planNotices = []string{
	"reminder@2026-03-06T08:00",
	"due@2026-03-09T08:00",
	"escalation-1:team_lead@2026-03-10T08:00",
	"escalation-2:unit_manager@2026-03-12T08:00",
}

func TestAnEscalationThatCannotBeDeliveredNeverHoldsBackTheNextLevel(t *testing.T) {
	start := stockholm("2026-03-02T09:00:00")
	h := newHarness(t, start)
	var mu sync.Mutex
	attempts := map[string]int{}
	// The mail server is down for good: every attempt fails, as a refused connection.
	h.env.OnActivity(activities.DeliverNotificationName, mock.Anything, mock.Anything).Return(func(_ context.Context, id string) error {
		mu.Lock()
		attempts[id]++
		mu.Unlock()
		return errors.New("dial tcp 127.0.0.1:25: connect: connection refused")
	})
	var gaveUp []activities.GiveUpInput
	h.env.OnActivity(activities.GiveUpDeliveryName, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.GiveUpInput) error {
		mu.Lock()
		gaveUp = append(gaveUp, in)
		mu.Unlock()
		return nil
	})
	h.at(start, "2026-03-20T12:00:00", h.env.CancelWorkflow)
	h.run(t, input("jobbgaranti", start, "g-anna"))

	equal(t, h.store.kindsFor("plan"), planNotices)
	mu.Lock()
	defer mu.Unlock()
	// Each of the five escalations (two of the first meeting, one of the mapping, two of
	// the plan) was tried again and again, then given up and recorded. (The test
	// environment ends retries after 10 attempts; a server only at the 24-hour limit.)
	if len(attempts) != 5 || len(gaveUp) != 5 {
		t.Fatalf("deliveries tried %v, given up %v; want five escalations tried and given up", attempts, gaveUp)
	}
	for id, n := range attempts {
		if n < 2 {
			t.Errorf("%s tried %d times; a transient failure is retried", id, n)
		}
	}
	for _, g := range gaveUp {
		if g.After <= 0 {
			t.Errorf("gave up %s after %s; it says how long it tried", g.ID, g.After)
		}
	}
}

func TestAPermanentDeliveryFailureIsNotRetried(t *testing.T) {
	start := stockholm("2026-03-02T09:00:00")
	h := newHarness(t, start)
	var mu sync.Mutex
	attempts := 0
	h.env.OnActivity(activities.DeliverNotificationName, mock.Anything, mock.Anything).Return(func(context.Context, string) error {
		mu.Lock()
		attempts++
		mu.Unlock()
		return temporal.NewNonRetryableApplicationError("email: SMTP 550 (permanent rejection)", activities.ErrTypeDeliveryPermanent, nil)
	})
	h.at(start, "2026-03-20T12:00:00", h.env.CancelWorkflow)
	h.run(t, input("jobbgaranti", start, "g-anna"))

	equal(t, h.store.kindsFor("plan"), planNotices)
	if attempts != 5 {
		t.Fatalf("%d delivery attempts, want one per escalation (five)", attempts)
	}
}

func TestAReadModelThatIsDownNeverHoldsBackNotices(t *testing.T) {
	start := stockholm("2026-03-02T09:00:00")
	h := newHarness(t, start)
	back := stockholm("2026-03-11T00:00:00") // down from the start until after the first escalation
	failed := 0
	h.env.OnActivity(activities.RecordJourneyEventsName, mock.Anything, mock.Anything).Return(func(ctx context.Context, in activities.JourneyEvents) error {
		if h.env.Now().Before(back) {
			failed++
			return errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")
		}
		return h.journal.RecordJourneyEvents(ctx, in)
	})
	h.at(start, "2026-03-20T12:00:00", h.env.CancelWorkflow)
	h.run(t, input("jobbgaranti", start, "g-anna"))

	equal(t, h.store.kindsFor("plan"), planNotices)
	if failed == 0 {
		t.Fatal("the read model never failed; the test proves nothing")
	}
	// Once it is back, every event queued meanwhile is written, in order, none lost.
	h.journal.mu.Lock()
	defer h.journal.mu.Unlock()
	events := h.journal.events["p-1001"]
	if len(events) < 5 {
		t.Fatalf("%d events written after the outage, want the referral and the four notices at least", len(events))
	}
	for i, e := range events {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d: %+v", i, e.Seq, events)
		}
	}
}

func TestAReadModelWriteThatCanNeverSucceedIsDroppedAndTheJourneyGoesOn(t *testing.T) {
	start := stockholm("2026-03-02T09:00:00")
	h := newHarness(t, start)
	refused := 0
	h.env.OnActivity(activities.RecordJourneyEventsName, mock.Anything, mock.Anything).Return(func(ctx context.Context, in activities.JourneyEvents) error {
		// The referral's event cannot be written, even cleaned (the activity has recorded that).
		if in.Events[0].Seq == 1 {
			refused++
			return temporal.NewNonRetryableApplicationError("PostgreSQL refused the events", activities.ErrTypeJournalPermanent, nil)
		}
		return h.journal.RecordJourneyEvents(ctx, in)
	})
	h.at(start, "2026-03-20T12:00:00", h.env.CancelWorkflow)
	h.run(t, input("jobbgaranti", start, "g-anna"))

	equal(t, h.store.kindsFor("plan"), planNotices)
	if refused != 1 {
		t.Fatalf("the refused batch was tried %d times, want once (it is not retried)", refused)
	}
	h.journal.mu.Lock()
	defer h.journal.mu.Unlock()
	events := h.journal.events["p-1001"]
	if len(events) == 0 || events[0].Seq == 1 {
		t.Fatalf("later events should be written and the refused one dropped: %+v", events)
	}
}
