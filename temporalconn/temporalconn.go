// Package temporalconn connects stegvis's processes to a Temporal cluster: any
// self-hosted cluster, with or without mTLS, or Temporal Cloud with an API key.
package temporalconn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"time"

	"github.com/rs/zerolog"
	"go.temporal.io/sdk/client"

	"github.com/stegvis/stegvis/config"
	"github.com/stegvis/stegvis/logging"
)

// Options builds the SDK's client options from configuration.
func Options(c config.Temporal, log zerolog.Logger, metrics client.MetricsHandler) (client.Options, error) {
	o := client.Options{
		HostPort:       c.Address,
		Namespace:      c.Namespace,
		Logger:         logging.SDK(log),
		MetricsHandler: metrics,
	}
	tlsConf, err := tlsConfig(c)
	if err != nil {
		return client.Options{}, err
	}
	o.ConnectionOptions.TLS = tlsConf
	if c.APIKey != "" {
		o.Credentials = client.NewAPIKeyStaticCredentials(c.APIKey)
	}
	return o, nil
}

func tlsConfig(c config.Temporal) (*tls.Config, error) {
	if !c.TLS && c.TLSCert == "" && c.TLSCA == "" && c.APIKey == "" {
		return nil, nil
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.TLSServerName}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return nil, fmt.Errorf("mTLS needs both TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY; one of them is empty")
	}
	if c.TLSCert != "" {
		pair, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("load Temporal client certificate %s: %w", c.TLSCert, err)
		}
		conf.Certificates = []tls.Certificate{pair}
	}
	if c.TLSCA != "" {
		pem, err := os.ReadFile(c.TLSCA)
		if err != nil {
			return nil, fmt.Errorf("read TEMPORAL_TLS_CA %s: %w", c.TLSCA, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("TEMPORAL_TLS_CA %s holds no PEM certificate", c.TLSCA)
		}
		conf.RootCAs = pool
	}
	return conf, nil
}

// Dial connects, retrying until Temporal answers or ctx ends, so that a worker started
// before its cluster waits instead of crashing in a restart loop.
func Dial(ctx context.Context, o client.Options, log zerolog.Logger) (client.Client, error) {
	backoff := time.Second
	for {
		c, err := client.DialContext(ctx, o)
		if err == nil {
			return c, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("connect to Temporal at %s: %w", o.HostPort, err)
		}
		log.Warn().Str("address", o.HostPort).Err(err).Dur("retry_in", backoff).Msg("Temporal is not reachable yet; check TEMPORAL_ADDRESS")
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("connect to Temporal at %s: %w", o.HostPort, ctx.Err())
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}
