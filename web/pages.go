package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/stegvis/stegvis/calendar"
	"github.com/stegvis/stegvis/program"
	"github.com/stegvis/stegvis/store"
	"github.com/stegvis/stegvis/workflows"
)

func (s *site) loginPage(c *gin.Context) {
	s.render(c, http.StatusOK, "login", page{Title: s.i18n.text(s.i18n.language(c), "SignIn"), Data: s.loginData(safeNext(c.Query("next")))})
}

type loginData struct {
	DevUsers any
	Next     string
	Token    string
	OIDC     bool // offer signing in at the identity provider
}

func (s *site) loginData(next string) loginData {
	return loginData{DevUsers: s.DevUsers, Next: next, OIDC: s.OIDC != nil}
}

// safeNext keeps a redirect on this site. Browsers drop tabs and line breaks from an
// address, so "/\t/evil.example" would be "//evil.example": control characters are
// refused too.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") ||
		strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "/"
	}
	return next
}

// login takes a token (pasted, or a dev user's), checks it as the API would and keeps
// it in an HttpOnly, SameSite=Strict cookie: scripts cannot read it and other sites'
// forms cannot send it.
func (s *site) login(c *gin.Context) {
	tok := strings.TrimSpace(c.PostForm("token"))
	if user := c.PostForm("devUser"); user != "" {
		for _, u := range s.DevUsers {
			if u.ID == user {
				tok = u.Token
			}
		}
	}
	lang := s.i18n.language(c)
	p, err := s.Verify.Verify(c.Request.Context(), tok)
	if tok == "" || err != nil {
		s.render(c, http.StatusUnauthorized, "login", page{Title: s.i18n.text(lang, "SignIn"), Error: s.i18n.text(lang, "SignInFailed"),
			Data: s.loginData(safeNext(c.PostForm("next")))})
		return
	}
	if len(p.Roles) == 0 {
		s.render(c, http.StatusForbidden, "login", page{Title: s.i18n.text(lang, "SignIn"), Error: s.i18n.text(lang, "SignInNoRole"),
			Data: s.loginData(safeNext(c.PostForm("next")))})
		return
	}
	s.setCookie(c, sessionCookie, tok, 12*time.Hour)
	c.Redirect(http.StatusSeeOther, safeNext(c.PostForm("next")))
}

func (s *site) setCookie(c *gin.Context, name, value string, maxAge time.Duration) {
	http.SetCookie(c.Writer, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: int(maxAge.Seconds()),
		HttpOnly: true, Secure: s.SecureCookie, SameSite: http.SameSiteStrictMode})
}

func (s *site) logout(c *gin.Context) {
	s.setCookie(c, sessionCookie, "", -time.Second)
	c.Redirect(http.StatusSeeOther, "/login")
}

func (s *site) setLanguage(c *gin.Context) {
	if slices.Contains(Languages, c.Param("lang")) {
		s.setCookie(c, langCookie, c.Param("lang"), 365*24*time.Hour)
	}
	back := c.Query("back")
	c.Redirect(http.StatusSeeOther, safeNext(back))
}

// myDayData is a guide's morning: what is overdue, due today, due this week, and who
// is new and still needs a first meeting.
type myDayData struct {
	Overdue     []store.OverdueRow
	OverdueMore bool // the list has more than the page shown
	Today       []store.ParticipantRow
	Week        []store.ParticipantRow
	New         []store.ParticipantRow
	Everyone    int
}

