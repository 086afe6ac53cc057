package web_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/stegvis/stegvis/auth"
	"github.com/stegvis/stegvis/calendar"
	"github.com/stegvis/stegvis/workflows"
)

// TestBrowserTheNextReviewIsPickedInsideItsWindow: the meeting form offers the next
// review's window for a meeting held today, and the last day it offers is one the
// journey accepts.
func TestBrowserTheNextReviewIsPickedInsideItsWindow(t *testing.T) {
	b := browser(t)
	id := participantID("bw-review")
	startJourney(t, id, "jobbgaranti", env.org.U, stockholmToday(), env.org.GuideA)
	guide := tokenFor(t, env.org.GuideA, auth.Guide)
	// An hour ago, but not before the referral at midnight.
	midnight, _ := time.ParseInLocation(time.DateOnly, stockholmToday(), calendar.Stockholm)
	signed := max(time.Now().Add(-time.Hour).Unix(), midnight.Unix())
	plan := `{"signedAt":"` + time.Unix(signed, 0).Format(time.RFC3339) + `","mainActivity":"work training",
		"weeklySchedule":[{"day":"monday","from":"09:00","to":"12:00"}],"subGoals":["a CV"],"followUpAt":"` + time.Now().AddDate(0, 0, 14).Format(time.DateOnly) + `"}`
	if st := call(t, guide, "POST", "/v1/participants/"+id+"/plan", plan, nil); st != http.StatusOK {
		t.Fatalf("plan: %d", st)
	}

	b.signIn(env.org.GuideA)
	b.navigation("open the participant", chromedp.Navigate(env.base+"/participants/"+id))
	b.fillMeeting("follow_up", "held", stockholmMinute(time.Now()), "")
	lo, hi := b.attr(`#meetings-nextReviewAt`, "min"), b.attr(`#meetings-nextReviewAt`, "max")
	if lo == "" || hi == "" || lo > hi {
		t.Fatalf("the next review's input offers %q to %q", lo, hi)
	}
	b.run("pick the window's last day", chromedp.SetValue(`#meetings-nextReviewAt`, hi, chromedp.ByQuery))
	b.screenshot("review-picked")
	b.navigation("save", chromedp.Click(`#form-meetings button[type="submit"]`, chromedp.ByQuery))
	b.run("recorded", chromedp.WaitVisible(`p.notice[role="status"]`, chromedp.ByQuery))
	b.screenshot("review-recorded")

	var j workflows.JourneyView
	call(t, guide, "GET", "/v1/participants/"+id, "", &j)
	found := false
	for _, d := range j.Deadlines {
		if d.Kind == workflows.DeadlineReview {
			found = true
			if d.DueDate != hi || d.WindowTo != hi {
				t.Errorf("the review is due %s (window to %s); the form offered %s to %s", d.DueDate, d.WindowTo, lo, hi)
			}
		}
	}
	if !found {
		t.Errorf("no review deadline after the follow-up: %+v", j.Deadlines)
	}
}
