package web_test

// Signing in at the identity provider (web/oidc.go), against a small fake OpenID
// Connect provider served by httptest: discovery, an authorization endpoint, a token
// endpoint that checks the client and PKCE, and its keys. Its ID tokens are minted by
// auth.DevIssuer. The site is web.Mount on a stand-in API (signing in never calls the
// API), with the same token check stegvis api builds from OIDC_ISSUER and
// OIDC_AUDIENCE. The provider answers on "localhost" and the site on 127.0.0.1, so
// that to a browser they are different sites, as a municipality's provider is.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gin-gonic/gin"

	"github.com/stegvis/stegvis/auth"
	"github.com/stegvis/stegvis/web"
)

const (
	idpClientID     = "stegvis-web"
	idpClientSecret = "s3cret-of-the-client"
)

// fakeIdP is an OpenID Connect provider with one client.
type fakeIdP struct {
	t      *testing.T
	URL    string // the issuer
	srv    *httptest.Server
	keys   *auth.DevIssuer
	mu     sync.Mutex
	grants map[string]*idpGrant // by code
	// redirectURI is the client's registered redirect URI.
	redirectURI string

	// What the next sign-in gets and how the provider behaves.
	subject        string
	roles          []auth.Role
	deny           bool // the person refuses: error=access_denied
	wrongChallenge bool // keep another code challenge than the one sent, so PKCE fails
	form           bool // /authorize shows a sign-in button, as a real provider's page does
	tokenRefusals  []string
}

type idpGrant struct {
	challenge, nonce, redirectURI, subject string
	roles                                  []auth.Role
	used                                   bool
}

// newFakeIdP serves a provider at http://host:port.
func newFakeIdP(t *testing.T, host string) *fakeIdP {
	t.Helper()
	idp := &fakeIdP{t: t, grants: map[string]*idpGrant{}, subject: "g-anna", roles: []auth.Role{auth.Guide}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", idp.discovery)
	mux.HandleFunc("GET /authorize", idp.authorize)
	mux.HandleFunc("POST /authorize", idp.approve)
	mux.HandleFunc("POST /token", idp.token)
	idp.srv = httptest.NewServer(mux)
	t.Cleanup(idp.srv.Close)
	_, port, _ := net.SplitHostPort(idp.srv.Listener.Addr().String())
	idp.URL = "http://" + net.JoinHostPort(host, port)
	var err error
	if idp.keys, err = auth.NewDevIssuer(idp.URL, ""); err != nil {
		t.Fatal(err)
	}
	mux.Handle("GET /jwks", idp.keys.JWKSHandler())
	return idp
}

func (idp *fakeIdP) discovery(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"issuer":                                idp.URL,
		"authorization_endpoint":                idp.URL + "/authorize",
		"token_endpoint":                        idp.URL + "/token",
		"jwks_uri":                              idp.URL + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"ES256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"scopes_supported":                      []string{"openid", "profile"},
	})
}

