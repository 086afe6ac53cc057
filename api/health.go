package api

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/rs/zerolog"
	"go.temporal.io/sdk/client"
)

// readyTimeout bounds each readiness check, so a probe never hangs.
const readyTimeout = 2 * time.Second

func (s *server) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// ReadyBody is the answer of /readyz.
type ReadyBody struct {
	Status string            `json:"status"` // ready or not_ready
	Checks map[string]string `json:"checks"` // ok, or what is wrong; shutdown: draining while stopping
}

// readyz answers 503 from the moment the process starts shutting down, whatever its
// dependencies say, so that load balancers stop sending new requests here while the
// ones they already sent still finish.
func (s *server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), readyTimeout)
	defer cancel()
	var (
		wg                 sync.WaitGroup
		temporalErr, dbErr error
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		_, temporalErr = s.tc.CheckHealth(ctx, &client.CheckHealthRequest{})
	}()
	go func() {
		defer wg.Done()
		dbErr = s.db.Ping(ctx)
	}()
	wg.Wait()
	body := ReadyBody{Status: "ready", Checks: map[string]string{"temporal": "ok", "postgres": "ok"}}
	log := zerolog.Ctx(c.Request.Context())
	if temporalErr != nil {
		body.Status, body.Checks["temporal"] = "not_ready", "unreachable"
		log.Warn().Err(temporalErr).Msg("readiness: Temporal unreachable")
	}
	if dbErr != nil {
		body.Status, body.Checks["postgres"] = "not_ready", "unreachable"
		log.Warn().Err(dbErr).Msg("readiness: PostgreSQL unreachable")
	}
	if draining(c.Request.Context()) {
		body.Status, body.Checks["shutdown"] = "not_ready", "draining"
	}
	status := http.StatusOK
	if body.Status != "ready" {
		status = http.StatusServiceUnavailable
	}
	c.JSON(status, body)
}
