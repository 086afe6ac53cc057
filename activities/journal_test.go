package activities

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

// refusingJournal refuses text with a NUL as PostgreSQL does (22021), or everything
// with refuse, or fails as a server that is down with down.
type refusingJournal struct {
	refuse, down bool
	written      []JourneyEvents
	failures     []JournalWriteFailure
}

func (j *refusingJournal) RecordJourneyEvents(_ context.Context, in JourneyEvents) error {
	if j.down {
		return errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")
	}
	if j.refuse || strings.ContainsRune(in.Snapshot.Unit, 0) || strings.ContainsRune(in.Events[0].Summary, 0) {
		return &pgconn.PgError{Code: "22021", Message: `invalid byte sequence for encoding "UTF8": 0x00`}
	}
	j.written = append(j.written, in)
	return nil
}

func (j *refusingJournal) RecordJournalWriteFailure(_ context.Context, f JournalWriteFailure) error {
	j.failures = append(j.failures, f)
	return nil
}

type countingMetrics struct{ journal map[string]int }

func (m *countingMetrics) NotificationWritten(string, time.Duration) {}
func (m *countingMetrics) DeliverySent(string)                       {}
func (m *countingMetrics) DeliveryFailed(string, string)             {}
func (m *countingMetrics) JournalWriteFailed(class string)           { m.journal[class]++ }

func TestAJournalWriteOfRefusedTextIsCleanedRecordedOrDropped(t *testing.T) {
	batch := JourneyEvents{ParticipantID: "p-1", JourneyID: "run-1",
		Events:   []JourneyEvent{{Seq: 4, Kind: "plan_signed", Summary: "action plan signed: work training\x00x"}, {Seq: 5, Kind: "notice_due"}},
		Snapshot: JourneySnapshot{Unit: "arbetsmarknad", Phase: "active"}}
	tests := []struct {
		name       string
		journal    *refusingJournal
		errType    string // "" no error, "transient", or the permanent type
		written    string // the summary that reached the read model
		failures   int
		permanent  int
		transients int
	}{
		{name: "a NUL is cleaned and the batch written", journal: &refusingJournal{}, written: "action plan signed: work trainingx", failures: 1, permanent: 1},
		{name: "refused even cleaned: permanent, dropped", journal: &refusingJournal{refuse: true}, errType: ErrTypeJournalPermanent, failures: 1, permanent: 1},
		{name: "PostgreSQL down: transient, nothing recorded", journal: &refusingJournal{down: true}, errType: "transient", transients: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &countingMetrics{journal: map[string]int{}}
			a := &Activities{Journal: tt.journal, Metrics: m}
			var env testsuite.WorkflowTestSuite
			ae := env.NewTestActivityEnvironment()
			ae.RegisterActivityWithOptions(a.RecordJourneyEvents, activity.RegisterOptions{Name: RecordJourneyEventsName})
			_, err := ae.ExecuteActivity(RecordJourneyEventsName, batch)
			var app *temporal.ApplicationError
			switch {
			case tt.errType == "" && err != nil:
				t.Fatalf("error %v", err)
			case tt.errType == "transient" && (err == nil || (errors.As(err, &app) && app.NonRetryable())):
				t.Fatalf("want a retryable error, got %v", err)
			case tt.errType != "" && tt.errType != "transient" && (!errors.As(err, &app) || app.Type() != tt.errType || !app.NonRetryable()):
				t.Fatalf("want non-retryable %s, got %v", tt.errType, err)
			}
			if tt.written != "" && (len(tt.journal.written) != 1 || tt.journal.written[0].Events[0].Summary != tt.written) {
				t.Fatalf("written %+v, want the summary %q", tt.journal.written, tt.written)
			}
			if len(tt.journal.failures) != tt.failures {
				t.Fatalf("failures recorded %+v, want %d", tt.journal.failures, tt.failures)
			}
			for _, f := range tt.journal.failures {
				if f.FirstSeq != 4 || f.LastSeq != 5 || !strings.Contains(f.Reason, "SQLSTATE 22021") || strings.Contains(f.Reason, "work training") {
					t.Errorf("failure %+v: want events 4–5, the SQLSTATE and no text of the events", f)
				}
			}
			if m.journal[ClassPermanent] != tt.permanent || m.journal[ClassTransient] != tt.transients {
				t.Errorf("metrics %v, want %d permanent and %d transient", m.journal, tt.permanent, tt.transients)
			}
		})
	}
}

// refusingNotifications refuses a NUL as PostgreSQL does, or everything with refuse.
type refusingNotifications struct {
	refuse  bool
	written []Notification
}

func (s *refusingNotifications) InsertNotification(_ context.Context, n Notification) (bool, error) {
	if s.refuse || strings.ContainsRune(n.Unit, 0) {
		return false, &pgconn.PgError{Code: "22021"}
	}
	s.written = append(s.written, n)
	return true, nil
}

func TestANotificationWithRefusedTextIsWrittenCleanedOrIsPermanent(t *testing.T) {
	n := Notification{ID: "run-1/plan/escalation-1", ParticipantID: "p-1", Unit: "arbets\x00marknad", DeadlineID: "plan",
		DeadlineKind: "plan", Kind: "escalation", Level: 1, RecipientRole: "team_lead"}
	for _, refuse := range []bool{false, true} {
		t.Run(map[bool]string{false: "cleaned and written", true: "refused even cleaned"}[refuse], func(t *testing.T) {
			store := &refusingNotifications{refuse: refuse}
			journal := &refusingJournal{}
			a := &Activities{Notifications: store, Journal: journal}
			var env testsuite.WorkflowTestSuite
			ae := env.NewTestActivityEnvironment()
			ae.RegisterActivityWithOptions(a.RecordNotification, activity.RegisterOptions{Name: RecordNotificationName})
			_, err := ae.ExecuteActivity(RecordNotificationName, n)
			var app *temporal.ApplicationError
			if refuse {
				if !errors.As(err, &app) || app.Type() != ErrTypeNotificationPermanent || !app.NonRetryable() {
					t.Fatalf("want non-retryable %s, got %v", ErrTypeNotificationPermanent, err)
				}
			} else if err != nil || len(store.written) != 1 || store.written[0].Unit != "arbetsmarknad" || store.written[0].ID != n.ID {
				t.Fatalf("want the notification written with its unit cleaned: %v %+v", err, store.written)
			}
			if len(journal.failures) != 1 || journal.failures[0].JourneyID != "run-1" || journal.failures[0].LastSeq != 0 ||
				!strings.Contains(journal.failures[0].Reason, n.ID) || strings.Contains(journal.failures[0].Reason, "marknad") {
				t.Fatalf("failure recorded %+v: want one for journey run-1 naming the notification, without its text", journal.failures)
			}
		})
	}
}
