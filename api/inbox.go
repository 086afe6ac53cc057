package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/stegvis/stegvis/store"
)

func (s *server) inbox(c *gin.Context) {
	recipient := c.Query("recipient")
	if !orgIDPattern.MatchString(recipient) {
		fail(c, http.StatusBadRequest, CodeBadRequest, "recipient is required: the staff id whose notifications to list, as ?recipient=g-anna")
		return
	}
	status := c.DefaultQuery("status", "all")
	if status != "all" && status != "unread" {
		fail(c, http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("status must be unread or all, not %q", status))
		return
	}
	items, err := s.db.Inbox(c.Request.Context(), recipient, status == "unread", 200)
	if err != nil {
		s.readModelFailed(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"notifications": items})
}

// MarkReadRequest is the body of POST /v1/notifications/{number}/read.
type MarkReadRequest struct {
	Recipient string `json:"recipient"`
}

func (s *server) markRead(c *gin.Context) {
	n, err := strconv.ParseInt(c.Param("number"), 10, 64)
	if err != nil || n < 1 {
		fail(c, http.StatusBadRequest, CodeBadRequest, "the notification number in the path must be a positive whole number")
		return
	}
	var req MarkReadRequest
	if !decode(c, &req) {
		return
	}
	item, err := s.db.MarkRead(c.Request.Context(), n, req.Recipient)
	if errors.Is(err, store.ErrNotFound) {
		fail(c, http.StatusNotFound, CodeNotFound, fmt.Sprintf("%s has no notification %d", req.Recipient, n))
		return
	}
	if err != nil {
		s.readModelFailed(c, err)
		return
	}
	c.JSON(http.StatusOK, item)
}