func (s *site) myDay(c *gin.Context) {
	ctx, p := c.Request.Context(), who(c)
	if !p.Has("guide", "team_lead", "unit_manager", "case_worker", "system") {
		c.Redirect(http.StatusSeeOther, "/inbox")
		return
	}
	var d myDayData
	var list struct {
		Participants []store.ParticipantRow `json:"participants"`
	}
	if err := s.call(ctx, p, "GET", "/v1/participants?limit=500&phase=", nil, &list); err != nil {
		s.failed(c, err)
		return
	}
	if p.Has("guide", "team_lead", "unit_manager", "system") {
		var od struct {
			Deadlines []store.OverdueRow `json:"deadlines"`
			Next      string             `json:"next"`
		}
		// A guide's own: a page of the most overdue is what the day needs.
		if err := s.call(ctx, p, "GET", "/v1/overdue?limit=500", nil, &od); err != nil {
			s.failed(c, err)
			return
		}
		d.Overdue, d.OverdueMore = od.Deadlines, od.Next != ""
	}
	now := s.Now()
	today := calendar.Date(now)
	endOfWeek := calendar.AddDays(today, 8-int(today.Weekday()+6)%7-1) // next Monday
	for _, r := range list.Participants {
		if r.Phase == string(workflows.PhaseExited) {
			continue
		}
		d.Everyone++
		if r.Phase == string(workflows.PhasePlanning) && r.PlanSignedAt == nil {
			d.New = append(d.New, r)
		}
		if r.NextDueAt == nil || r.NextDueAt.Before(now) && r.OverdueCount > 0 {
			continue
		}
		switch due := calendar.Date(*r.NextDueAt); {
		case due.Equal(today):
			d.Today = append(d.Today, r)
		case due.After(today) && due.Before(endOfWeek):
			d.Week = append(d.Week, r)
		}
	}
	s.render(c, http.StatusOK, "myday", page{Title: s.i18n.text(s.i18n.language(c), "MyDay"), Data: d})
}

// participantData is the participant page: the journey, and for a form that was
// sent back, what was typed and what was wrong.
type participantData struct {
	J      workflows.JourneyView
	Person *personView
	Form   string            // the form that failed, kept open
	Values map[string]string // what was typed in it
	Errors map[string]string // field → message
	// ReviewFrom and ReviewTo are the window for the next review if a follow-up or
	// review is held today, as the journey's validator will compute it.
	ReviewFrom, ReviewTo string
	Kinds                []workflows.MeetingKind
	Pauses               []workflows.PauseReason
	Exits                []workflows.ExitReason
	Days                 []string
	Extras               []string
}

// reviewCalendar counts the review window as the journey's validator does.
var reviewCalendar = calendar.Swedish()

type personView struct {
	Name           string     `json:"name"`
	PersonalNumber string     `json:"personalNumber"`
	CaseWorkerID   string     `json:"caseWorkerId"`
	ErasedAt       *time.Time `json:"erasedAt"`
}

type journeyWithPerson struct {
	workflows.JourneyView
	Person *personView `json:"person"`
}

func (s *site) participant(c *gin.Context) {
	s.showParticipant(c, http.StatusOK, "", nil, nil, c.Query("done"))
}

func (s *site) showParticipant(c *gin.Context, status int, form string, values, errs map[string]string, done string) {
	id := c.Param("id")
	var j journeyWithPerson
	if err := s.call(c.Request.Context(), who(c), "GET", "/v1/participants/"+url.PathEscape(id), nil, &j); err != nil {
		s.failed(c, err)
		return
	}
	d := participantData{J: j.JourneyView, Person: j.Person, Form: form, Values: values, Errors: errs,
		Kinds: workflows.MeetingKinds, Pauses: workflows.PauseReasons, Exits: workflows.ExitReasons,
		Days: []string{"monday", "tuesday", "wednesday", "thursday", "friday"}, Extras: workflows.PlanExtras}
	var prog program.Program
	if err := s.call(c.Request.Context(), who(c), "GET", "/v1/programs/"+url.PathEscape(j.Program.ID), nil, &prog); err == nil &&
		prog.Version == j.Program.Version && prog.Deadlines.Review != nil {
		from, to := prog.Deadlines.Review.Window(reviewCalendar, s.Now())
		d.ReviewFrom, d.ReviewTo = calendar.Date(from).Format(time.DateOnly), calendar.Date(to).Format(time.DateOnly)
	}
	if d.Values == nil {
		d.Values = map[string]string{}
	}
	pg := page{Title: id, Nav: "participants", Data: d}
	if done != "" {
		pg.Notice = s.i18n.text(s.i18n.language(c), "Recorded_"+done)
	}
	s.render(c, status, "participant", pg)
}
