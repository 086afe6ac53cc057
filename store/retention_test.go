package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stegvis/stegvis/activities"
	"github.com/stegvis/stegvis/store"
	"github.com/stegvis/stegvis/store/storetest"
)

// journeyFor writes a participant's journey as the workflow would: referred, the plan
// signed with its main activity (free text), a programme migration with an
// administrator's reason, and, when exited is set, the exit.
func journeyFor(t *testing.T, st *store.Store, participant, journey string, referred time.Time, exited *time.Time) {
	t.Helper()
	snap := snapshot("active", referred, plan("met"))
	events := []activities.JourneyEvent{
		{Seq: 1, At: referred, Kind: "referred", Summary: "referred to Jobbgaranti in arbetsmarknad"},
		{Seq: 2, At: referred.Add(time.Hour), Kind: "plan_signed", Summary: "action plan signed: truck licence course at Åkeri AB"},
		{Seq: 3, At: referred.Add(2 * time.Hour), Kind: "program_migrated", Summary: "moved from jobbgaranti version 1 to 2 by admin-eva: new rules"},
	}
	if exited != nil {
		snap.Phase, snap.ExitedAt, snap.ExitReason = "exited", exited, "studies"
		events = append(events, activities.JourneyEvent{Seq: 4, At: *exited, Kind: "exited", Summary: "left the programme: studies"})
	}
	if err := st.RecordJourneyEvents(context.Background(), activities.JourneyEvents{
		ParticipantID: participant, JourneyID: journey, Events: events, Snapshot: snap,
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SaveIdentity(context.Background(), store.Identity{ParticipantID: participant, CaseWorkerID: "cw-dina",
		KeyID: "k1", PersonalNumber: []byte("sealed-pnr"), Name: []byte("sealed-name")}); err != nil {
		t.Fatal(err)
	}
}

func ids(cs []store.ErasureCandidate) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ParticipantID
	}
	return out
}

