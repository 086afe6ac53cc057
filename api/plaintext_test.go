package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/stegvis/stegvis/auth"
	"github.com/stegvis/stegvis/protect"
	"github.com/stegvis/stegvis/workflows"
)

// TestNoPlaintextPersonalDataInTemporalOrTheLogs runs a full journey with a name, a
// personal identity number and free text in every field that takes it, then reads
// the raw Temporal history (as the server stores it), the raw log output and the
// metrics, and finds none of it. As a control, the same history decoded with the key
// holds the free text, so the search would find it if it were there.
func TestNoPlaintextPersonalDataInTemporalOrTheLogs(t *testing.T) {
	id := participant("pii")
	const (
		name = "Zlatan Testsson-Hedqvist"
		pnr  = "19121212-1212"
	)
	free := map[string]string{
		"handover":   "Handover: owes money to Kronofogden, call his sister Elin first",
		"adaptation": "Adaptation: dyslexia diagnosed 2019, needs audio material",
		"interests":  "Interests: worked as a welder at Brukets Smide for eleven years",
		"ownView":    "Own view: wants to get back to welding after the divorce",
		"motivation": "Motivation: his daughter Maja starts school in August",
		"health":     "Health: sleeps badly, back pain since the accident",
		"capacity":   "Capacity: half time mornings only per Dr Lindqvist",
		"activity":   "Main activity: welding course at Hallstahammar folk high school",
		"subGoal":    "Sub goal: driving licence B before summer",
		"deepened":   "Deepened: purchased coaching from Nya Vagar Coaching AB",
		"meeting":    "Meeting note: came with his brother Johan, had been drinking",
		"pause":      "Pause note: hospitalised at Sahlgrenska ward 34",
		"transfer":   "Transfer note: moves in with mother Gun in Lindesberg",
		"exit":       "Exit note: hired by Brukets Smide from March",
	}
	// Personal data the case system sends: never into the workflow.
	secret := append([]string{name, pnr, "191212-1212", "121212-1212", "Testsson"}, valuesOf(free)...)

	referred := time.Now().AddDate(0, 0, -200)
	ago := func(days int) string { return referred.AddDate(0, 0, days).Format(time.RFC3339) }
	p := "/v1/participants/" + id
	steps := []struct{ method, path, body string }{
		{"POST", "/v1/participants", fmt.Sprintf(`{"participantId":%q,"programId":"jobbgaranti","unit":"arbetsmarknad","referredAt":%q,"personalNumber":%q,"name":%q,"caseWorkerId":"cw-dina"}`,
			id, referred.Format(time.RFC3339), pnr, name)},
		{"POST", p + "/guide", `{"guideId":"g-anna","from":"` + ago(1) + `"}`},
		{"POST", p + "/guide", `{"guideId":"g-karim","from":"` + ago(2) + `","handoverNote":"` + free["handover"] + `"}`},
		{"POST", p + "/meetings", `{"kind":"first_meeting","outcome":"held","occurredAt":"` + ago(3) + `","note":"` + free["meeting"] + `"}`},
		{"POST", p + "/mapping", `{"recordedAt":"` + ago(3) + `","adaptationNeeds":"` + free["adaptation"] + `","interestsAndExperience":"` + free["interests"] +
			`","ownView":"` + free["ownView"] + `","motivation":"` + free["motivation"] + `","health":"` + free["health"] + `","workCapacity":"` + free["capacity"] + `"}`},
		{"POST", p + "/plan", `{"signedAt":"` + ago(5) + `","mainActivity":"` + free["activity"] + `","weeklySchedule":[{"day":"monday","from":"09:00","to":"12:00"}],"subGoals":["` +
			free["subGoal"] + `"],"followUpAt":"` + ago(19) + `"}`},
		{"POST", p + "/deepened-plan", `{"signedAt":"` + ago(30) + `","summary":"` + free["deepened"] + `","purchasedServices":[{"provider":"Nya Vagar Coaching AB","service":"coaching"}]}`},
		{"POST", p + "/pause", `{"reason":"sick_leave","from":"` + ago(100) + `","note":"` + free["pause"] + `"}`},
		{"POST", p + "/resume", `{"at":"` + ago(110) + `"}`},
		{"POST", p + "/transfer", `{"toUnit":"vuxenutbildning","note":"` + free["transfer"] + `"}`},
		{"POST", p + "/exit", `{"reason":"employment_regular","at":"` + ago(199) + `","note":"` + free["exit"] + `"}`},
	}
	for _, s := range steps {
		if r := call(t, s.method, s.path, s.body); r.status >= 300 {
			t.Fatalf("%s %s: %d %s", s.method, s.path, r.status, r.body)
		}
	}
	// Those who may see the participant see who it is: the data went in.
	r := call(t, "GET", p, "")
	for _, want := range []string{name, pnr, free["activity"]} {
		if !strings.Contains(string(r.body), want) {
			t.Fatalf("the journey view lacks %q: %s", want, r.body)
		}
	}

	// The raw history, every event of every run, as bytes.
	c := env.temporal.GetDefaultClient()
	var raw bytes.Buffer
	var payloads int
	var planArg *commonpb.Payload
	it := c.GetWorkflowHistory(context.Background(), workflows.JourneyWorkflowID(id), "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	decoded := &bytes.Buffer{}
	dc := protect.DataConverter(env.keys)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		b, err := proto.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		raw.Write(b)
		raw.WriteString(ev.String()) // the text form too, as tools print it
		if a := ev.GetWorkflowExecutionUpdateAcceptedEventAttributes(); a != nil {
			payloads++
			if a.GetAcceptedRequest().GetInput().GetName() == workflows.UpdateRecordPlan {
				planArg = a.GetAcceptedRequest().GetInput().GetArgs().GetPayloads()[0]
			}
			var anyArg any
			for _, pl := range a.GetAcceptedRequest().GetInput().GetArgs().GetPayloads() {
				if err := dc.FromPayload(pl, &anyArg); err != nil {
					t.Fatalf("decode an update argument: %v", err)
				}
				fmt.Fprintf(decoded, "%v", anyArg)
			}
		}
	}
	if raw.Len() == 0 || payloads < 8 {
		t.Fatalf("read %d bytes and %d updates of history", raw.Len(), payloads)
	}
	if !strings.Contains(decoded.String(), free["activity"]) || !strings.Contains(decoded.String(), free["handover"]) {
		t.Fatalf("control: the decoded history lacks the free text, so the search below proves nothing:\n%s", decoded)
	}
	for _, s := range secret {
		if bytes.Contains(raw.Bytes(), []byte(s)) {
			t.Errorf("the raw Temporal history holds %q", s)
		}
	}

	// The codec server shows an admin what the Temporal UI would otherwise show as
	// ciphertext; a guide gets nothing.
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: []*commonpb.Payload{planArg}})
	if err != nil {
		t.Fatal(err)
	}
	if r := call(t, "POST", "/codec/decode", string(body), as(t, "g-anna", auth.Guide)...); r.status != http.StatusForbidden {
		t.Errorf("a guide used the codec server: %d", r.status)
	}
	r = call(t, "POST", "/codec/decode", string(body), as(t, "admin-erik", auth.Admin)...)
	var out commonpb.Payloads
	if err := protojson.Unmarshal(r.body, &out); err != nil || len(out.Payloads) != 1 || !strings.Contains(string(out.Payloads[0].Data), free["activity"]) {
		t.Errorf("the codec server did not decode the plan for an admin: %d %s %v", r.status, r.body, err)
	}

	// Visibility: what the search attributes and the list API show. It is written
	// asynchronously, so wait for the record rather than pass on an empty list.
	var execs []*workflowpb.WorkflowExecutionInfo
	for deadline := time.Now().Add(30 * time.Second); len(execs) == 0 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		list, err := c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: env.temporal.GetDefaultNamespace(), Query: "WorkflowId = '" + workflows.JourneyWorkflowID(id) + "'"})
		if err != nil {
			t.Fatal(err)
		}
		execs = list.GetExecutions()
	}
	if len(execs) == 0 {
		t.Fatal("the journey never showed in visibility, so its search attributes were not checked")
	}
	if len(execs[0].GetSearchAttributes().GetIndexedFields()) == 0 {
		t.Error("control: the visibility record carries no search attributes to check")
	}
	for _, e := range execs {
		b, _ := proto.Marshal(e)
		for _, s := range secret {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("the visibility record holds %q", s)
			}
		}
	}

	// The logs of the API and the worker, and the metrics.
	logs := env.logs.String()
	if !strings.Contains(logs, id) {
		t.Fatalf("control: the logs never mention the participant's pseudonymous id, so they were not captured")
	}
	resp, err := http.Get(env.http.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, s := range secret {
		if strings.Contains(logs, s) {
			t.Errorf("the logs hold %q", s)
		}
		if strings.Contains(string(metrics), s) {
			t.Errorf("the metrics hold %q", s)
		}
	}

	// PostgreSQL keeps who the participant is, but only encrypted.
	var sealedName, sealedPnr []byte
	var keyID string
	if err := env.store.Pool.QueryRow(context.Background(), `SELECT key_id, name, personal_number FROM participant_identity WHERE participant_id = $1`, id).
		Scan(&keyID, &sealedName, &sealedPnr); err != nil {
		t.Fatal(err)
	}
	if keyID != env.keys.CurrentID() || bytes.Contains(sealedName, []byte("Zlatan")) || bytes.Contains(sealedPnr, []byte("1212")) {
		t.Errorf("the identity is not sealed: key %q, %q, %q", keyID, sealedName, sealedPnr)
	}
}

func valuesOf(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
