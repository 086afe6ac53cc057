package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stegvis/stegvis/config"
)

// TestWebLoginSaysWhatToSet: signing in at the provider is off without a client id,
// and a client id without the rest stops the start with what to set.
func TestWebLoginSaysWhatToSet(t *testing.T) {
	ctx := context.Background()
	if l, err := webLogin(ctx, config.Auth{OIDCIssuer: "https://idp.invalid"}, ""); l != nil || err != nil {
		t.Errorf("without a client id: %v %v", l, err)
	}
	for _, c := range []struct {
		ac        config.Auth
		publicURL string
		want      string
	}{
		{config.Auth{ClientID: "stegvis-web"}, "https://stegvis.kommun.se", "OIDC_ISSUER"},
		{config.Auth{OIDCIssuer: "https://idp.invalid", ClientID: "stegvis-web"}, "", "set PUBLIC_URL"},
		{config.Auth{OIDCIssuer: "https://idp.invalid", ClientID: "stegvis-web", OIDCAudience: "api://stegvis"}, "https://stegvis.kommun.se", "set OIDC_AUDIENCE to it"},
	} {
		_, err := webLogin(ctx, c.ac, c.publicURL)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v %q: %v, want it to say %q", c.ac, c.publicURL, err, c.want)
		}
	}
}

func TestAPIWithAClientIDButNoPublicURLStopsWithOneLine(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	cmd := exec.Command(bin, "api", "--http-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "OIDC_ISSUER=https://idp.invalid", "OIDC_CLIENT_ID=stegvis-web", "PUBLIC_URL=",
		"DATABASE_URL=postgres://postgres@127.0.0.1:1/stegvis?sslmode=disable")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil {
		t.Fatal("api started without PUBLIC_URL")
	}
	out := strings.TrimRight(stderr.String(), "\n")
	if strings.Count(out, "\n") != 0 || !strings.Contains(out, "set PUBLIC_URL") {
		t.Fatalf("want one line saying to set PUBLIC_URL, got:\n%s", out)
	}
}
