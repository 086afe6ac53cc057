package api

import (
	"io"
	"regexp"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/stegvis/stegvis/metrics"
)

const (
	requestIDKey    = "request_id"
	requestIDHeader = "X-Request-ID"
)

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// requestContext gives every request an ID (the caller's X-Request-ID when it is
// sensible, a new one otherwise), a logger that carries it, a log line when the
// request ends, and a latency observation.
func requestContext(log zerolog.Logger, m *metrics.HTTP) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		id := c.GetHeader(requestIDHeader)
		if !requestIDPattern.MatchString(id) {
			id = uuid.NewString()
		}
		c.Set(requestIDKey, id)
		c.Header(requestIDHeader, id)
		l := log.With().Str("request_id", id).Logger()
		c.Request = c.Request.WithContext(l.WithContext(c.Request.Context()))

		c.Next()

		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		status := c.Writer.Status()
		elapsed := time.Since(start)
		m.Duration.WithLabelValues(c.Request.Method, route, strconv.Itoa(status)).Observe(elapsed.Seconds())
		// The context's logger: authentication has added the user to it by now.
		lc := zerolog.Ctx(c.Request.Context())
		ev := lc.Info()
		if status >= 500 {
			ev = lc.Error()
		}
		// The path holds only pseudonymous ids; query strings are left out on purpose.
		ev.Str("method", c.Request.Method).Str("route", route).Str("path", c.Request.URL.Path).
			Int("status", status).Dur("duration", elapsed).Msg("request")
	}
}

// recovery answers a panic with a JSON 500 that carries no stack, and logs the stack.
func recovery() gin.HandlerFunc {
	return gin.CustomRecoveryWithWriter(io.Discard, func(c *gin.Context, err any) {
		zerolog.Ctx(c.Request.Context()).Error().Interface("panic", err).Stack().Msg("handler panicked")
		fail(c, 500, CodeInternal, "something went wrong on our side; quote the request id when you report it")
	})
}
