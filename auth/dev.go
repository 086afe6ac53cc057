package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// DevIssuer signs local tokens for `stegvis dev` and tests: an ES256 key kept in a
// file, so tokens stay valid across restarts. It is an issuer like any other: it
// serves its JWKS, and the API verifies its tokens through the same OIDC code.
type DevIssuer struct {
	Issuer string
	key    *ecdsa.PrivateKey
	keyID  string
}

// DevUser is a demo user that dev mints a token for.
type DevUser struct {
	ID   string `json:"-"`
	Role Role   `json:"role"`
	// Token is the bearer token.
	Token string `json:"token"`
}

// NewDevIssuer loads the key at keyFile, creating it when missing. An empty keyFile
// keeps the key in memory (tests).
func NewDevIssuer(issuer, keyFile string) (*DevIssuer, error) {
	d := &DevIssuer{Issuer: issuer, keyID: "dev-1"}
	if keyFile != "" {
		b, err := os.ReadFile(keyFile)
		if err == nil {
			block, _ := pem.Decode(b)
			if block == nil {
				return nil, fmt.Errorf("%s is not a PEM key; delete it and dev makes a new one", keyFile)
			}
			if d.key, err = x509.ParseECPrivateKey(block.Bytes); err != nil {
				return nil, fmt.Errorf("%s: %w; delete it and dev makes a new one", keyFile, err)
			}
			return d, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	d.key = key
	if keyFile != "" {
		der, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(keyFile), 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// Mint signs a token for subject with roles, valid for ttl, for the audience "stegvis".
func (d *DevIssuer) Mint(subject string, ttl time.Duration, roles ...Role) (string, error) {
	return d.MintClaims(subject, ttl, nil, roles...)
}

// MintClaims is Mint with more claims: extra adds to the standard ones and replaces
// any of them it names ({"aud": "my-client", "nonce": "…"} for an ID token issued to
// another client in a sign-in).
func (d *DevIssuer) MintClaims(subject string, ttl time.Duration, extra map[string]any, roles ...Role) (string, error) {
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: d.key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", d.keyID))
	if err != nil {
		return "", err
	}
	now := time.Now()
	claims := map[string]any{
		"iss": d.Issuer, "sub": subject, "aud": "stegvis", "roles": roles,
		"iat": jwt.NewNumericDate(now), "nbf": jwt.NewNumericDate(now.Add(-time.Minute)), "exp": jwt.NewNumericDate(now.Add(ttl)),
	}
	maps.Copy(claims, extra)
	return jwt.Signed(sig).Claims(claims).Serialize()
}

// JWKS is the issuer's public key set, as OIDC_JWKS_URL serves it.
func (d *DevIssuer) JWKS() jose.JSONWebKeySet {
	return jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: d.key.Public(), KeyID: d.keyID, Algorithm: string(jose.ES256), Use: "sig"}}}
}

// JWKSHandler serves JWKS().
func (d *DevIssuer) JWKSHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(d.JWKS())
	})
}

// Verifier verifies this issuer's tokens in process, with the OIDC code the API uses
// for any identity provider.
func (d *DevIssuer) Verifier() Verifier {
	ks := &oidc.StaticKeySet{PublicKeys: []crypto.PublicKey{d.key.Public()}}
	cfg := Config{Issuer: d.Issuer, Audience: "stegvis"}
	return &oidcVerifier{v: oidc.NewVerifier(d.Issuer, ks, &oidc.Config{ClientID: "stegvis", SupportedSigningAlgs: []string{oidc.ES256}}), cfg: cfg}
}

// MintAll mints a token for each user and writes {"<user>": {"role", "token"}} to file.
func (d *DevIssuer) MintAll(_ context.Context, users []DevUser, ttl time.Duration, file string) ([]DevUser, error) {
	out := make([]DevUser, len(users))
	byID := map[string]DevUser{}
	for i, u := range users {
		tok, err := d.Mint(u.ID, ttl, u.Role)
		if err != nil {
			return nil, err
		}
		u.Token = tok
		out[i] = u
		byID[u.ID] = u
	}
	b, err := json.MarshalIndent(byID, "", "  ")
	if err != nil {
		return nil, err
	}
	return out, os.WriteFile(file, append(b, '\n'), 0o600)
}
