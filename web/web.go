// Package web is stegvis's pages for guides and managers, served by the same binary
// under /. The pages are rendered on the server (html/template) from the same API the
// integrations use: each page calls the /v1 handler in process with the signed-in
// person's token, so the role rules, the audit log and the Updates' validators are
// exactly the API's. Every asset is embedded; nothing is fetched from a CDN.
package web

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/rs/zerolog"

	"github.com/stegvis/stegvis/api"
	"github.com/stegvis/stegvis/auth"
	"github.com/stegvis/stegvis/calendar"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options are what the pages need.
type Options struct {
	// API is the /v1 handler; pages call it in process with the person's token.
	API http.Handler
	// Verify checks the token a person signs in with, as the API does.
	Verify auth.Verifier
	// DevUsers, when set (stegvis dev), are offered on the sign-in page.
	DevUsers []auth.DevUser
	// OIDC, when set, offers signing in at the identity provider (NewOIDCLogin).
	OIDC *OIDCLogin
	// SecureCookie marks the session cookie Secure (behind HTTPS).
	SecureCookie bool
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

const sessionCookie = "stegvis_session"

type site struct {
	Options
	pages map[string]*template.Template
	i18n  *catalogue
}

// Mount adds the pages to r: GET / and the rest, and /static/.
func Mount(r *gin.Engine, o Options) error {
	if o.Now == nil {
		o.Now = time.Now
	}
	cat, err := newCatalogue()
	if err != nil {
		return err
	}
	s := &site{Options: o, i18n: cat, pages: map[string]*template.Template{}}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return fmt.Errorf("template %s: %w", n, err)
		}
		s.pages[base] = t
	}
	static, _ := fs.Sub(staticFS, "static")
	r.StaticFS("/static", http.FS(static))
	r.GET("/login", s.loginPage)
	r.POST("/login", s.login)
	if o.OIDC != nil {
		r.GET("/login/oidc", s.oidcStart)
		r.GET(CallbackPath, s.oidcCallback)
	}
	r.POST("/logout", s.logout)
	r.GET("/lang/:lang", s.setLanguage)
	p := r.Group("/", s.session)
	p.GET("/", s.myDay)
	p.GET("/participants/:id", s.participant)
	p.POST("/participants/:id/:action", s.record)
	p.GET("/inbox", s.inbox)
	p.POST("/inbox/:number/read", s.markRead)
	s.mountManager(p)
	return nil
}

// person is who is signed in.
type person struct {
	auth.Principal
	token string
}

// session requires a signed-in person; others go to the sign-in page.
func (s *site) session(c *gin.Context) {
	tok, err := c.Cookie(sessionCookie)
	if err == nil {
		if p, verr := s.Verify.Verify(c.Request.Context(), tok); verr == nil {
			c.Set("person", person{Principal: p, token: tok})
			return
		}
	}
	c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(c.Request.URL.RequestURI()))
	c.Abort()
}

func who(c *gin.Context) person {
	p, _ := c.Get("person")
	pp, _ := p.(person)
	return pp
}

// apiError is the API's error body.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Fields  []struct {
			Field   string   `json:"field"`
			Message string   `json:"message"`
			Rule    string   `json:"rule"`
			Args    []string `json:"args"`
		} `json:"fields"`
	} `json:"error"`
}

// call sends a request to the API in process, as the signed-in person, and decodes
// a 2xx answer into out. Anything else comes back as an *apiFailure.
func (s *site) call(ctx context.Context, p person, method, path string, body any, out any) error {
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return err
		}
	}
	_, answer, err := s.send(ctx, p, method, path, b)
	if err != nil || out == nil {
		return err
	}
	return json.Unmarshal(answer, out)
}

