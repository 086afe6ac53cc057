package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/stegvis/stegvis/store"
)

// markDeliveryHandled records that an admin has dealt with a notification whose
// delivery failed for good (told the person another way, fixed the address in the org
// chart) or that was written without a recipient (followed up by hand), so that the
// self-check stops reporting it. Audited with the participant.
func (s *server) markDeliveryHandled(c *gin.Context) {
	n, err := strconv.ParseInt(c.Param("number"), 10, 64)
	if err != nil || n < 1 {
		fail(c, http.StatusBadRequest, CodeBadRequest, "the notification number in the path must be a positive whole number")
		return
	}
	item, err := s.db.MarkDeliveryHandled(c.Request.Context(), n, principal(c).Subject)
	switch {
	case errors.Is(err, store.ErrNotFound):
		fail(c, http.StatusNotFound, CodeNotFound, fmt.Sprintf("there is no notification %d", n))
		return
	case errors.Is(err, store.ErrNoDeliveryFailure):
		fail(c, http.StatusConflict, CodeConflict, fmt.Sprintf("notification %d has no delivery failure to handle: it has a recipient and was delivered or is still being delivered", n))
		return
	case err != nil:
		s.readModelFailed(c, err)
		return
	}
	if !s.audit(c, item.ParticipantID, "allowed", nil) {
		return
	}
	c.JSON(http.StatusOK, item)
}

// journalFailuresResolved answers an admin who resolved a participant's journal write
// failures.
type journalFailuresResolved struct {
	ParticipantID string `json:"participantId"`
	Resolved      int64  `json:"resolved"`
}

// resolveJournalFailures records that an admin has dealt with a participant's failed
// read-model writes (the self-check's journal_write_failed finding), so that the
// self-check stops reporting them. Audited with the participant.
func (s *server) resolveJournalFailures(c *gin.Context) {
	id := c.Param("id")
	n, err := s.db.ResolveJournalFailures(c.Request.Context(), id)
	if err != nil {
		s.readModelFailed(c, err)
		return
	}
	if n == 0 {
		fail(c, http.StatusNotFound, CodeNotFound, fmt.Sprintf("participant %s has no unresolved journal write failures: GET /v1/admin/self-check lists those there are", id))
		return
	}
	if !s.audit(c, id, "allowed", nil) {
		return
	}
	c.JSON(http.StatusOK, journalFailuresResolved{ParticipantID: id, Resolved: n})
}
