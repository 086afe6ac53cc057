package temporalconn

import (
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/stegvis/stegvis/config"
)

func TestPlainConnectionHasNoTLS(t *testing.T) {
	o, err := Options(config.Temporal{Address: "t:7233", Namespace: "ns"}, zerolog.Nop(), nil)
	if err != nil || o.ConnectionOptions.TLS != nil || o.Credentials != nil {
		t.Fatalf("got %+v, %v", o.ConnectionOptions.TLS, err)
	}
}

func TestAnAPIKeyTurnsOnTLS(t *testing.T) {
	o, err := Options(config.Temporal{Address: "ns.acct.tmprl.cloud:7233", APIKey: "k"}, zerolog.Nop(), nil)
	if err != nil || o.ConnectionOptions.TLS == nil || o.Credentials == nil {
		t.Fatalf("API key without TLS or credentials: %+v, %v", o.ConnectionOptions.TLS, err)
	}
}

func TestMTLSNeedsBothCertificateAndKey(t *testing.T) {
	_, err := Options(config.Temporal{TLSCert: "/etc/stegvis/client.pem"}, zerolog.Nop(), nil)
	if err == nil || !strings.Contains(err.Error(), "TEMPORAL_TLS_KEY") {
		t.Fatalf("got %v", err)
	}
}

func TestAMissingCAFileIsNamed(t *testing.T) {
	_, err := Options(config.Temporal{TLS: true, TLSCA: "/nonexistent/ca.pem"}, zerolog.Nop(), nil)
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/ca.pem") {
		t.Fatalf("got %v", err)
	}
}
