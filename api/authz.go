package api

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/rs/zerolog"
	"go.temporal.io/api/serviceerror"
	"golang.org/x/time/rate"

	"github.com/stegvis/stegvis/auth"
	"github.com/stegvis/stegvis/store"
)

const (
	principalKey = "principal"
	journeyKey   = "journey" // the state the access check read, reused by the handler
)

// Role sets, by what an endpoint does.
var (
	inboxRoles     = []auth.Role{auth.Guide, auth.TeamLead, auth.UnitManager, auth.CaseWorker, auth.Admin}
	readers        = []auth.Role{auth.Guide, auth.TeamLead, auth.UnitManager, auth.CaseWorker, auth.System}
	recorders      = []auth.Role{auth.Guide, auth.TeamLead, auth.UnitManager, auth.System}
	attendance     = []auth.Role{auth.Guide, auth.TeamLead, auth.UnitManager, auth.CaseWorker, auth.System}
	leads          = []auth.Role{auth.TeamLead, auth.UnitManager, auth.System}
	overdueReaders = []auth.Role{auth.Guide, auth.TeamLead, auth.UnitManager, auth.System}
	admins         = []auth.Role{auth.Admin}
	systems        = []auth.Role{auth.System}
)

func principal(c *gin.Context) auth.Principal {
	p, _ := c.Get(principalKey)
	pr, _ := p.(auth.Principal)
	return pr
}

func roleNames(roles []auth.Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, ", ")
}

// authenticate requires a valid bearer token and rate-limits per user.
func (s *server) authenticate() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.GetHeader("Authorization")
		scheme, token, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			c.Header("WWW-Authenticate", `Bearer realm="stegvis"`)
			fail(c, http.StatusUnauthorized, CodeUnauthenticated,
				"sign in: send your token as the header Authorization: Bearer <token> (in stegvis dev the tokens are in .data/dev-tokens.json)")
			return
		}
		p, err := s.verifier.Verify(c.Request.Context(), strings.TrimSpace(token))
		if err != nil {
			c.Header("WWW-Authenticate", `Bearer realm="stegvis", error="invalid_token"`)
			msg := "the token was not accepted"
			if errors.Is(err, auth.ErrInvalid) {
				msg = "the token was not accepted: " + strings.TrimPrefix(err.Error(), auth.ErrInvalid.Error()+": ")
			} else {
				zerolog.Ctx(c.Request.Context()).Warn().Err(err).Msg("token verification failed")
			}
			fail(c, http.StatusUnauthorized, CodeUnauthenticated, msg+"; get a new token from your identity provider")
			return
		}
		c.Set(principalKey, p)
		// Staff ids are not personal data of participants; the log line names the caller.
		zerolog.Ctx(c.Request.Context()).UpdateContext(func(l zerolog.Context) zerolog.Context { return l.Str("user", p.Subject) })
		if len(p.Roles) == 0 {
			s.deny(c, "", fmt.Sprintf("your token carries no stegvis role; ask your administrator for one of: %s", roleNames(auth.Roles)))
			return
		}
		if wait, ok := s.limits.allow(p.Subject); !ok && !inProcess(c.Request.Context()) {
			c.Header("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			fail(c, http.StatusTooManyRequests, CodeRateLimited,
				fmt.Sprintf("too many requests from %s; wait %s and try again", p.Subject, wait.Round(time.Second).String()))
			return
		}
	}
}

// allow lets through callers with one of the roles; others get 403, audited.
func (s *server) allow(roles ...auth.Role) gin.HandlerFunc {
	return func(c *gin.Context) {
		// Not a participant route (those use forParticipant): no participant to log.
		if !principal(c).Has(roles...) {
			s.deny(c, "", wrongRole(c, roles))
		}
	}
}

// wrongRole says which roles an endpoint is for and which the caller has.
func wrongRole(c *gin.Context, roles []auth.Role) string {
	return fmt.Sprintf("%s %s is for the roles %s; your token has %s",
		c.Request.Method, c.FullPath(), roleNames(roles), roleNames(principal(c).Roles))
}

// deny answers 403 and writes the denial to the audit log.
func (s *server) deny(c *gin.Context, participantID, message string) {
	if !s.audit(c, participantID, "denied", nil) {
		return
	}
	fail(c, http.StatusForbidden, CodeForbidden, message)
}

// audit writes who did what to which participant; false (with a 503 answered) when
// the log cannot be written, because an unlogged read must not happen.
func (s *server) audit(c *gin.Context, participantID, outcome string, participants []string) bool {
	e := store.AuditEntry{
		Actor: principal(c).Subject, Action: c.Request.Method + " " + c.FullPath(), ParticipantID: participantID,
		Outcome: outcome, RequestID: c.GetString(requestIDKey),
		Detail: map[string]any{"roles": principal(c).Roles},
	}
	var err error
	if participants != nil {
		err = s.db.AuditMany(c.Request.Context(), e, participants)
	} else {
		err = s.db.Audit(c.Request.Context(), e)
	}
	if err != nil {
		zerolog.Ctx(c.Request.Context()).Error().Err(err).Msg("audit log write failed")
		c.Header("Retry-After", "5")
		fail(c, http.StatusServiceUnavailable, CodeUnavailable, "the audit log could not be written, so nothing was read or changed; try again in a few seconds")
		return false
	}
	return true
}

