package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gin-gonic/gin"
	"github.com/rs/zerolog"
	"golang.org/x/oauth2"
)

// OIDCLogin is signing in to the pages at the municipality's identity provider: the
// OpenID Connect authorization-code flow with PKCE. The ID token the provider hands
// back becomes the session, checked first as the provider's ID token for this client
// (signature, issuer, audience, expiry, nonce) and then by the site's Verify, exactly
// as a pasted token is, so the user and role claims mean the same as in the API.
type OIDCLogin struct {
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
}

// CallbackPath is where the identity provider sends people back: PublicURL +
// CallbackPath is the redirect URI to register.
const CallbackPath = "/login/callback"

// flowTTL is how long a person has to sign in at the identity provider.
const flowTTL = 10 * time.Minute

// NewOIDCLogin reads the issuer's discovery document (its endpoints and keys) and
// returns the sign-in for client clientID; clientSecret is empty for a public client.
// publicURL is the address people reach stegvis at.
func NewOIDCLogin(ctx context.Context, issuer, clientID, clientSecret, publicURL string) (*OIDCLogin, error) {
	if clientID == "" {
		return nil, errors.New("OIDC_CLIENT_ID is empty")
	}
	u, err := url.Parse(publicURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("PUBLIC_URL %q is not the address people reach stegvis at, such as https://stegvis.kommun.se", publicURL)
	}
	// The provider's key set fetches with its own context: the one given ends with start-up.
	p, err := oidc.NewProvider(context.WithoutCancel(ctx), issuer)
	if err != nil {
		// One line: the provider's answer may have several.
		return nil, fmt.Errorf("OIDC discovery at %s failed: %s (signing in at the identity provider needs its discovery document; check OIDC_ISSUER, or unset OIDC_CLIENT_ID)",
			issuer, clip(strings.Join(strings.Fields(err.Error()), " "), 300))
	}
	// The client authenticates as the provider says it may: HTTP Basic unless it
	// offers only client_secret_post; a public client sends just its id.
	var meta struct {
		AuthMethods []string `json:"token_endpoint_auth_methods_supported"`
	}
	_ = p.Claims(&meta)
	endpoint := p.Endpoint()
	endpoint.AuthStyle = oauth2.AuthStyleInHeader
	if clientSecret == "" || len(meta.AuthMethods) > 0 && !slices.Contains(meta.AuthMethods, "client_secret_basic") && slices.Contains(meta.AuthMethods, "client_secret_post") {
		endpoint.AuthStyle = oauth2.AuthStyleInParams
	}
	return &OIDCLogin{
		oauth: oauth2.Config{ClientID: clientID, ClientSecret: clientSecret, Endpoint: endpoint,
			RedirectURL: strings.TrimRight(publicURL, "/") + CallbackPath, Scopes: []string{oidc.ScopeOpenID, "profile"}},
		verifier: p.Verifier(&oidc.Config{ClientID: clientID,
			SupportedSigningAlgs: []string{oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512, oidc.PS256, oidc.EdDSA}}),
	}, nil
}

// oidcFlow is one sign-in under way, kept in a short-lived cookie between the start
// and the callback. Nothing in it is trusted beyond this browser: the state must come
// back from the provider unchanged, the nonce must be in the ID token the provider
// signed, the verifier must match the challenge the provider was given, and next is
// checked again with safeNext.
type oidcFlow struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Next     string `json:"next"`
}

// flowCookie is the cookie's name: behind HTTPS with the __Host- prefix, so that no
// other host of the domain can plant one.
func (s *site) flowCookie() string {
	if s.SecureCookie {
		return "__Host-stegvis_oidc"
	}
	return "stegvis_oidc"
}

// oidcStart sends the person to the identity provider. The flow's cookie is
// SameSite=Lax: the provider's redirect back is a top-level GET from another site,
// which must carry it.
func (s *site) oidcStart(c *gin.Context) {
	f := oidcFlow{State: rand.Text(), Nonce: rand.Text(), Verifier: oauth2.GenerateVerifier(), Next: safeNext(c.Query("next"))}
	b, err := json.Marshal(f)
	if err != nil {
		panic(err) // four strings
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: s.flowCookie(), Value: base64.RawURLEncoding.EncodeToString(b), Path: "/",
		MaxAge: int(flowTTL.Seconds()), HttpOnly: true, Secure: s.SecureCookie, SameSite: http.SameSiteLaxMode})
	c.Header("Cache-Control", "no-store")
	c.Redirect(http.StatusFound, s.OIDC.oauth.AuthCodeURL(f.State, oauth2.S256ChallengeOption(f.Verifier), oidc.Nonce(f.Nonce),
		oauth2.SetAuthURLParam("ui_locales", s.i18n.language(c))))
}

