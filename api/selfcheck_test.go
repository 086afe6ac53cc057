package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stegvis/stegvis/api"
	"github.com/stegvis/stegvis/auth"
	"github.com/stegvis/stegvis/metrics"
	"github.com/stegvis/stegvis/selfcheck"
	"github.com/stegvis/stegvis/store"
)

// GET /v1/admin/self-check answers in the documented shape (call checks it against
// openapi.yaml), names a journey whose unit has been deactivated, and writes the read to
// the audit log as a read of the participants it names. The whole check, kind by kind,
// is tested in package selfcheck on a system of its own; this one is shared with the
// other tests and never clean.
func TestSelfCheckEndpointAnswersAndIsAudited(t *testing.T) {
	id := participant("sc")
	unit := "sc-closed-" + id
	if r := call(t, "PUT", "/v1/units/"+unit, `{"name":"Enhet som läggs ned"}`); r.status != http.StatusOK {
		t.Fatalf("unit: %d %s", r.status, r.body)
	}
	body := `{"participantId":"` + id + `","programId":"jobbgaranti","unit":"` + unit + `","referredAt":"` + time.Now().Format(time.RFC3339) + `"}`
	if r := call(t, "POST", "/v1/participants", body); r.status != http.StatusCreated {
		t.Fatalf("start: %d %s", r.status, r.body)
	}
	caughtUp(t, id)
	// The unit closes while the journey runs.
	if r := call(t, "DELETE", "/v1/units/"+unit, ""); r.status != http.StatusNoContent {
		t.Fatalf("deactivate the unit: %d %s", r.status, r.body)
	}
	since := time.Now().Add(-time.Second)
	r := call(t, "GET", "/v1/admin/self-check", "", as(t, "sc-admin", auth.Admin)...)
	if r.status != http.StatusOK {
		t.Fatalf("self-check: %d %s", r.status, r.body)
	}
	var rep selfcheck.Report
	r.decode(t, &rep)
	if len(rep.Counts) != len(selfcheck.Kinds) || rep.Notified != 0 {
		t.Fatalf("counts %+v, notified %d", rep.Counts, rep.Notified)
	}
	i := slices.IndexFunc(rep.Findings, func(f selfcheck.Finding) bool { return f.ParticipantID == id })
	if i < 0 {
		t.Fatalf("no finding names %s: %s", id, r.body)
	}
	if f := rep.Findings[i]; f.Kind != selfcheck.UnitNotInOrgChart || f.Unit != unit || !strings.Contains(f.Problem, "which is deactivated") {
		t.Fatalf("finding %+v", f)
	}
	entries, err := env.store.AuditLog(context.Background(), store.AuditFilter{Actor: "sc-admin", ParticipantID: id, From: since, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Action != "GET /v1/admin/self-check" || entries[0].Outcome != "allowed" {
		t.Fatalf("audit entries %+v", entries)
	}
}

func TestSelfCheckEndpointWithoutACheckerSaysSo(t *testing.T) {
	d := env.deps
	d.SelfCheck, d.Metrics = nil, metrics.New()
	srv := httptestServer(t, d)
	req, _ := http.NewRequest("GET", srv+"/v1/admin/self-check", nil)
	req.Header.Set("Authorization", "Bearer "+token(t, "sc-admin", auth.Admin))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e api.ErrorBody
	_ = json.NewDecoder(resp.Body).Decode(&e)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(e.Error.Message, "stegvis check") {
		t.Fatalf("%d %+v", resp.StatusCode, e)
	}
}
