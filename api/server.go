// Package api is stegvis's HTTP API: a Gin router under /v1 that starts journeys,
// reads them through a workflow query and records what guides did through Updates.
package api

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/rs/zerolog"
	"go.temporal.io/sdk/client"

	"github.com/stegvis/stegvis/auth"
	"github.com/stegvis/stegvis/metrics"
	"github.com/stegvis/stegvis/program"
	"github.com/stegvis/stegvis/protect"
	"github.com/stegvis/stegvis/selfcheck"
	"github.com/stegvis/stegvis/store"
	"github.com/stegvis/stegvis/workflows"
)

//go:embed openapi.yaml
var openAPISpec []byte

// OpenAPISpec returns the OpenAPI 3 document served at /openapi.yaml.
func OpenAPISpec() []byte { return openAPISpec }

// Database is the part of stegvis's database the API uses: readiness, the audit log
// and the read model.
type Database interface {
	Ping(ctx context.Context) error
	Audit(ctx context.Context, e store.AuditEntry) error
	Participants(ctx context.Context, now time.Time, f store.ParticipantFilter) ([]store.ParticipantRow, error)
	Queue(ctx context.Context, now time.Time, unit string, scope store.Scope) ([]store.QueueRow, error)
	Overdue(ctx context.Context, now time.Time, f store.OverdueFilter) ([]store.OverdueRow, error)
	AuditMany(ctx context.Context, e store.AuditEntry, participantIDs []string) error
	AuditLog(ctx context.Context, f store.AuditFilter) ([]store.AuditRecord, error)
	StaffMember(ctx context.Context, id string) (store.Staff, error)
	SaveIdentity(ctx context.Context, id store.Identity) (bool, error)
	IdentityOf(ctx context.Context, participantID string) (store.Identity, error)
	UpsertUnit(ctx context.Context, u store.Unit) error
	Units(ctx context.Context) ([]store.Unit, error)
	SetUnitActive(ctx context.Context, id string, active bool) error
	UpsertStaff(ctx context.Context, st store.Staff) error
	UpsertStaffBatch(ctx context.Context, list []store.Staff) error
	StaffList(ctx context.Context, unit string) ([]store.Staff, error)
	SetStaffActive(ctx context.Context, id string, active bool) error
	Unit(ctx context.Context, id string) (store.Unit, error)
	ActiveUnitIDs(ctx context.Context, limit int) ([]string, error)
	ActiveStaffIDs(ctx context.Context, unit, role string, limit int) ([]string, error)
	Inbox(ctx context.Context, recipient string, unreadOnly bool, limit int) ([]store.InboxItem, error)
	MarkRead(ctx context.Context, number int64, recipient string) (store.InboxItem, error)
	RoleInbox(ctx context.Context, role string, unreadOnly bool, limit int) ([]store.InboxItem, error)
	MarkReadForRole(ctx context.Context, number int64, role string) (store.InboxItem, error)
	MarkDeliveryHandled(ctx context.Context, number int64, by string) (store.InboxItem, error)
	ResolveJournalFailures(ctx context.Context, participantID string) (int64, error)
	PlanTimeliness(ctx context.Context, now time.Time, p store.Period) ([]store.TimelinessRow, error)
	FollowUpTimeliness(ctx context.Context, now time.Time, p store.Period) ([]store.TimelinessRow, error)
	StepAttainment(ctx context.Context, now time.Time, p store.Period) ([]store.StepRow, error)
	Exits(ctx context.Context, p store.Period) ([]store.ExitRow, error)
	WaitingTime(ctx context.Context, now time.Time, p store.Period) ([]store.WaitingRow, error)
	Caseload(ctx context.Context, now time.Time, unit string) ([]store.CaseloadRow, error)
	OverdueByGuide(ctx context.Context, now time.Time, unit string) ([]store.GuideOverdueRow, error)
}

// Deps are what the API needs.
type Deps struct {
	Temporal client.Client
	DB       Database
	Log      zerolog.Logger
	Metrics  *metrics.Registry
	// Programs are the programmes journeys can start on; the shipped ones when nil.
	Programs *program.Catalog
	// Namespace is the Temporal namespace, to check that the search attributes exist.
	Namespace string
	// Now is the clock used for statuses and validation; time.Now when nil.
	Now func() time.Time
	// Auth verifies bearer tokens; every /v1 request needs one.
	Auth auth.Verifier
	// Keys seal participants' names and personal identity numbers in PostgreSQL, and
	// serve the codec endpoint that lets the Temporal UI decrypt payloads.
	Keys *protect.Keyring
	// RateLimit is requests per second per user (0: unlimited), RateBurst the bucket.
	RateLimit float64
	RateBurst int
	// CodecOrigins may call the codec endpoint from a browser (the Temporal UI's URL).
	CodecOrigins []string
	// SelfCheck serves GET /v1/admin/self-check; without it the endpoint answers 503.
	SelfCheck *selfcheck.Checker
}

