// Package config declares every setting of stegvis as a flag with an environment
// variable of the same name (flag --database-url, variable DATABASE_URL). The README's
// configuration table lists them all; a test keeps the two in step.
package config

import (
	"flag"
	"fmt"
	"strings"
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
	ShutdownDelay   time.Duration
}

// Register adds the API listener flags.
func (c *HTTP) Register(fs *flag.FlagSet, defAddr string) {
	fs.StringVar(&c.Addr, "http-addr", defAddr, "address the HTTP API listens on")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 20*time.Second, "how long to let in-flight requests and tasks finish on shutdown")
}

// RegisterShutdownDelay adds the flag for how long the API keeps serving after a stop
// signal before its listener closes.
func (c *HTTP) RegisterShutdownDelay(fs *flag.FlagSet) {
	fs.DurationVar(&c.ShutdownDelay, "shutdown-delay", 5*time.Second, "when stopping (SIGTERM, Ctrl+C), how long to keep serving with /readyz answering 503, so load balancers stop sending here before the listener closes; then SHUTDOWN_TIMEOUT drains")
}

// Worker is the worker process's own settings.
type Worker struct {
	MetricsAddr string
}

// Register adds the worker flags.
func (c *Worker) Register(fs *flag.FlagSet) {
	fs.StringVar(&c.MetricsAddr, "metrics-addr", ":9090", "address of the worker's /metrics and /healthz; empty to disable")
}

// Metrics is how the processes work out the read model's business metrics.
type Metrics struct {
	// Refresh is how long /metrics serves the read-model counts (stegvis_journeys,
	// stegvis_deadlines_*) before a scrape queries PostgreSQL again.
	Refresh time.Duration
}

// Register adds the metrics flags.
func (c *Metrics) Register(fs *flag.FlagSet) {
	fs.DurationVar(&c.Refresh, "metrics-refresh", 30*time.Second, "how long /metrics serves the read model's counts (stegvis_journeys, stegvis_deadlines_*) before it queries PostgreSQL again")
}

// Dev is the single-process laptop setup.
type Dev struct {
	DataDir      string
	TemporalIP   string
	TemporalPort int
	UIPort       int
	TemporalDB   string // sqlite or postgres
	TemporalURL  string // the PostgreSQL database when TemporalDB is postgres
}

// Validate checks the choice of Temporal persistence.
func (c *Dev) Validate() error {
	switch c.TemporalDB {
	case "sqlite", "postgres":
		return nil
	}
	return fmt.Errorf("--temporal-db %q: use sqlite (a file under --data-dir) or postgres (the database of --temporal-db-url)", c.TemporalDB)
}