// takeFlow reads the flow's cookie and removes it: a flow is used once.
func (s *site) takeFlow(c *gin.Context) (oidcFlow, bool) {
	var f oidcFlow
	v, err := c.Cookie(s.flowCookie())
	if err != nil {
		return f, false
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: s.flowCookie(), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.SecureCookie, SameSite: http.SameSiteLaxMode})
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || json.Unmarshal(b, &f) != nil || f.State == "" || f.Nonce == "" || f.Verifier == "" {
		return oidcFlow{}, false
	}
	return f, true
}

// oidcCallback is where the provider sends the person back with a code: it checks
// the state, exchanges the code with the PKCE verifier, verifies the ID token and its
// nonce, checks it as the API would, and makes it the session. Every failure is the
// sign-in page with a message from the catalogue; the reason goes to the log.
func (s *site) oidcCallback(c *gin.Context) {
	ctx := c.Request.Context()
	log := zerolog.Ctx(ctx)
	lang := s.i18n.language(c)
	f, ok := s.takeFlow(c)
	next := "/"
	if ok {
		next = safeNext(f.Next)
	}
	refuse := func(status int, message string) {
		s.render(c, status, "login", page{Title: s.i18n.text(lang, "SignIn"), Error: message, Data: s.loginData(next)})
	}
	if e := c.Query("error"); e != "" {
		log.Warn().Str("error", clip(e, 64)).Str("description", clip(c.Query("error_description"), 300)).
			Msg("the identity provider did not sign the person in")
		if e == "access_denied" {
			refuse(http.StatusForbidden, s.i18n.text(lang, "SignInDenied"))
		} else {
			refuse(http.StatusBadGateway, s.i18n.text(lang, "SignInProviderFailed"))
		}
		return
	}
	state := c.Query("state")
	if !ok || state == "" || subtle.ConstantTimeCompare([]byte(state), []byte(f.State)) != 1 {
		log.Warn().Bool("flow_cookie", ok).Msg("sign-in callback with a state that is not this browser's")
		refuse(http.StatusBadRequest, s.i18n.text(lang, "SignInInterrupted"))
		return
	}
	code := c.Query("code")
	if code == "" {
		log.Warn().Msg("sign-in callback without a code")
		refuse(http.StatusBadRequest, s.i18n.text(lang, "SignInProviderFailed"))
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tok, err := s.OIDC.oauth.Exchange(ctx, code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		log.Warn().Err(err).Msg("exchanging the sign-in code at the identity provider failed")
		refuse(http.StatusBadGateway, s.i18n.text(lang, "SignInProviderFailed"))
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		log.Warn().Msg("the identity provider's token response has no id_token (is the openid scope allowed for the client?)")
		refuse(http.StatusBadGateway, s.i18n.text(lang, "SignInProviderFailed"))
		return
	}
	idt, err := s.OIDC.verifier.Verify(ctx, raw)
	if err != nil {
		log.Warn().Err(err).Msg("the identity provider's ID token did not verify")
		refuse(http.StatusUnauthorized, s.i18n.text(lang, "SignInProviderFailed"))
		return
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(f.Nonce)) != 1 {
		log.Warn().Msg("the identity provider's ID token carries another nonce than this sign-in's")
		refuse(http.StatusUnauthorized, s.i18n.text(lang, "SignInProviderFailed"))
		return
	}
	p, err := s.Verify.Verify(ctx, raw)
	if err != nil {
		log.Warn().Err(err).Msg("the ID token from signing in is not accepted by the API's token check (is OIDC_AUDIENCE the client id?)")
		refuse(http.StatusUnauthorized, s.i18n.text(lang, "SignInNotAccepted"))
		return
	}
	if len(p.Roles) == 0 {
		log.Info().Str("user", p.Subject).Msg("signed in at the identity provider without a stegvis role")
		refuse(http.StatusForbidden, s.i18n.text(lang, "SignInNoRole"))
		return
	}
	s.setCookie(c, sessionCookie, raw, 12*time.Hour)
	// Not a redirect: this request is the end of a navigation the provider's page
	// started, and a browser sends no SameSite=Strict cookie on it nor on a redirect
	// it follows from here, so the session would not reach next. A page of our own
	// that moves on at once starts a navigation from this site, which carries it.
	s.render(c, http.StatusOK, "signedin", page{Title: s.i18n.text(lang, "SignIn"), Data: next})
}

// clip shortens what a caller sent before it is logged.
func clip(s string, n int) string {
	if len(s) > n {
		return strings.ToValidUTF8(s[:n], "") + "…"
	}
	return s
}
