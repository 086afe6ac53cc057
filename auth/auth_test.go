package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestClaimsBecomeAPrincipal(t *testing.T) {
	for _, c := range []struct {
		name   string
		cfg    Config
		claims map[string]any
		want   Principal
		err    string
	}{
		{"list", Config{}, map[string]any{"sub": "g-anna", "roles": []any{"guide", "team_lead", "guide", "cook"}},
			Principal{"g-anna", []Role{Guide, TeamLead}}, ""},
		{"string", Config{}, map[string]any{"sub": "g-anna", "roles": "guide admin"}, Principal{"g-anna", []Role{Guide, Admin}}, ""},
		{"keycloak", Config{RolesClaim: "realm_access.roles"}, map[string]any{"sub": "x", "realm_access": map[string]any{"roles": []any{"unit_manager"}}},
			Principal{"x", []Role{UnitManager}}, ""},
		{"prefix", Config{RolePrefix: "stegvis."}, map[string]any{"sub": "x", "roles": []any{"guide", "stegvis.case_worker", "other.admin"}},
			Principal{"x", []Role{CaseWorker}}, ""},
		{"user claim", Config{UserClaim: "preferred_username"}, map[string]any{"sub": "uuid-1", "preferred_username": "tl-bo", "roles": "team_lead"},
			Principal{"tl-bo", []Role{TeamLead}}, ""},
		{"service without the user claim", Config{UserClaim: "preferred_username"}, map[string]any{"sub": "ekb", "roles": "system"},
			Principal{"ekb", []Role{System}}, ""},
		{"no roles", Config{}, map[string]any{"sub": "x"}, Principal{Subject: "x"}, ""},
		{"no user", Config{}, map[string]any{"roles": "guide"}, Principal{}, `no "sub" claim`},
	} {
		got, err := c.cfg.principal(c.claims)
		if c.err != "" {
			if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: %v, want %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil || got.Subject != c.want.Subject || !slices.Equal(got.Roles, c.want.Roles) {
			t.Errorf("%s: %+v %v, want %+v", c.name, got, err, c.want)
		}
	}
}

// TestOIDCVerifiesAgainstTheIssuersJWKS is the production path: keys fetched from a
// JWKS URL over HTTP, issuer and audience checked.
func TestOIDCVerifiesAgainstTheIssuersJWKS(t *testing.T) {
	idp, err := NewDevIssuer("https://idp.test", "")
	if err != nil {
		t.Fatal(err)
	}
	jwks := httptest.NewServer(idp.JWKSHandler())
	defer jwks.Close()
	v, err := NewOIDC(context.Background(), Config{Issuer: "https://idp.test", JWKSURL: jwks.URL, Audience: "stegvis"})
	if err != nil {
		t.Fatal(err)
	}
	good, _ := idp.Mint("g-anna", time.Hour, Guide)
	p, err := v.Verify(context.Background(), good)
	if err != nil || p.Subject != "g-anna" || !p.Has(Guide) || p.Has(Admin) {
		t.Fatalf("a good token: %+v %v", p, err)
	}
	other, _ := NewDevIssuer("https://idp.test", "")
	forged, _ := other.Mint("g-anna", time.Hour, Admin)
	expired, _ := idp.Mint("g-anna", -time.Hour, Guide)
	elsewhere, _ := NewDevIssuer("https://evil.test", "")
	foreign, _ := elsewhere.Mint("g-anna", time.Hour, Guide)
	for name, c := range map[string]struct{ tok, want string }{
		"forged":       {forged, "signature"},
		"expired":      {expired, "expired"},
		"other issuer": {foreign, "issuer"},
		"garbage":      {"not.a.jwt", "JWT"},
	} {
		_, err := v.Verify(context.Background(), c.tok)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want it to say %q", name, err, c.want)
		}
	}
}

// TestMintClaimsAddsAndReplacesClaims: an ID token for another client, with a nonce,
// verifies against that client id as the audience and carries the extra claims; Mint
// is MintClaims without extras.
func TestMintClaimsAddsAndReplacesClaims(t *testing.T) {
	idp, err := NewDevIssuer("https://idp.test", "")
	if err != nil {
		t.Fatal(err)
	}
	jwks := httptest.NewServer(idp.JWKSHandler())
	defer jwks.Close()
	ctx := context.Background()
	client, err := NewOIDC(ctx, Config{Issuer: "https://idp.test", JWKSURL: jwks.URL, Audience: "stegvis-web"})
	if err != nil {
		t.Fatal(err)
	}
	stegvis, err := NewOIDC(ctx, Config{Issuer: "https://idp.test", JWKSURL: jwks.URL, Audience: "stegvis"})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := idp.MintClaims("g-anna", time.Hour, map[string]any{"aud": "stegvis-web", "nonce": "n-123", "name": "Anna Berg"}, Guide)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := client.Verify(ctx, tok); err != nil || p.Subject != "g-anna" || !p.Has(Guide) {
		t.Fatalf("for the client: %+v %v", p, err)
	}
	if _, err := stegvis.Verify(ctx, tok); err == nil || !strings.Contains(err.Error(), "audience") {
		t.Errorf("the audience was not replaced: %v", err)
	}
	claims := payload(t, tok)
	if claims["nonce"] != "n-123" || claims["name"] != "Anna Berg" || claims["aud"] != "stegvis-web" || claims["iss"] != "https://idp.test" {
		t.Errorf("claims: %v", claims)
	}
	plain, err := idp.Mint("g-anna", time.Hour, TeamLead)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := stegvis.Verify(ctx, plain); err != nil || !p.Has(TeamLead) {
		t.Errorf("Mint: %+v %v", p, err)
	}
	if c := payload(t, plain); c["aud"] != "stegvis" || c["nonce"] != nil || c["sub"] != "g-anna" {
		t.Errorf("Mint's claims: %v", c)
	}
}

// payload is a JWT's claims, unverified.
func payload(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
