package api

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/stegvis/stegvis/store"
	"github.com/stegvis/stegvis/workflows"
)

// auditLog answers the data-protection officer: who read or changed which
// participant, when, through which endpoint, allowed or denied. Newest first, paged
// with ?before=<id>.
func (s *server) auditLog(c *gin.Context) {
	f := store.AuditFilter{Actor: c.Query("user"), ParticipantID: c.Query("participantId"), Limit: 100}
	if f.ParticipantID != "" {
		if msg := workflows.CheckParticipantID(f.ParticipantID); msg != "" {
			fail(c, http.StatusBadRequest, CodeBadRequest, "participantId "+msg)
			return
		}
	}
	if v := c.Query("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			fail(c, http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("before must be the next of a previous page (a positive number), not %q", v))
			return
		}
		f.Before = n
	}
	if !intParam(c, "limit", 1, 1000, &f.Limit) {
		return
	}
	var ok bool
	if f.From, ok = parseWhen(c, "from", c.Query("from")); !ok {
		return
	}
	if f.To, ok = parseWhen(c, "to", c.Query("to")); !ok {
		return
	}
	page := f.Limit
	f.Limit++
	rows, err := s.db.AuditLog(c.Request.Context(), f)
	if err != nil {
		s.readModelFailed(c, err)
		return
	}
	rows, next := nextPage(rows, page, func(r store.AuditRecord) any { return r.ID })
	body := gin.H{"entries": rows}
	if next != nil {
		body["next"] = next
	}
	c.JSON(http.StatusOK, body)
}