// send is one in-process API request with the person's token: the answer's headers
// and body as the API wrote them, or an *apiFailure for a non-2xx answer.
func (s *site) send(ctx context.Context, p person, method, path string, body []byte) (http.Header, []byte, error) {
	var rdr io.Reader
	if body != nil {
		rdr = bytes.NewReader(body)
	}
	req := httptest.NewRequestWithContext(api.InProcess(ctx), method, path, rdr)
	req.Header.Set("Authorization", "Bearer "+p.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	s.API.ServeHTTP(rec, req)
	if rec.Code >= 300 {
		f := &apiFailure{Status: rec.Code}
		_ = json.Unmarshal(rec.Body.Bytes(), &f.body)
		return nil, nil, f
	}
	return rec.Header(), rec.Body.Bytes(), nil
}

// apiFailure is a 4xx or 5xx from the API, with its message and field errors.
type apiFailure struct {
	Status int
	body   apiError
}

func (f *apiFailure) Error() string { return f.body.Error.Message }

// Fields maps each field the API named to what it said, in lang: the catalogue has
// each of the journey's validation rules ("Rule: <rule>"); a message without one is
// shown as the API wrote it.
func (f *apiFailure) Fields(cat *catalogue, lang string) map[string]string {
	m := map[string]string{}
	for _, fe := range f.body.Error.Fields {
		msg := fe.Message
		if id := "Rule: " + fe.Rule; fe.Rule != "" && cat.has(id) {
			var args []any
			for i, a := range fe.Args {
				args = append(args, fmt.Sprintf("A%d", i), a)
			}
			msg = cat.text(lang, id, args...)
		}
		m[fe.Field] = msg
		// A JSON path (subGoals[1], weeklySchedule[0].day) is shown at its form field.
		if i := strings.IndexByte(fe.Field, '['); i > 0 {
			field := fe.Field[:i]
			if j := strings.LastIndexByte(fe.Field, '.'); j > i {
				field = fe.Field[j+1:]
			}
			if _, ok := m[field]; !ok {
				m[field] = msg
			}
		}
	}
	return m
}

// page is what every template gets: the words in the person's language, who they
// are, and the page's own data.
type page struct {
	lang   string
	cat    *catalogue
	Title  string
	Person person
	Nav    string
	Data   any
	Error  string
	Notice string
	Now    time.Time
}

// T is the text of a catalogue message in the page's language.
func (p page) T(id string, args ...any) string { return p.cat.text(p.lang, id, args...) }

// Lang is the page's language code.
func (p page) Lang() string { return p.lang }

// Has reports whether the person holds any of the roles.
func (p page) Has(roles ...string) bool {
	for _, r := range roles {
		if p.Person.Principal.Has(auth.Role(r)) {
			return true
		}
	}
	return false
}

func (s *site) render(c *gin.Context, status int, name string, pg page) {
	pg.lang, pg.cat, pg.Person, pg.Now = s.i18n.language(c), s.i18n, who(c), s.Now()
	if pg.Nav == "" {
		pg.Nav = name
	}
	t, ok := s.pages[name]
	if !ok {
		panic("web: no page " + name)
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "layout.html", pg); err != nil {
		zerolog.Ctx(c.Request.Context()).Error().Err(err).Str("page", name).Msg("page rendering failed")
		c.String(http.StatusInternalServerError, s.i18n.text(pg.lang, "ErrorInternal"))
		return
	}
	c.Header("Cache-Control", "no-store") // pages hold personal data
	c.Data(status, "text/html; charset=utf-8", b.Bytes())
}

// failed renders an error page for an API failure that is not a form's business,
// in the page's language: access and availability from the catalogue, anything else
// (a 4xx about what was asked) as the API said it.
func (s *site) failed(c *gin.Context, err error) {
	lang := s.i18n.language(c)
	var f *apiFailure
	status, msg := http.StatusInternalServerError, s.i18n.text(lang, "ErrorInternal")
	if errors.As(err, &f) {
		status = f.Status
		switch {
		case f.Status == http.StatusUnauthorized:
			c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(c.Request.URL.RequestURI()))
			return
		case f.Status == http.StatusForbidden:
			msg = s.i18n.text(lang, "ErrorForbidden")
		case f.Status == http.StatusNotFound:
			msg = s.i18n.text(lang, "ErrorNotFound")
		case f.Status == http.StatusTooManyRequests || f.Status >= 500:
			msg = s.i18n.text(lang, "ErrorUnavailable")
		default:
			msg = f.Error()
		}
	}
	s.render(c, status, "error", page{Title: s.i18n.text(lang, "ErrorTitle"), Error: msg})
}

var funcs = template.FuncMap{
	"date": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			if v.IsZero() {
				return ""
			}
			return v.In(calendar.Stockholm).Format("2006-01-02")
		case *time.Time:
			if v == nil {
				return ""
			}
			return v.In(calendar.Stockholm).Format("2006-01-02")
		}
		return ""
	},
	"datetime": func(t time.Time) string { return t.In(calendar.Stockholm).Format("2006-01-02 15:04") },
	"pct":      func(f float64) string { return fmt.Sprintf("%.0f %%", f*100) },
	"add":      func(a, b int) int { return a + b },
	"join":     strings.Join,
}
