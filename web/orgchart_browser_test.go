package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserAHandoverOrTransferTheOrgChartLacksIsRefusedNextToTheField: a team lead
// hands over to someone the org chart lacks, to a guide of another unit, and transfers
// to a unit that does not exist; each time the API's 422 is shown at the field, and the
// journey stays as it was.
func TestBrowserAHandoverOrTransferTheOrgChartLacksIsRefusedNextToTheField(t *testing.T) {
	b := browser(t)
	id := participantID("bw-org")
	startJourney(t, id, "jobbgaranti", env.org.U, stockholmToday(), env.org.GuideA)
	before := journey(t, id)
	b.signIn(env.org.LeadU)
	for _, tc := range []struct{ form, field, value, says string }{
		// The API's rules, in the page's language (Swedish by default).
		{"guide", "guideId", "ghost-nobody", `"ghost-nobody" finns inte i organisationen; aktiva jobbguider i ` + env.org.U + ": "},
		{"guide", "guideId", env.org.GuideD1, `"` + env.org.GuideD1 + `" är jobbguide i enheten ` + env.org.D + ", inte i " + env.org.U},
		{"transfer", "toUnit", "no-such-unit", `"no-such-unit" är ingen enhet i organisationen; aktiva enheter: `},
	} {
		if status := b.navigation("open the participant", chromedp.Navigate(env.base+"/participants/"+id)); status != http.StatusOK {
			t.Fatalf("the participant page answered %d", status)
		}
		input := "#" + tc.form + "-" + tc.field
		b.run("fill in the "+tc.form+" form",
			chromedp.Click("#form-"+tc.form+" > summary", chromedp.ByQuery),
			chromedp.WaitVisible(input, chromedp.ByQuery),
			chromedp.SetValue(input, tc.value, chromedp.ByQuery),
		)
		status := b.navigation("send the "+tc.form+" form", chromedp.Click("#form-"+tc.form+` button[type="submit"]`, chromedp.ByQuery))
		if status != http.StatusUnprocessableEntity {
			t.Fatalf("%s %s answered %d, want 422", tc.form, tc.value, status)
		}
		var message string
		b.run("the error next to "+tc.field,
			chromedp.WaitVisible(input+"-error", chromedp.ByQuery),
			chromedp.Text(input+"-error", &message, chromedp.ByQuery))
		b.screenshot(tc.form + "-refused")
		if !strings.Contains(message, tc.says) {
			t.Errorf("next to %s the page says %q; want it to say %q", tc.field, message, tc.says)
		}
		if got := b.attr(input, "aria-invalid"); got != "true" {
			t.Errorf("%s has aria-invalid=%q, want true", input, got)
		}
	}
	after := journey(t, id)
	if after.GuideID != before.GuideID || after.Unit != before.Unit || len(after.Timeline) != len(before.Timeline) {
		t.Fatalf("the journey changed: guide %s→%s, unit %s→%s, %d→%d events",
			before.GuideID, after.GuideID, before.Unit, after.Unit, len(before.Timeline), len(after.Timeline))
	}
}
