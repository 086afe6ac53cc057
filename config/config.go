// Package config declares every setting of stegvis as a flag with an environment
// variable of the same name (flag --database-url, variable DATABASE_URL). The README's
// configuration table lists them all; a test keeps the two in step.
package config

import (
	"flag"
	"fmt"
	"time"

	"github.com/stegvis/stegvis/store"
)

// Log is the logging configuration.
type Log struct {
	Level  string
	Format string
}

// Register adds the logging flags; format defaults to defFormat.
func (c *Log) Register(fs *flag.FlagSet, defFormat string) {
	fs.StringVar(&c.Level, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&c.Format, "log-format", defFormat, "log format: json or console")
}

// Database is stegvis's own PostgreSQL database.
type Database struct {
	URL     string
	Migrate bool
}

// Register adds the database flags.
func (c *Database) Register(fs *flag.FlagSet) {
	c.RegisterURL(fs)
	fs.BoolVar(&c.Migrate, "migrate", true, "apply pending database migrations at start")
}

// RegisterURL adds only the database URL flag.
func (c *Database) RegisterURL(fs *flag.FlagSet) {
	fs.StringVar(&c.URL, "database-url", store.DefaultURL, "PostgreSQL URL of stegvis's own database; created if missing")
}

// Temporal says how to reach a Temporal cluster.
type Temporal struct {
	Address       string
	Namespace     string
	TLS           bool
	TLSCert       string
	TLSKey        string
	TLSCA         string
	TLSServerName string
	APIKey        string
}

// Register adds the Temporal connection flags.
func (c *Temporal) Register(fs *flag.FlagSet) {
	fs.StringVar(&c.Address, "temporal-address", "127.0.0.1:7233", "Temporal frontend host:port")
	fs.StringVar(&c.Namespace, "temporal-namespace", "default", "Temporal namespace")
	fs.BoolVar(&c.TLS, "temporal-tls", false, "connect to Temporal over TLS (implied by a client certificate or an API key)")
	fs.StringVar(&c.TLSCert, "temporal-tls-cert", "", "client certificate file (PEM) for mTLS")
	fs.StringVar(&c.TLSKey, "temporal-tls-key", "", "client private key file (PEM) for mTLS")
	fs.StringVar(&c.TLSCA, "temporal-tls-ca", "", "CA certificate file (PEM) to verify the server; system roots if empty")
	fs.StringVar(&c.TLSServerName, "temporal-tls-server-name", "", "server name to verify, if it differs from the address host")
	fs.StringVar(&c.APIKey, "temporal-api-key", "", "API key for Temporal Cloud or a server that accepts API keys")
}

// HTTP is the API server's listener.
type HTTP struct {
	Addr            string
	ShutdownTimeout time.Duration
}

// Register adds the API listener flags.
func (c *HTTP) Register(fs *flag.FlagSet, defAddr string) {
	fs.StringVar(&c.Addr, "http-addr", defAddr, "address the HTTP API listens on")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 20*time.Second, "how long to let in-flight requests and tasks finish on shutdown")
}

// Worker is the worker process's own settings.
type Worker struct {
	MetricsAddr string
}

// Register adds the worker flags.
func (c *Worker) Register(fs *flag.FlagSet) {
	fs.StringVar(&c.MetricsAddr, "metrics-addr", ":9090", "address of the worker's /metrics and /healthz; empty to disable")
}

// Dev is the single-process laptop setup.
type Dev struct {
	DataDir      string
	TemporalIP   string
	TemporalPort int
	UIPort       int
}

// Register adds the dev flags.
func (c *Dev) Register(fs *flag.FlagSet) {
	fs.StringVar(&c.DataDir, "data-dir", ".data", "directory of the embedded Temporal server's SQLite file")
	fs.StringVar(&c.TemporalIP, "temporal-ip", "127.0.0.1", "address the embedded Temporal server and its Web UI bind to")
	fs.IntVar(&c.TemporalPort, "temporal-port", 7233, "gRPC port of the embedded Temporal server")
	fs.IntVar(&c.UIPort, "ui-port", 8233, "port of the Temporal Web UI; 0 to disable it")
}

// Programs is where programme files are read from.
type Programs struct {
	Dir string
}

// Register adds the programmes flag.
func (c *Programs) Register(fs *flag.FlagSet) {
	fs.StringVar(&c.Dir, "programs-dir", "", "directory of programme files (*.yaml) that add to or replace the shipped ones")
}

// Delivery is how notifications leave stegvis: SMTP and a webhook.
type Delivery struct {
	SMTPAddr      string
	SMTPFrom      string
	SMTPUsername  string
	SMTPPassword  string
	WebhookURL    string
	WebhookSecret string
	DigestTime    string
}

// Register adds the delivery flags.
func (c *Delivery) Register(fs *flag.FlagSet) {
	fs.StringVar(&c.SMTPAddr, "smtp-addr", "", "SMTP server host:port for escalation emails; empty sends none")
	fs.StringVar(&c.SMTPFrom, "smtp-from", "stegvis@localhost", "sender address of notification emails")
	fs.StringVar(&c.SMTPUsername, "smtp-username", "", "SMTP user, when the server asks for one")
	fs.StringVar(&c.SMTPPassword, "smtp-password", "", "SMTP password")
	fs.StringVar(&c.WebhookURL, "webhook-url", "", "URL that receives every escalation as a signed JSON POST; empty sends none")
	fs.StringVar(&c.WebhookSecret, "webhook-secret", "", "shared secret of the webhook's HMAC-SHA256 signature header")
	fs.StringVar(&c.DigestTime, "digest-time", "07:30", "local time (Europe/Stockholm) of the daily digest email, Monday to Friday; empty sends none")
}

// DigestClock parses DigestTime; ok is false when digests are off.
func (c Delivery) DigestClock() (hour, minute int, ok bool, err error) {
	if c.DigestTime == "" {
		return 0, 0, false, nil
	}
	t, err := time.Parse("15:04", c.DigestTime)
	if err != nil {
		return 0, 0, false, fmt.Errorf("DIGEST_TIME %q: write a time of day as HH:MM, for example 07:30", c.DigestTime)
	}
	return t.Hour(), t.Minute(), true, nil
}
