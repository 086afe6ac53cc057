package api

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/stegvis/stegvis/auth"
	"github.com/stegvis/stegvis/store"
	"github.com/stegvis/stegvis/textcheck"
)

func (s *server) inbox(c *gin.Context) {
	recipient := c.DefaultQuery("recipient", principal(c).Subject)
	if !textcheck.ValidID(recipient) {
		fail(c, http.StatusBadRequest, CodeBadRequest, "recipient must be a staff id, as ?recipient=g-anna; leave it out for your own inbox")
		return
	}
	if !s.ownInbox(c, recipient) {
		return
	}
	status := c.DefaultQuery("status", "all")
	if status != "all" && status != "unread" {
		fail(c, http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("status must be unread or all, not %q", status))
		return
	}
	const limit = 200
	items, err := s.db.Inbox(c.Request.Context(), recipient, status == "unread", limit)
	if err != nil {
		s.readModelFailed(c, err)
		return
	}
	if principal(c).Has(auth.Admin) {
		// Admins are not in the org chart: the self-check's findings that belong to no
		// unit (or to a unit without a manager) are in one inbox they share.
		shared, err := s.db.RoleInbox(c.Request.Context(), string(auth.Admin), status == "unread", limit)
		if err != nil {
			s.readModelFailed(c, err)
			return
		}
		items = append(items, shared...)
		slices.SortStableFunc(items, func(a, b store.InboxItem) int {
			return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(b.Number, a.Number))
		})
		items = items[:min(len(items), limit)]
	}
	if items == nil {
		items = []store.InboxItem{}
	}
	c.JSON(http.StatusOK, gin.H{"notifications": items})
}

// ownInbox lets people read only their own notifications.
func (s *server) ownInbox(c *gin.Context, recipient string) bool {
	if recipient != principal(c).Subject {
		s.deny(c, "", fmt.Sprintf("you may read only your own notifications (recipient %q), not %q's", principal(c).Subject, recipient))
		return false
	}
	return true
}

// MarkReadRequest is the body of POST /v1/notifications/{number}/read.
type MarkReadRequest struct {
	// Recipient is the caller's own staff id; it may be left out.
	Recipient string `json:"recipient,omitempty"`
}

func (s *server) markRead(c *gin.Context) {
	n, err := strconv.ParseInt(c.Param("number"), 10, 64)
	if err != nil || n < 1 {
		fail(c, http.StatusBadRequest, CodeBadRequest, "the notification number in the path must be a positive whole number")
		return
	}
	var req MarkReadRequest
	if c.Request.ContentLength != 0 && !decode(c, &req) {
		return
	}
	if req.Recipient == "" {
		req.Recipient = principal(c).Subject
	}
	if !s.ownInbox(c, req.Recipient) {
		return
	}
	item, err := s.db.MarkRead(c.Request.Context(), n, req.Recipient)
	if errors.Is(err, store.ErrNotFound) && principal(c).Has(auth.Admin) {
		item, err = s.db.MarkReadForRole(c.Request.Context(), n, string(auth.Admin))
	}
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