// Register adds the dev flags.
func (c *Dev) Register(fs *flag.FlagSet) {
	fs.StringVar(&c.DataDir, "data-dir", ".data", "directory of the embedded Temporal server's SQLite file")
	fs.StringVar(&c.TemporalIP, "temporal-ip", "127.0.0.1", "address the embedded Temporal server and its Web UI bind to")
	fs.IntVar(&c.TemporalPort, "temporal-port", 7233, "gRPC port of the embedded Temporal server")
	fs.IntVar(&c.UIPort, "ui-port", 8233, "port of the Temporal Web UI; 0 to disable it")
	fs.StringVar(&c.TemporalDB, "temporal-db", "sqlite", "where the embedded Temporal server persists: sqlite (under --data-dir) or postgres (--temporal-db-url)")
	fs.StringVar(&c.TemporalURL, "temporal-db-url", "postgres://postgres@127.0.0.1:5432/stegvis_temporal?sslmode=disable",
		"the PostgreSQL database of the embedded Temporal server with --temporal-db postgres; it and <name>_visibility are created and migrated with Temporal's schema tool")
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

// Keys is the application-level encryption key ring: participants' names and
// personal identity numbers in PostgreSQL, and every Temporal payload.
type Keys struct {
	EncryptionKeys string
}

// Register adds the key flag.
func (c *Keys) Register(fs *flag.FlagSet) {
	fs.StringVar(&c.EncryptionKeys, "encryption-keys", "", "AES-256 key ring, id:base64key,… with the current key first (openssl rand -base64 32); dev makes one in --data-dir when empty")
}

// Auth is how the API authenticates callers and how hard it lets them push.
type Auth struct {
	OIDCIssuer   string
	OIDCJWKSURL  string
	OIDCAudience string
	UserClaim    string
	RolesClaim   string
	RolePrefix   string
	RateLimit    float64
	RateBurst    int
	CodecOrigins string
	SecureCookie bool
	ClientID     string
	ClientSecret string
	PublicURL    string
}

// Register adds the authentication flags.
func (c *Auth) Register(fs *flag.FlagSet) {
	fs.StringVar(&c.OIDCIssuer, "oidc-issuer", "", "OIDC issuer URL whose tokens the API accepts (the iss claim); required by stegvis api, dev mints its own when empty")
	fs.StringVar(&c.OIDCJWKSURL, "oidc-jwks-url", "", "the issuer's JWKS URL; discovered from OIDC_ISSUER/.well-known/openid-configuration when empty")
	fs.StringVar(&c.OIDCAudience, "oidc-audience", "", "audience (aud claim) tokens must carry, usually the client id registered for stegvis; empty skips the check")
	fs.StringVar(&c.UserClaim, "oidc-user-claim", "sub", "claim holding the staff id, as in the org chart")
	fs.StringVar(&c.RolesClaim, "oidc-roles-claim", "roles", "claim holding the stegvis roles (string or list; a dotted path such as realm_access.roles reaches into objects)")
	fs.StringVar(&c.RolePrefix, "oidc-role-prefix", "", "prefix of stegvis roles in the roles claim (stegvis. makes stegvis.guide a guide); other values are ignored")
	fs.StringVar(&c.ClientID, "oidc-client-id", "", "client id registered for stegvis at the identity provider; when set, the sign-in page offers signing in there (authorization code with PKCE)")
	fs.StringVar(&c.ClientSecret, "oidc-client-secret", "", "the client's secret at the identity provider; empty for a public client (PKCE only)")
	fs.StringVar(&c.PublicURL, "public-url", "", "address people reach stegvis at (https://stegvis.kommun.se); the sign-in returns to it at /login/callback; required with OIDC_CLIENT_ID by stegvis api")
	fs.Float64Var(&c.RateLimit, "rate-limit", 20, "requests per second each user may make (0: unlimited); more get 429 with Retry-After")
	fs.IntVar(&c.RateBurst, "rate-burst", 60, "requests a user may make at once before the rate limit applies")
	fs.BoolVar(&c.SecureCookie, "secure-cookie", true, "mark the web pages' session cookie Secure (served over HTTPS); dev serves plain HTTP and ignores it")
	fs.StringVar(&c.CodecOrigins, "codec-cors-origins", "", "comma-separated browser origins (the Temporal UI's URL) allowed to call /codec")
}

// Origins lists CodecOrigins.
func (c Auth) Origins() []string {
	var out []string
	for _, o := range strings.Split(c.CodecOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			out = append(out, o)
		}
	}
	return out
}

// Retention is how long personal data is kept after a participant leaves.
type Retention struct {
	AfterExit string
	Time      string
}

// Register adds the retention flags.
func (c *Retention) Register(fs *flag.FlagSet) {
	fs.StringVar(&c.AfterExit, "retention-after-exit", "60 months", "how long after exit a participant's personal data and free text are erased (e.g. 60 months, 2 weeks, 90s); empty keeps them")
	fs.StringVar(&c.Time, "retention-time", "03:00", "local time (Europe/Stockholm) of the daily retention run")
}

// WorkerTuning is how hard a worker process pulls work from Temporal.
type WorkerTuning struct {
	MaxPollers int
}

// Register adds the worker tuning flag.
func (c *WorkerTuning) Register(fs *flag.FlagSet) {
	fs.IntVar(&c.MaxPollers, "worker-pollers", 16, "most pollers per task type (workflow, activity); they scale with the backlog from 1 up to this; 0 keeps the SDK's fixed 2")
}

// SelfCheck is the daily self-check, which proves every journey alive (issue 13).
type SelfCheck struct {
	Time  string
	Grace time.Duration
}

// Register adds the self-check's flags of a process that schedules it: its time and
// its grace period.
func (c *SelfCheck) Register(fs *flag.FlagSet) {
	fs.StringVar(&c.Time, "self-check-time", "06:30", "local time (Europe/Stockholm) of the daily self-check, whose findings reach the unit managers' inboxes before the 08:00 notices; empty runs none")
	c.RegisterGrace(fs)
}

// RegisterGrace adds only the grace period, for a process that runs the check on demand.
func (c *SelfCheck) RegisterGrace(fs *flag.FlagSet) {
	fs.DurationVar(&c.Grace, "self-check-grace", 10*time.Minute, "how young a journey may be and not be held against the read model by the self-check (Temporal's list of running workflows lags)")
}

// Clock parses Time; ok is false when the daily self-check is off.
func (c SelfCheck) Clock() (hour, minute int, ok bool, err error) {
	if c.Time == "" {
		return 0, 0, false, nil
	}
	t, err := time.Parse("15:04", c.Time)
	if err != nil {
		return 0, 0, false, fmt.Errorf("SELF_CHECK_TIME %q: write a time of day as HH:MM, for example 06:30", c.Time)
	}
	return t.Hour(), t.Minute(), true, nil
}