func TestRetentionErasesPersonalDataOfLongExitedParticipantsAndKeepsStatistics(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	now := at("2026-06-30T12:00")
	cutoff := now.AddDate(-2, 0, 0)
	journeyFor(t, st, "p-old", "run-old", at("2023-01-10T09:00"), ptrTime("2023-09-01T10:00"))
	journeyFor(t, st, "p-older", "run-older", at("2022-01-10T09:00"), ptrTime("2022-05-01T10:00"))
	journeyFor(t, st, "p-recent", "run-recent", at("2025-01-10T09:00"), ptrTime("2026-03-01T10:00"))
	journeyFor(t, st, "p-active", "run-active", at("2023-01-10T09:00"), nil)

	due, err := st.DueForErasure(ctx, cutoff, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(due); len(got) != 2 || got[0] != "p-older" || got[1] != "p-old" {
		t.Fatalf("due for erasure: %v, want [p-older p-old] (oldest exit first)", got)
	}
	if !due[0].ExitedAt.Equal(at("2022-05-01T10:00")) {
		t.Fatalf("exitedAt %v", due[0].ExitedAt)
	}
	if one, err := st.DueForErasure(ctx, cutoff, 1); err != nil || len(one) != 1 || one[0].ParticipantID != "p-older" {
		t.Fatalf("limit 1: %v %v", ids(one), err)
	}

	for range 2 { // the second call must change nothing
		for _, c := range due {
			if err := st.ErasePersonalData(ctx, c.ParticipantID, c.ExitedAt); err != nil {
				t.Fatal(err)
			}
		}
	}

	for _, p := range []string{"p-old", "p-older"} {
		id, err := st.IdentityOf(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if id.Name != nil || id.PersonalNumber != nil || id.KeyID != "" || id.ErasedAt == nil {
			t.Fatalf("%s: identity not erased: %+v", p, id)
		}
		if id.CaseWorkerID != "cw-dina" {
			t.Fatalf("%s: the case worker (staff) should stay, got %q", p, id.CaseWorkerID)
		}
		var summary string
		if err := st.Pool.QueryRow(ctx, `SELECT summary FROM journey_events WHERE participant_id = $1 AND kind = 'plan_signed'`, p).Scan(&summary); err != nil {
			t.Fatal(err)
		}
		if summary != "action plan signed" {
			t.Fatalf("%s: plan_signed summary %q still carries free text", p, summary)
		}
		if n := count(t, st, `SELECT count(*) FROM journey_events WHERE participant_id = $1 AND kind = 'program_migrated' AND summary LIKE '%new rules'`, p); n != 1 {
			t.Fatalf("%s: the migration's reason should stay", p)
		}
		// The statistics stay: the read model row, its deadlines and every event.
		if n := count(t, st, `SELECT count(*) FROM participants WHERE participant_id = $1 AND phase = 'exited' AND exit_reason = 'studies'`, p); n != 1 {
			t.Fatalf("%s: participant row gone", p)
		}
		if n := count(t, st, `SELECT count(*) FROM deadlines WHERE participant_id = $1`, p); n != 1 {
			t.Fatalf("%s: deadlines gone", p)
		}
		if n := count(t, st, `SELECT count(*) FROM journey_events WHERE participant_id = $1`, p); n != 4 {
			t.Fatalf("%s: %d events, want 4", p, n)
		}
		if n := count(t, st, `SELECT count(*) FROM erasures WHERE participant_id = $1`, p); n != 1 {
			t.Fatalf("%s: %d erasure rows", p, n)
		}
		audit, err := st.AuditFor(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if len(audit) != 1 {
			t.Fatalf("%s: %d audit entries, want exactly 1 after two calls: %+v", p, len(audit), audit)
		}
		a := audit[0]
		if a.Actor != "system:retention" || a.Action != "retention.erase" || a.Outcome != "allowed" || a.Detail["exitedAt"] == nil {
			t.Fatalf("%s: audit entry %+v", p, a)
		}
		if a.Detail["exitedAt"] != due[0].ExitedAt.UTC().Format(time.RFC3339) && a.Detail["exitedAt"] != due[1].ExitedAt.UTC().Format(time.RFC3339) {
			t.Fatalf("%s: audit exitedAt %v", p, a.Detail["exitedAt"])
		}
	}

	// The others keep everything.
	for _, p := range []string{"p-recent", "p-active"} {
		id, err := st.IdentityOf(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if string(id.Name) != "sealed-name" || string(id.PersonalNumber) != "sealed-pnr" || id.KeyID != "k1" || id.ErasedAt != nil {
			t.Fatalf("%s: identity touched: %+v", p, id)
		}
		if n := count(t, st, `SELECT count(*) FROM journey_events WHERE participant_id = $1 AND summary = 'action plan signed: truck licence course at Åkeri AB'`, p); n != 1 {
			t.Fatalf("%s: plan summary touched", p)
		}
		if n := count(t, st, `SELECT count(*) FROM audit_log WHERE participant_id = $1`, p); n != 0 {
			t.Fatalf("%s: audited", p)
		}
	}

	if again, err := st.DueForErasure(ctx, cutoff, 10); err != nil || len(again) != 0 {
		t.Fatalf("still due after erasure: %v %v", ids(again), err)
	}
	// Later, the recent leaver's period passes too.
	if later, err := st.DueForErasure(ctx, at("2028-06-30T00:00"), 10); err != nil || len(later) != 1 || later[0].ParticipantID != "p-recent" {
		t.Fatalf("due two years on: %v %v", ids(later), err)
	}
}

// A participant who comes back after an erasure and leaves again is due once more, for
// the later exit, and erased once more.
func TestAParticipantWhoCameBackIsErasedAgainAfterTheLaterExit(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	journeyFor(t, st, "p-back", "run-1", at("2020-01-10T09:00"), ptrTime("2020-06-01T10:00"))
	if err := st.ErasePersonalData(ctx, "p-back", at("2020-06-01T10:00")); err != nil {
		t.Fatal(err)
	}
	// The second journey's events, with a new plan.
	journeyFor(t, st, "p-back", "run-2", at("2021-01-10T09:00"), ptrTime("2021-06-01T10:00"))
	if n := count(t, st, `SELECT count(*) FROM journey_events WHERE participant_id = 'p-back' AND summary LIKE 'action plan signed: %'`); n != 1 {
		t.Fatalf("%d unscrubbed plans, want the second journey's", n)
	}
	due, err := st.DueForErasure(ctx, at("2026-01-01T00:00"), 10)
	if err != nil || len(due) != 1 || !due[0].ExitedAt.Equal(at("2021-06-01T10:00")) {
		t.Fatalf("due: %+v %v", due, err)
	}
	if err := st.ErasePersonalData(ctx, "p-back", due[0].ExitedAt); err != nil {
		t.Fatal(err)
	}
	if n := count(t, st, `SELECT count(*) FROM journey_events WHERE participant_id = 'p-back' AND summary LIKE 'action plan signed: %'`); n != 0 {
		t.Fatalf("%d plans still carry free text", n)
	}
	if n := count(t, st, `SELECT count(*) FROM audit_log WHERE participant_id = 'p-back' AND action = 'retention.erase'`); n != 2 {
		t.Fatalf("%d erasures audited, want 2", n)
	}
	if due, err := st.DueForErasure(ctx, at("2026-01-01T00:00"), 10); err != nil || len(due) != 0 {
		t.Fatalf("still due: %+v %v", due, err)
	}
}