type server struct {
	namespace string
	indexMu   sync.Mutex
	indexed   bool      // the search attributes exist (once true, it stays)
	checked   time.Time // when they were last found missing
	tc        client.Client
	db        Database
	programs  *program.Catalog
	now       func() time.Time
	verifier  auth.Verifier
	keys      *protect.Keyring
	limits    *limiter
	checker   *selfcheck.Checker
	input     *metrics.Input
}

func init() { gin.SetMode(gin.ReleaseMode) }

// NewRouter returns the API's handler.
func NewRouter(d Deps) *gin.Engine {
	s := &server{tc: d.Temporal, db: d.DB, programs: d.Programs, now: d.Now, namespace: d.Namespace,
		verifier: d.Auth, keys: d.Keys, limits: newLimiter(d.RateLimit, max(d.RateBurst, 1)), checker: d.SelfCheck,
		input: d.Metrics.NewInput()}
	if s.verifier == nil {
		panic("api: Deps.Auth is required; the API never runs without authentication")
	}
	if s.keys == nil {
		panic("api: Deps.Keys is required to seal personal data")
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.programs == nil {
		s.programs = program.Default()
	}
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	r.Use(requestContext(d.Log, d.Metrics.NewHTTP()), recovery(), withInputMetrics(s.input))
	r.NoRoute(func(c *gin.Context) {
		fail(c, http.StatusNotFound, CodeNotFound, "no such endpoint; the API is described at /openapi.yaml")
	})
	r.NoMethod(func(c *gin.Context) {
		fail(c, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "this endpoint does not take "+c.Request.Method+"; see /openapi.yaml")
	})

	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	r.GET("/metrics", gin.WrapH(d.Metrics.Handler()))
	r.GET("/openapi.yaml", func(c *gin.Context) { c.Data(http.StatusOK, "application/yaml", openAPISpec) })

	s.codecRoutes(r, d.CodecOrigins)

	// Everything under /v1 needs a token; each route names the roles it is for, and
	// the participant routes check ownership too (authz.go).
	// Parameters are checked once the caller is known, before any handler reads them.
	v1 := r.Group("/v1", s.authenticate(), checkParams())
	v1.GET("/programs", s.listPrograms)
	v1.GET("/programs/:id", s.getProgram)
	v1.POST("/programs/:id/migrate", s.allow(admins...), s.migrateJourneys)
	v1.POST("/participants", s.countImportRow(), s.allow(systems...), s.startJourney)
	v1.GET("/participants", s.allow(readers...), s.listParticipants)
	v1.GET("/guides/:id/caseload", s.allow(auth.Guide, auth.TeamLead, auth.UnitManager, auth.System), s.caseload)
	v1.GET("/queue", s.allow(leads...), s.queue)
	v1.GET("/overdue", s.allow(overdueReaders...), s.overdue)
	v1.GET("/units", s.listUnits)
	v1.PUT("/units/:id", s.allow(admins...), s.putUnit)
	v1.DELETE("/units/:id", s.allow(admins...), s.deactivateUnit)
	v1.GET("/staff", s.listStaff)
	v1.POST("/staff/import", s.allow(admins...), s.importStaff)
	v1.PUT("/staff/:id", s.allow(admins...), s.putStaff)
	v1.DELETE("/staff/:id", s.allow(admins...), s.deactivateStaff)
	v1.GET("/reports/plan-timeliness", s.allow(leads...), s.planTimeliness)
	v1.GET("/reports/follow-up-timeliness", s.allow(leads...), s.followUpTimeliness)
	v1.GET("/reports/step-attainment", s.allow(leads...), s.stepAttainment)
	v1.GET("/reports/exits", s.allow(leads...), s.exitsReport)
	v1.GET("/reports/waiting-time", s.allow(leads...), s.waitingTime)
	v1.GET("/reports/caseload", s.allow(leads...), s.caseloadReport)
	v1.GET("/reports/overdue-by-guide", s.allow(leads...), s.overdueByGuideReport)
	v1.GET("/notifications", s.allow(inboxRoles...), s.inbox)
	v1.POST("/notifications/:number/read", s.allow(inboxRoles...), s.markRead)
	v1.GET("/audit", s.allow(admins...), s.auditLog)
	v1.GET("/admin/self-check", s.allow(admins...), s.selfCheck)
	v1.POST("/admin/deliveries/:number/handled", s.allow(admins...), s.markDeliveryHandled)
	v1.POST("/admin/journal-failures/:id/resolved", s.allow(admins...), s.resolveJournalFailures)
	v1.GET("/participants/:id", s.forParticipant(readers...), s.getJourney)
	v1.POST("/participants/:id/plan", s.forParticipant(recorders...), s.recordPlan)
	v1.POST("/participants/:id/guide", s.forParticipant(recorders...), s.assignGuide)
	v1.POST("/participants/:id/mapping", s.forParticipant(recorders...), s.recordMapping)
	v1.POST("/participants/:id/meetings", s.forParticipant(attendance...), s.recordMeeting)
	v1.POST("/participants/:id/steps", s.forParticipant(recorders...), s.passStep)
	v1.POST("/participants/:id/pause", s.forParticipant(recorders...), s.pause)
	v1.POST("/participants/:id/resume", s.forParticipant(recorders...), s.resume)
	v1.POST("/participants/:id/transfer", s.forParticipant(leads...), s.transfer)
	v1.POST("/participants/:id/exit", s.forParticipant(recorders...), s.exit)
	v1.POST("/participants/:id/deepened-plan", s.forParticipant(recorders...), s.recordDeepenedPlan)
	return r
}

// searchIndexed reports whether journeys may upsert their search attributes: only when
// the namespace has them, or every workflow task would fail. A miss is asked again after
// a minute, so registering them later takes effect without a restart.
func (s *server) searchIndexed(ctx context.Context) bool {
	s.indexMu.Lock()
	defer s.indexMu.Unlock()
	if s.indexed || s.namespace == "" || time.Since(s.checked) < time.Minute {
		return s.indexed
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	ok, err := workflows.SearchAttributesRegistered(cctx, s.tc, s.namespace)
	if err != nil || !ok {
		s.checked = time.Now()
		zerolog.Ctx(ctx).Warn().Err(err).Msg("journey search attributes are not registered; journeys start without them (README, \"Search attributes\")")
		return false
	}
	s.indexed = true
	return true
}

// Shutdown is how Serve stops when its context ends.
type Shutdown struct {
	// Delay keeps serving, new requests included, while /readyz answers 503 and every
	// response closes its connection, so that load balancers (a Kubernetes Service's
	// endpoints, an ingress) stop sending here before the listener closes.
	Delay time.Duration
	// Timeout is how long in-flight requests may then finish; any still running after
	// it are cut off and Serve returns an error.
	Timeout time.Duration
}

// Serve runs the handler on addr until ctx ends, then shuts down as s says.
func Serve(ctx context.Context, addr string, h http.Handler, s Shutdown, log zerolog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (set HTTP_ADDR or --http-addr to a free address)", addr, err)
	}
	return ServeListenerWith(ctx, ln, h, s, log)
}

// ServeListener is Serve on an open listener that drains in-flight requests for up to
// shutdownTimeout as soon as ctx ends, with no delay.
func ServeListener(ctx context.Context, ln net.Listener, h http.Handler, shutdownTimeout time.Duration, log zerolog.Logger) error {
	return ServeListenerWith(ctx, ln, h, Shutdown{Timeout: shutdownTimeout}, log)
}

// ServeListenerWith is Serve on an open listener.
func ServeListenerWith(ctx context.Context, ln net.Listener, h http.Handler, s Shutdown, log zerolog.Logger) error {
	draining := new(atomic.Bool)
	srv := &http.Server{
		Handler: closeWhileDraining(h, draining),
		// Requests carry the flag so that /readyz can answer for this server. Their
		// contexts do not derive from ctx: a stop must not cancel what is in flight.
		BaseContext: func(net.Listener) context.Context {
			return context.WithValue(context.Background(), drainingKey{}, draining)
		},
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info().Str("addr", ln.Addr().String()).Msg("HTTP API listening")
	select {
	case err := <-errc:
		return fmt.Errorf("HTTP API: %w", err)
	case <-ctx.Done():
	}
	draining.Store(true)
	log.Info().Str("cause", context.Cause(ctx).Error()).Dur("delay", s.Delay).Dur("timeout", s.Timeout).
		Msg("HTTP API shutting down: /readyz answers 503 and requests are served for the delay (SHUTDOWN_DELAY), then the listener closes and in-flight requests get up to the timeout (SHUTDOWN_TIMEOUT)")
	if s.Delay > 0 {
		t := time.NewTimer(s.Delay)
		select {
		case <-t.C:
		case err := <-errc:
			t.Stop()
			return fmt.Errorf("HTTP API: %w", err)
		}
	}
	log.Debug().Msg("HTTP API listener closed; draining in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), s.Timeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("drain HTTP API: requests still in flight after SHUTDOWN_TIMEOUT (%s) were cut off: %w", s.Timeout, err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// drainingKey carries a server's draining flag in its requests' contexts.
type drainingKey struct{}

// draining reports whether the server that received the request is shutting down.
func draining(ctx context.Context) bool {
	f, _ := ctx.Value(drainingKey{}).(*atomic.Bool)
	return f != nil && f.Load()
}

// closeWhileDraining asks clients to close their connection after each response once
// shutdown has begun, so that kept-alive clients reconnect, through the load balancer,
// to another replica instead of staying on this one until its listener closes.
func closeWhileDraining(h http.Handler, draining *atomic.Bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if draining.Load() {
			w.Header().Set("Connection", "close")
		}
		h.ServeHTTP(w, r)
	})
}
