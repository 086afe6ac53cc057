package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// a11yProblems lists, for the page as the browser has it, what breaks the WCAG
// checks that can be made mechanically: a language, one h1 and a main landmark,
// every form control with a label, every image with a name that resolves, tables
// with header cells, and error messages tied to their fields.
const a11yProblems = `(() => {
  const out = [];
  if (!document.documentElement.lang) out.push("html has no lang");
  if (document.querySelectorAll("h1").length !== 1) out.push("the page has " + document.querySelectorAll("h1").length + " h1");
  if (!document.querySelector("main")) out.push("no main landmark");
  for (const el of document.querySelectorAll("input, select, textarea")) {
    if (el.type === "hidden" || el.type === "submit") continue;
    const named = (el.labels && el.labels.length > 0) || el.getAttribute("aria-label") || el.getAttribute("aria-labelledby");
    if (!named) out.push("no label for " + el.outerHTML.slice(0, 80));
  }
  for (const el of document.querySelectorAll("[role=img], img")) {
    const ids = (el.getAttribute("aria-labelledby") || "").split(/\s+/).filter(Boolean);
    const ok = el.getAttribute("alt") || el.getAttribute("aria-label") || (ids.length && ids.every(id => document.getElementById(id)));
    if (!ok) out.push("an image without a name: " + el.outerHTML.slice(0, 80));
  }
  for (const t of document.querySelectorAll("table")) {
    if (!t.querySelector("th")) out.push("a table without header cells");
  }
  for (const el of document.querySelectorAll("[aria-describedby]")) {
    for (const id of el.getAttribute("aria-describedby").split(/\s+/)) {
      if (!document.getElementById(id)) out.push("aria-describedby names a missing " + id);
    }
  }
  return out;
})()`

func TestBrowserEveryPageMeetsTheMechanicalAccessibilityChecks(t *testing.T) {
	b := browser(t)
	id := participantID("bw-a11y")
	startJourney(t, id, "jobbgaranti", env.org.U, stockholmToday(), env.org.GuideA)
	caughtUp(t, id)

	check := func(who, path string, open bool) {
		t.Helper()
		b.navigation("open "+path, chromedp.Navigate(env.base+path))
		b.run("the page", chromedp.WaitReady(`main`, chromedp.ByQuery))
		if open { // every form of the participant page unfolded
			b.run("open the forms", chromedp.Evaluate(`document.querySelectorAll("details").forEach(d => d.open = true)`, nil))
		}
		var problems []string
		b.run("check "+path, chromedp.Evaluate(a11yProblems, &problems))
		for _, p := range problems {
			t.Errorf("%s as %s: %s", path, who, p)
		}
	}
	// Signed out: the sign-in page, and the skip link is the first thing Tab reaches.
	b.navigation("open the sign-in page", chromedp.Navigate(env.base+"/login"))
	var focused string
	b.run("tab once", chromedp.WaitReady(`main`, chromedp.ByQuery), chromedp.KeyEvent(kb.Tab),
		chromedp.Evaluate(`document.activeElement.className`, &focused))
	if focused != "skip" {
		t.Errorf("the first Tab reaches %q, want the skip link", focused)
	}
	check("nobody", "/login", false)

	b.signIn(env.org.GuideA)
	for _, p := range []string{"/", "/participants/" + id, "/inbox", "/participants"} {
		check("a guide", p, strings.HasPrefix(p, "/participants/"))
	}
	b.screenshot("guide-pages")

	m := browser(t)
	m.signIn(env.org.ManagerU)
	b = m
	for _, p := range []string{"/dashboard", "/queue", "/participants"} {
		check("a unit manager", p, false)
	}
	m.screenshot("manager-pages")
}
