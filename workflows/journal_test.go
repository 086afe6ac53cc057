package workflows

import (
	"testing"
)

func TestEveryEventReachesTheReadModelOnceInOrder(t *testing.T) {
	start := stockholm("2026-03-02T09:00:00")
	h := newHarness(t, start)
	h.at(start, "2026-03-03T10:00:00", func() {
		h.mustUpdate(t, UpdateRecordMeeting, meeting(MeetingFirst, OutcomeHeld, "2026-03-03T09:00:00"), nil)
	})
	h.at(start, "2026-03-05T10:00:00", func() {
		h.mustUpdate(t, UpdateRecordPlan, validPlan(stockholm("2026-03-05T09:00:00")), nil)
	})
	h.at(start, "2026-03-06T10:00:00", func() {
		if s := h.state(t); len(s.Outbox) != 0 {
			t.Errorf("events left unwritten: %+v", s.Outbox)
		}
		h.env.CancelWorkflow()
	})
	h.run(t, input("jobbgaranti", start, "g-anna"))

	events := h.journal.events["p-1001"]
	kinds := map[string]int{}
	for i, e := range events {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d: written out of order or twice", i, e.Seq)
		}
		kinds[e.Kind]++
	}
	for _, k := range []string{"referred", "meeting_held", "plan_signed", "notice_due", "notice_escalation"} {
		if kinds[k] == 0 {
			t.Errorf("no %s event in %v", k, kinds)
		}
	}
	snap := h.journal.last["p-1001"]
	if snap.Phase != string(PhaseActive) || snap.PlanSignedAt == nil || snap.GuideID != "g-anna" {
		t.Fatalf("read model snapshot: %+v", snap)
	}
	met := 0
	for _, d := range snap.Deadlines {
		if d.Status == "met" {
			met++
		}
	}
	if met != 2 { // first meeting and plan
		t.Fatalf("met deadlines in the snapshot: %d (%+v)", met, snap.Deadlines)
	}
}
