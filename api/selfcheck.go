package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/rs/zerolog"

	"github.com/stegvis/stegvis/selfcheck"
)

// selfCheckTimeout keeps an admin's check inside the server's write timeout; a larger
// installation runs `stegvis check` instead.
const selfCheckTimeout = 50 * time.Second

// selfCheck runs the self-check for an admin and lists what it finds. It notifies
// nobody and remembers nothing: the daily run does that. The read is audited as a read
// of every participant a finding names.
func (s *server) selfCheck(c *gin.Context) {
	if s.checker == nil {
		fail(c, http.StatusServiceUnavailable, CodeUnavailable, "the self-check is not configured in this process; run `stegvis check` instead")
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), selfCheckTimeout)
	defer cancel()
	rep, err := s.checker.Check(ctx, nil)
	if err != nil {
		zerolog.Ctx(c.Request.Context()).Error().Err(err).Msg("self-check failed")
		c.Header("Retry-After", "30")
		msg := "the self-check could not read the read model or Temporal; try again in a minute, or run `stegvis check` to see the cause"
		if errors.Is(err, context.DeadlineExceeded) {
			msg = "the self-check took longer than " + selfCheckTimeout.String() + "; run `stegvis check` on a worker host instead"
		}
		fail(c, http.StatusServiceUnavailable, CodeUnavailable, msg)
		return
	}
	var named []selfcheck.Finding
	for _, f := range rep.Findings {
		if f.ParticipantID != "" {
			named = append(named, f)
		}
	}
	if s.auditRows(c, ids(named, func(f selfcheck.Finding) string { return f.ParticipantID })) {
		c.JSON(http.StatusOK, rep)
	}
}