// authorize checks the request as a provider does; a request it cannot trust (an
// unknown client or redirect URI) gets an error page, never a redirect.
func (idp *fakeIdP) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var problems []string
	check := func(ok bool, what string) {
		if !ok {
			problems = append(problems, what)
		}
	}
	check(q.Get("response_type") == "code", "response_type is "+q.Get("response_type"))
	check(q.Get("client_id") == idpClientID, "client_id is "+q.Get("client_id"))
	check(q.Get("redirect_uri") == idp.redirectURI, "redirect_uri is "+q.Get("redirect_uri"))
	check(q.Get("code_challenge_method") == "S256", "code_challenge_method is "+q.Get("code_challenge_method"))
	check(len(q.Get("code_challenge")) == 43, "code_challenge is "+q.Get("code_challenge"))
	check(q.Get("state") != "", "no state")
	check(q.Get("nonce") != "", "no nonce")
	check(strings.Contains(" "+q.Get("scope")+" ", " openid "), "scope is "+q.Get("scope"))
	if len(problems) > 0 {
		idp.t.Errorf("the provider got a bad authorization request: %s", strings.Join(problems, "; "))
		http.Error(w, "invalid request: "+strings.Join(problems, "; "), http.StatusBadRequest)
		return
	}
	idp.mu.Lock()
	form := idp.form
	idp.mu.Unlock()
	if !form {
		idp.approve(w, r)
		return
	}
	// The provider's own page: the person signs in there and the form goes on.
	var hidden strings.Builder
	for k := range q {
		fmt.Fprintf(&hidden, `<input type="hidden" name="%s" value="%s">`, html.EscapeString(k), html.EscapeString(q.Get(k)))
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!doctype html><html lang="sv"><title>Kommunens inloggning</title><h1>Kommunens inloggning</h1>
<form method="post" action="/authorize">%s<button id="approve" type="submit">Logga in som %s</button></form></html>`, hidden.String(), html.EscapeString(idp.subject))
}

// approve signs the person in and sends them back with a code (or a refusal).
func (idp *fakeIdP) approve(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	back, err := url.Parse(r.Form.Get("redirect_uri"))
	if err != nil || r.Form.Get("redirect_uri") != idp.redirectURI {
		http.Error(w, "unknown redirect_uri", http.StatusBadRequest)
		return
	}
	q := url.Values{"state": {r.Form.Get("state")}}
	idp.mu.Lock()
	if idp.deny {
		q.Set("error", "access_denied")
		q.Set("error_description", "The user cancelled the sign-in")
	} else {
		code := rand.Text()
		g := &idpGrant{challenge: r.Form.Get("code_challenge"), nonce: r.Form.Get("nonce"), redirectURI: r.Form.Get("redirect_uri"),
			subject: idp.subject, roles: idp.roles}
		if idp.wrongChallenge {
			g.challenge = s256(rand.Text())
		}
		idp.grants[code] = g
		q.Set("code", code)
	}
	idp.mu.Unlock()
	back.RawQuery = q.Encode()
	http.Redirect(w, r, back.String(), http.StatusSeeOther)
}

func s256(verifier string) string {
	h := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// token exchanges a code: the client must authenticate, the code must be new and for
// the same redirect URI, and SHA-256 of the code verifier must be the challenge.
func (idp *fakeIdP) token(w http.ResponseWriter, r *http.Request) {
	refuse := func(status int, code, why string) {
		idp.mu.Lock()
		idp.tokenRefusals = append(idp.tokenRefusals, code+": "+why)
		idp.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": why})
	}
	if err := r.ParseForm(); err != nil {
		refuse(http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	id, secret, basic := r.BasicAuth()
	if basic {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != idpClientID || secret != idpClientSecret {
		refuse(http.StatusUnauthorized, "invalid_client", "unknown client or wrong secret")
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "authorization_code" {
		refuse(http.StatusBadRequest, "unsupported_grant_type", gt)
		return
	}
	idp.mu.Lock()
	g := idp.grants[r.PostForm.Get("code")]
	fresh := g != nil && !g.used
	if g != nil {
		g.used = true
	}
	idp.mu.Unlock()
	switch {
	case !fresh:
		refuse(http.StatusBadRequest, "invalid_grant", "unknown or used code")
		return
	case r.PostForm.Get("redirect_uri") != g.redirectURI:
		refuse(http.StatusBadRequest, "invalid_grant", "redirect_uri differs")
		return
	case r.PostForm.Get("code_verifier") == "" || s256(r.PostForm.Get("code_verifier")) != g.challenge:
		refuse(http.StatusBadRequest, "invalid_grant", "PKCE verification failed")
		return
	}
	idToken, err := idp.keys.MintClaims(g.subject, 5*time.Minute,
		map[string]any{"aud": idpClientID, "nonce": g.nonce, "name": "Anna Berg", "preferred_username": g.subject}, g.roles...)
	if err != nil {
		refuse(http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "at-" + rand.Text(), "token_type": "Bearer",
		"expires_in": 300, "id_token": idToken})
}

func (idp *fakeIdP) set(f func(*fakeIdP)) {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	f(idp)
}

func (idp *fakeIdP) refusals() []string {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	return append([]string(nil), idp.tokenRefusals...)
}

// oidcSite is the pages with signing in at idp, on a stand-in API, served at
// http://127.0.0.1:port; verify is its token check.
func oidcSite(t *testing.T, idp *fakeIdP) (site string, verify auth.Verifier) {
	t.Helper()
	ctx := context.Background()
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	idp.redirectURI = srv.URL + "/login/callback"
	verify, err := auth.NewOIDC(ctx, auth.Config{Issuer: idp.URL, Audience: idpClientID})
	if err != nil {
		t.Fatal(err)
	}
	login, err := web.NewOIDCLogin(ctx, idp.URL, idpClientID, idpClientSecret, srv.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	// The pages a signed-in person lands on read lists; the stand-in has none.
	stub := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{}`)
	})
	r := gin.New()
	if err := web.Mount(r, web.Options{API: stub, Verify: verify, OIDC: login}); err != nil {
		t.Fatal(err)
	}
	h = r
	return srv.URL, verify
}

