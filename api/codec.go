package api

import (
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/stegvis/stegvis/protect"
)

// codecRoutes serve the Temporal codec-server protocol (POST /codec/decode and
// /codec/encode) so that the Temporal UI or CLI shows journeys' payloads in clear to
// an authorised operator: admins, with every call audited. The browser calls it
// across origins, so the UI's origin must be listed in CODEC_CORS_ORIGINS.
func (s *server) codecRoutes(r *gin.Engine, origins []string) {
	h := gin.WrapH(protect.CodecHandler(s.keys))
	cors := func(c *gin.Context) {
		origin := c.GetHeader("Origin")
		if origin != "" && slices.Contains(origins, origin) {
			c.Header("Access-Control-Allow-Origin", origin)
			c.Header("Access-Control-Allow-Credentials", "true")
			c.Header("Access-Control-Allow-Methods", "POST, OPTIONS")
			c.Header("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Namespace")
			c.Header("Vary", "Origin")
		}
		if c.Request.Method == http.MethodOptions {
			c.AbortWithStatus(http.StatusNoContent)
		}
	}
	g := r.Group("/codec", cors)
	for _, op := range []string{"/decode", "/encode"} {
		g.OPTIONS(op, func(*gin.Context) {})
		g.POST(op, s.authenticate(), s.allow(admins...), func(c *gin.Context) {
			if !s.audit(c, "", "allowed", nil) {
				return
			}
			// The payloads name no participant; the namespace header says where they came from.
			c.Request.URL.Path = strings.TrimPrefix(c.Request.URL.Path, "/codec")
			h(c)
		})
	}
}
