// Package auth authenticates API callers: it verifies bearer tokens (OIDC/JWT against
// an issuer and its JWKS) and turns their claims into a Principal: a staff id and the
// stegvis roles. What a role may see is the API's business (api/authz.go).
package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
)

// Role is what a caller may do.
type Role string

// The roles. The first four are also org-chart roles (store.Staff.Role).
const (
	Guide       Role = "guide"        // their own participants
	TeamLead    Role = "team_lead"    // their team's participants and their unit's queue
	UnitManager Role = "unit_manager" // their unit's participants
	CaseWorker  Role = "case_worker"  // reads and attendance for their clients
	Admin       Role = "admin"        // the org chart, programmes and the audit log
	System      Role = "system"       // the case system's referrals, imports and automation
)

// Roles lists every role.
var Roles = []Role{Guide, TeamLead, UnitManager, CaseWorker, Admin, System}

// Principal is an authenticated caller.
type Principal struct {
	// Subject is the caller's staff id (or a system client's id): the user claim.
	Subject string
	Roles   []Role
}

// Has reports whether the caller holds any of the roles.
func (p Principal) Has(roles ...Role) bool {
	for _, r := range roles {
		if slices.Contains(p.Roles, r) {
			return true
		}
	}
	return false
}

// Verifier checks a bearer token and returns who sent it.
type Verifier interface {
	Verify(ctx context.Context, token string) (Principal, error)
}

// Config says where tokens come from and how their claims name the user and roles.
type Config struct {
	Issuer   string // the iss claim, and where discovery starts unless JWKSURL is set
	JWKSURL  string // the issuer's signing keys; discovered from Issuer when empty
	Audience string // the aud claim to require; empty skips the check
	// UserClaim names the claim holding the staff id ("sub", "preferred_username", …).
	UserClaim string
	// RolesClaim names the claim holding the roles, a string or a list; a dotted path
	// reaches into objects ("realm_access.roles" for Keycloak).
	RolesClaim string
	// RolePrefix is stripped from role values ("stegvis." makes "stegvis.guide" a guide);
	// values without it are ignored, so an IdP's other roles do not count.
	RolePrefix string
}

// ErrInvalid is wrapped by every verification failure; the message says why.
var ErrInvalid = errors.New("invalid token")

type oidcVerifier struct {
	v   *oidc.IDTokenVerifier
	cfg Config
}

// NewOIDC returns a verifier for tokens from cfg.Issuer. With a JWKSURL it needs no
// network at start; otherwise it reads the issuer's discovery document now.
func NewOIDC(ctx context.Context, cfg Config) (Verifier, error) {
	oc := &oidc.Config{ClientID: cfg.Audience, SkipClientIDCheck: cfg.Audience == "",
		SupportedSigningAlgs: []string{oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512, oidc.PS256, oidc.EdDSA}}
	if cfg.JWKSURL != "" {
		// The key set fetches lazily and refreshes on an unknown key id, with its own
		// context: the one given here ends when start-up does.
		ks := oidc.NewRemoteKeySet(context.WithoutCancel(ctx), cfg.JWKSURL)
		return &oidcVerifier{v: oidc.NewVerifier(cfg.Issuer, ks, oc), cfg: cfg}, nil
	}
	p, err := oidc.NewProvider(context.WithoutCancel(ctx), cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("OIDC discovery at %s failed: %w (check OIDC_ISSUER, or set OIDC_JWKS_URL)", cfg.Issuer, err)
	}
	return &oidcVerifier{v: p.Verifier(oc), cfg: cfg}, nil
}

func (o *oidcVerifier) Verify(ctx context.Context, token string) (Principal, error) {
	t, err := o.v.Verify(ctx, token)
	if err != nil {
		var expired *oidc.TokenExpiredError
		if errors.As(err, &expired) {
			return Principal{}, fmt.Errorf("%w: it expired at %s; sign in again", ErrInvalid, expired.Expiry.Format("2006-01-02 15:04"))
		}
		return Principal{}, fmt.Errorf("%w: %s", ErrInvalid, verifyReason(err))
	}
	var claims map[string]any
	if err := t.Claims(&claims); err != nil {
		return Principal{}, fmt.Errorf("%w: its claims are not a JSON object", ErrInvalid)
	}
	return o.cfg.principal(claims)
}

// verifyReason keeps the library's reason without key material or token text.
func verifyReason(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "issued by a different provider"):
		return "it was issued by another issuer than OIDC_ISSUER"
	case strings.Contains(msg, "expected audience"):
		return "it was issued for another audience than OIDC_AUDIENCE"
	case strings.Contains(msg, "signature"), strings.Contains(msg, "keys"):
		return "its signature does not match the issuer's keys"
	case strings.Contains(msg, "malformed"):
		return "it is not a JWT"
	default:
		return "it could not be verified"
	}
}

func (cfg Config) principal(claims map[string]any) (Principal, error) {
	userClaim := cmpOr(cfg.UserClaim, "sub")
	sub, _ := claims[userClaim].(string)
	if sub == "" {
		// A service signing in with client credentials has no person's claims; its
		// subject names it.
		sub, _ = claims["sub"].(string)
	}
	if sub == "" {
		return Principal{}, fmt.Errorf("%w: it has no %q claim naming the user (set OIDC_USER_CLAIM)", ErrInvalid, userClaim)
	}
	p := Principal{Subject: sub}
	var raw any = claims
	for part := range strings.SplitSeq(cmpOr(cfg.RolesClaim, "roles"), ".") {
		m, _ := raw.(map[string]any)
		raw = m[part]
	}
	var values []string
	switch v := raw.(type) {
	case string:
		values = strings.Fields(v)
	case []any:
		for _, e := range v {
			if s, ok := e.(string); ok {
				values = append(values, s)
			}
		}
	}
	for _, v := range values {
		name, ok := strings.CutPrefix(v, cfg.RolePrefix)
		if r := Role(name); ok && slices.Contains(Roles, r) && !slices.Contains(p.Roles, r) {
			p.Roles = append(p.Roles, r)
		}
	}
	return p, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