// visitor is a browser without a browser: a cookie jar, and redirects followed.
func visitor(t *testing.T) (*http.Client, http.CookieJar) {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 30 * time.Second}, jar
}

func get(t *testing.T, c *http.Client, address string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(address)
	if err != nil {
		t.Fatalf("GET %s: %v", address, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func cookie(jar http.CookieJar, site, name string) string {
	u, _ := url.Parse(site)
	for _, c := range jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

var refreshRE = regexp.MustCompile(`<meta http-equiv="refresh" content="0; url=([^"]*)">`)

// goOn is where a page sends the browser on at once, if it does.
func goOn(body string) string {
	m := refreshRE.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

var alertRE = regexp.MustCompile(`(?s)<p class="error" role="alert">(.*?)</p>`)

// alert is the page's error message, as text.
func alert(body string) string {
	m := alertRE.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// catalogue is a message in Swedish, as the pages show it by default.
func catalogue(t *testing.T, id string) string {
	t.Helper()
	b, err := os.ReadFile("messages/active.sv.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(id) + `: "(.*)"$`).FindStringSubmatch(string(b))
	if m == nil {
		t.Fatalf("no %s in active.sv.yaml", id)
	}
	return m[1]
}

func TestSignInAtTheIdentityProvider(t *testing.T) {
	idp := newFakeIdP(t, "localhost")
	site, verify := oidcSite(t, idp)

	t.Run("the sign-in page offers it above the token form", func(t *testing.T) {
		c, _ := visitor(t)
		_, body := get(t, c, site+"/login?next=/inbox")
		button := strings.Index(body, `<a class="button" href="/login/oidc?next=%2finbox">`+catalogue(t, "SignInWithProvider")+`</a>`)
		form := strings.Index(body, `<form method="post" action="/login"`)
		if button < 0 || form < 0 || button > form {
			t.Fatalf("want the button (at %d) above the token form (at %d):\n%s", button, form, body)
		}
	})

	t.Run("a guide signs in and lands where they were going", func(t *testing.T) {
		c, jar := visitor(t)
		resp, body := get(t, c, site+"/login/oidc?next=/inbox")
		// The callback's page sends the browser on (see TestBrowserSignsInAtTheIdentityProvider).
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/login/callback" || goOn(body) != "/inbox" {
			t.Fatalf("ended at %s with %d, want the callback's page going on to /inbox:\n%s", resp.Request.URL, resp.StatusCode, body)
		}
		if !strings.Contains(body, `<a href="/inbox" id="go-on">`) {
			t.Errorf("the page has no link to go on by hand:\n%s", body)
		}
		resp, body = get(t, c, site+goOn(body))
		if resp.StatusCode != http.StatusOK || resp.Request.URL.String() != site+"/inbox" {
			t.Fatalf("ended at %s with %d, want %s/inbox:\n%s", resp.Request.URL, resp.StatusCode, site, body)
		}
		if !strings.Contains(body, `action="/logout"`) || !strings.Contains(body, "g-anna") {
			t.Errorf("the inbox does not show a signed-in g-anna:\n%s", body)
		}
		session := cookie(jar, site, "stegvis_session")
		p, err := verify.Verify(context.Background(), session)
		if err != nil || p.Subject != "g-anna" || !p.Has(auth.Guide) {
			t.Errorf("the session is not g-anna's ID token: %+v %v", p, err)
		}
		if v := cookie(jar, site, "stegvis_oidc"); v != "" {
			t.Errorf("the sign-in's cookie is still there: %q", v)
		}
		if r := idp.refusals(); len(r) != 0 {
			t.Errorf("the provider refused the exchange: %v", r)
		}
	})

	t.Run("the start sets a short-lived Lax cookie and sends PKCE and a nonce", func(t *testing.T) {
		c, _ := visitor(t)
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, _ := get(t, c, site+"/login/oidc?next=/participants/p-1")
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("status %d, want 302", resp.StatusCode)
		}
		to, _ := url.Parse(resp.Header.Get("Location"))
		if to.Scheme+"://"+to.Host != idp.URL || to.Path != "/authorize" || to.Query().Get("code_challenge_method") != "S256" ||
			to.Query().Get("nonce") == "" || to.Query().Get("scope") != "openid profile" || to.Query().Get("redirect_uri") != site+"/login/callback" {
			t.Errorf("redirected to %s", to)
		}
		var flow *http.Cookie
		for _, ck := range resp.Cookies() {
			if ck.Name == "stegvis_oidc" {
				flow = ck
			}
		}
		if flow == nil || !flow.HttpOnly || flow.SameSite != http.SameSiteLaxMode || flow.MaxAge <= 0 || flow.MaxAge > 900 {
			t.Fatalf("the flow's cookie: %+v", flow)
		}
		if strings.Contains(resp.Header.Get("Location"), url.QueryEscape(flow.Value)) {
			t.Error("the cookie is in the address")
		}
	})

	// signInUpToCallback runs the flow up to the provider's redirect back and returns
	// the callback address, without following it.
	signInUpToCallback := func(t *testing.T, c *http.Client, next string) string {
		t.Helper()
		stop := c.CheckRedirect
		defer func() { c.CheckRedirect = stop }()
		c.CheckRedirect = func(r *http.Request, _ []*http.Request) error {
			if r.URL.Path == "/login/callback" {
				return http.ErrUseLastResponse
			}
			return nil
		}
		resp, body := get(t, c, site+"/login/oidc?next="+url.QueryEscape(next))
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("the provider answered %d:\n%s", resp.StatusCode, body)
		}
		return resp.Header.Get("Location")
	}

	t.Run("a tampered state is refused", func(t *testing.T) {
		c, jar := visitor(t)
		back, _ := url.Parse(signInUpToCallback(t, c, "/inbox"))
		q := back.Query()
		q.Set("state", q.Get("state")+"x")
		back.RawQuery = q.Encode()
		resp, body := get(t, c, back.String())
		if resp.StatusCode != http.StatusBadRequest || alert(body) != catalogue(t, "SignInInterrupted") {
			t.Fatalf("status %d, alert %q:\n%s", resp.StatusCode, alert(body), body)
		}
		if cookie(jar, site, "stegvis_session") != "" {
			t.Error("a session cookie was set")
		}
		if !strings.Contains(body, `href="/login/oidc?next=%2finbox"`) {
			t.Error("the page does not offer to try again, to the same place")
		}
	})

	t.Run("a callback from another browser is refused", func(t *testing.T) {
		c, _ := visitor(t)
		back := signInUpToCallback(t, c, "/inbox")
		other, jar := visitor(t) // the victim of a forged callback: no sign-in of theirs under way
		resp, body := get(t, other, back)
		if resp.StatusCode != http.StatusBadRequest || alert(body) != catalogue(t, "SignInInterrupted") || cookie(jar, site, "stegvis_session") != "" {
			t.Fatalf("status %d, alert %q", resp.StatusCode, alert(body))
		}
	})

	t.Run("a refusal at the provider shows the message", func(t *testing.T) {
		idp.set(func(p *fakeIdP) { p.deny = true })
		defer idp.set(func(p *fakeIdP) { p.deny = false })
		c, jar := visitor(t)
		resp, body := get(t, c, site+"/login/oidc?next=/inbox")
		if resp.StatusCode != http.StatusForbidden || resp.Request.URL.Path != "/login/callback" || alert(body) != catalogue(t, "SignInDenied") {
			t.Fatalf("status %d at %s, alert %q:\n%s", resp.StatusCode, resp.Request.URL, alert(body), body)
		}
		if cookie(jar, site, "stegvis_session") != "" || strings.Contains(body, "cancelled") {
			t.Error("a session cookie was set, or the provider's words shown")
		}
	})

	t.Run("a person without a stegvis role is refused as with a token", func(t *testing.T) {
		idp.set(func(p *fakeIdP) { p.subject, p.roles = "x-cook", []auth.Role{"cook"} })
		defer idp.set(func(p *fakeIdP) { p.subject, p.roles = "g-anna", []auth.Role{auth.Guide} })
		c, jar := visitor(t)
		resp, body := get(t, c, site+"/login/oidc?next=/inbox")
		if resp.StatusCode != http.StatusForbidden || alert(body) != catalogue(t, "SignInNoRole") || cookie(jar, site, "stegvis_session") != "" {
			t.Fatalf("status %d, alert %q", resp.StatusCode, alert(body))
		}
	})

	t.Run("a PKCE mismatch at the token endpoint fails cleanly", func(t *testing.T) {
		idp.set(func(p *fakeIdP) { p.wrongChallenge = true })
		defer idp.set(func(p *fakeIdP) { p.wrongChallenge = false })
		before := len(idp.refusals())
		c, jar := visitor(t)
		resp, body := get(t, c, site+"/login/oidc?next=/inbox")
		if resp.StatusCode != http.StatusBadGateway || alert(body) != catalogue(t, "SignInProviderFailed") || cookie(jar, site, "stegvis_session") != "" {
			t.Fatalf("status %d, alert %q:\n%s", resp.StatusCode, alert(body), body)
		}
		if r := idp.refusals()[before:]; len(r) != 1 || !strings.Contains(r[0], "PKCE") {
			t.Errorf("the provider refused %v, want one PKCE refusal", r)
		}
		for _, leak := range []string{"invalid_grant", "oauth2", "PKCE", "goroutine"} {
			if strings.Contains(body, leak) {
				t.Errorf("the page shows %q", leak)
			}
		}
	})

	t.Run("a callback is used once", func(t *testing.T) {
		c, _ := visitor(t)
		back := signInUpToCallback(t, c, "/inbox")
		if resp, body := get(t, c, back); resp.StatusCode != http.StatusOK || goOn(body) != "/inbox" {
			t.Fatalf("the first callback: %d, going on to %q", resp.StatusCode, goOn(body))
		}
		// Replayed: the flow is over, so it is refused before the provider is asked.
		resp, body := get(t, c, back)
		if resp.StatusCode != http.StatusBadRequest || alert(body) != catalogue(t, "SignInInterrupted") {
			t.Errorf("replayed: status %d, alert %q", resp.StatusCode, alert(body))
		}
	})

	t.Run("next leaves the site never", func(t *testing.T) {
		for _, next := range []string{"//evil.example", "https://evil.example/", `/\evil.example`, "/\t/evil.example", "/\n/evil.example"} {
			c, jar := visitor(t)
			var seen []string
			c.CheckRedirect = func(r *http.Request, _ []*http.Request) error {
				seen = append(seen, r.URL.String())
				return nil
			}
			resp, body := get(t, c, site+"/login/oidc?next="+url.QueryEscape(next))
			if resp.StatusCode != http.StatusOK || goOn(body) != "/" || cookie(jar, site, "stegvis_session") == "" {
				t.Errorf("next=%s: %d, going on to %q", next, resp.StatusCode, goOn(body))
			}
			if strings.Contains(body, "evil.example") {
				t.Errorf("next=%s: the page names it", next)
			}
			for _, s := range seen {
				if strings.Contains(s, "evil.example") && !strings.HasPrefix(s, idp.URL) {
					t.Errorf("next=%s: went to %s", next, s)
				}
			}
		}
	})
}

// TestBehindHTTPSTheFlowCookieIsHostOnly: with SecureCookie the sign-in's cookie is
// Secure and __Host-, so that no other host of the domain can plant one.
func TestBehindHTTPSTheFlowCookieIsHostOnly(t *testing.T) {
	idp := newFakeIdP(t, "127.0.0.1")
	login, err := web.NewOIDCLogin(context.Background(), idp.URL, idpClientID, "", "https://stegvis.kommun.se")
	if err != nil {
		t.Fatal(err)
	}
	r := gin.New()
	if err := web.Mount(r, web.Options{API: http.NotFoundHandler(), OIDC: login, SecureCookie: true}); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/login/oidc?next=/inbox", nil))
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Name != "__Host-stegvis_oidc" || !cookies[0].Secure || cookies[0].Path != "/" || cookies[0].Domain != "" ||
		!cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteLaxMode {
		t.Fatalf("cookies: %+v", cookies)
	}
	to, err := url.Parse(rec.Header().Get("Location"))
	if err != nil || to.Query().Get("redirect_uri") != "https://stegvis.kommun.se/login/callback" || to.Query().Get("client_id") != idpClientID {
		t.Errorf("redirected to %s", to)
	}
}

// TestRedirectsStayOnTheSite: a browser drops tabs and line breaks from an address,
// so "/<tab>/evil.example" is "//evil.example" to it.
func TestRedirectsStayOnTheSite(t *testing.T) {
	r := gin.New()
	if err := web.Mount(r, web.Options{API: http.NotFoundHandler()}); err != nil {
		t.Fatal(err)
	}
	for _, back := range []string{"//evil.example", "/\t/evil.example", "/\r\n/evil.example", `/\evil.example`, "https://evil.example"} {
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, httptest.NewRequest("GET", "/lang/en?back="+url.QueryEscape(back), nil))
		if loc := rec.Header().Get("Location"); loc != "/" {
			t.Errorf("back=%q: Location %q", back, loc)
		}
	}
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/lang/en?back="+url.QueryEscape("/participants/p-1?x=1"), nil))
	if loc := rec.Header().Get("Location"); loc != "/participants/p-1?x=1" {
		t.Errorf("a page of the site: Location %q", loc)
	}
}

// TestSignInWithoutTheProviderHasNoButton: without OIDC the page is as it was.
func TestSignInWithoutTheProviderHasNoButton(t *testing.T) {
	r := gin.New()
	if err := web.Mount(r, web.Options{API: http.NotFoundHandler(), Verify: nil}); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]int{"/login": http.StatusOK, "/login/oidc": http.StatusNotFound, "/login/callback": http.StatusNotFound} {
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != want {
			t.Errorf("%s: %d, want %d", path, rec.Code, want)
		}
		if path == "/login" && (strings.Contains(rec.Body.String(), "/login/oidc") || !strings.Contains(rec.Body.String(), `action="/login"`)) {
			t.Errorf("the sign-in page:\n%s", rec.Body.String())
		}
	}
}

func TestNewOIDCLoginSaysWhatIsWrong(t *testing.T) {
	ctx := context.Background()
	idp := newFakeIdP(t, "127.0.0.1")
	for _, c := range []struct{ issuer, publicURL, want string }{
		{idp.URL, "", "PUBLIC_URL"},
		{idp.URL, "stegvis.kommun.se", "PUBLIC_URL"},
		{idp.URL + "/elsewhere", "https://stegvis.kommun.se", "OIDC_ISSUER"},
	} {
		_, err := web.NewOIDCLogin(ctx, c.issuer, idpClientID, "", c.publicURL)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s %q: %v, want one line naming %s", c.issuer, c.publicURL, err, c.want)
		}
	}
}

// TestBrowserSignsInAtTheIdentityProvider is the whole way in Chromium: the provider
// on another site (localhost) with its own page, where the person clicks to sign in.
// The session cookie is SameSite=Strict, and the provider's redirect back is a
// navigation another site started: the person must still arrive signed in.
func TestBrowserSignsInAtTheIdentityProvider(t *testing.T) {
	path := needChromium(t)
	idp := newFakeIdP(t, "localhost")
	idp.set(func(p *fakeIdP) { p.form = true })
	site, _ := oidcSite(t, idp)

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("disable-extensions", true), chromedp.WindowSize(1280, 900))
	defer cancelAlloc()
	ctx, cancelTab := chromedp.NewContext(alloc, chromedp.WithErrorf(t.Logf))
	defer cancelTab()
	ctx, cancelTime := context.WithTimeout(ctx, browserTimeout)
	defer cancelTime()
	b := &session{t: t, ctx: ctx, dir: filepath.Join(artifacts(t), t.Name())}
	if err := os.RemoveAll(b.dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(b.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			b.screenshot("failed")
		}
	}()

	b.navigation("open the inbox", chromedp.Navigate(site+"/inbox"))
	b.run("the sign-in page", chromedp.WaitVisible(`a.button`, chromedp.ByQuery))
	b.screenshot("sign-in")
	b.navigation("click the button", chromedp.Click(`a.button`, chromedp.ByQuery))
	b.run("the provider's page", chromedp.WaitVisible(`#approve`, chromedp.ByQuery))
	b.screenshot("provider")
	b.navigation("sign in at the provider", chromedp.Click(`#approve`, chromedp.ByQuery))
	// The page that was loaded may still send the person on (within a second); the
	// callback's own page already shows the person signed in, so wait for the inbox too.
	var where string
	var signedIn bool
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		// A page that navigates while it is asked answers "Inspected target navigated
		// or closed": that is the person being sent on, so ask again.
		err := chromedp.Run(ctx, chromedp.Location(&where),
			chromedp.Evaluate(`document.readyState === "complete" && document.querySelector('form[action="/logout"]') !== null`, &signedIn))
		if err == nil && signedIn && where == site+"/inbox" {
			break
		}
	}
	b.screenshot("landed")
	if !signedIn || where != site+"/inbox" {
		t.Fatalf("landed at %s (signed in: %v), want signed in at %s/inbox", where, signedIn, site)
	}
}