// scope is whom the caller may see, from their roles and their place in the org chart.
func (s *server) scope(c *gin.Context) (store.Scope, error) {
	p := principal(c)
	var sc store.Scope
	if p.Has(auth.System) {
		return store.Scope{Everyone: true}, nil
	}
	if p.Has(auth.Guide) {
		sc.GuideID = p.Subject
	}
	if p.Has(auth.CaseWorker) {
		sc.CaseWorker = p.Subject
	}
	if p.Has(auth.TeamLead, auth.UnitManager) {
		st, err := s.db.StaffMember(c.Request.Context(), p.Subject)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !st.Active) {
			return sc, nil // not in the org chart: their unit and team are unknown
		}
		if err != nil {
			return sc, err
		}
		if p.Has(auth.TeamLead) {
			sc.TeamLead, sc.TeamUnit = p.Subject, st.UnitID
		}
		if p.Has(auth.UnitManager) {
			sc.Unit = st.UnitID
		}
	}
	return sc, nil
}

// forParticipant guards /participants/{id}/…: the role gate, then ownership. Someone
// else's participant and one that does not exist get the same 403, so the answer
// never tells whether a participant exists. Every decision is audited.
func (s *server) forParticipant(roles ...auth.Role) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, ok := participantID(c)
		if !ok {
			return
		}
		if !principal(c).Has(roles...) {
			s.deny(c, id, wrongRole(c, roles))
			return
		}
		sc, err := s.scope(c)
		if err != nil {
			s.readModelFailed(c, err)
			return
		}
		if !sc.Everyone {
			owner, err := s.owner(c, id, sc)
			if err != nil {
				failTemporal(c, err, id)
				return
			}
			if !sc.Allows(owner) {
				s.deny(c, id, fmt.Sprintf("participant %q is not among those you may see or change: a guide sees their own participants, "+
					"a team lead their team's, a unit manager their unit's and a case worker their clients. Ask the participant's team lead if you need access", id))
				return
			}
		}
		if !s.audit(c, id, "allowed", nil) {
			return
		}
		c.Next()
	}
}

// owner reads who is responsible for a participant: unit and guide from the journey
// itself (not the read model, which may lag a moment behind a reassignment), the
// guide's lead from the org chart and the case worker from the identity table.
func (s *server) owner(c *gin.Context, id string, sc store.Scope) (store.Owner, error) {
	st, err := s.query(c, id)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return store.Owner{}, nil
	}
	if err != nil {
		return store.Owner{}, err
	}
	c.Set(journeyKey, st)
	o := store.Owner{Unit: st.Unit, GuideID: st.GuideID, ParticipantKnown: true}
	ctx := c.Request.Context()
	if sc.TeamLead != "" && o.GuideID != "" {
		g, err := s.db.StaffMember(ctx, o.GuideID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return o, err
		}
		o.GuideReportsTo = g.ReportsTo
	}
	if sc.CaseWorker != "" {
		idn, err := s.db.IdentityOf(ctx, id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return o, err
		}
		o.CaseWorkerID = idn.CaseWorkerID
	}
	return o, nil
}

// unitScope narrows a unit-wide read (reports) to the caller's unit unless they see
// everyone; false when it has answered.
func (s *server) unitScope(c *gin.Context, unit *string) bool {
	sc, err := s.scope(c)
	if err != nil {
		s.readModelFailed(c, err)
		return false
	}
	if sc.Everyone {
		return true
	}
	own := sc.Unit
	if own == "" {
		own = sc.TeamUnit
	}
	switch {
	case own == "":
		s.deny(c, "", fmt.Sprintf("you (%s) are not in the org chart as an active team lead or unit manager; ask an administrator to add you", principal(c).Subject))
		return false
	case *unit != "" && *unit != own:
		s.deny(c, "", fmt.Sprintf("you may see unit %q only, not %q", own, *unit))
		return false
	}
	*unit = own
	return true
}

// limiter is a token bucket per user.
type limiter struct {
	mu    sync.Mutex
	every rate.Limit
	burst int
	users map[string]*rate.Limiter
}

func newLimiter(perSecond float64, burst int) *limiter {
	return &limiter{every: rate.Limit(perSecond), burst: burst, users: map[string]*rate.Limiter{}}
}

// allow takes a token for user; when there is none it says how long to wait.
func (l *limiter) allow(user string) (time.Duration, bool) {
	if l == nil || l.every <= 0 {
		return 0, true
	}
	l.mu.Lock()
	lim, ok := l.users[user]
	if !ok {
		if len(l.users) >= 100_000 { // bounded: forget everyone rather than grow without end
			l.users = map[string]*rate.Limiter{}
		}
		lim = rate.NewLimiter(l.every, l.burst)
		l.users[user] = lim
	}
	l.mu.Unlock()
	r := lim.Reserve()
	if d := r.Delay(); d > 0 {
		r.Cancel()
		return d, false
	}
	return 0, true
}

type inProcessKey struct{}

// InProcess marks a request the web pages make to the API inside the same process: one
// page load asks several questions (a dashboard, a few dozen), and the person's rate
// limit is for what they send, not for how a page is put together. A request from the
// network cannot carry the mark.
func InProcess(ctx context.Context) context.Context {
	return context.WithValue(ctx, inProcessKey{}, true)
}

func inProcess(ctx context.Context) bool {
	v, _ := ctx.Value(inProcessKey{}).(bool)
	return v
}
