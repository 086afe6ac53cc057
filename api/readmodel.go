package api

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/rs/zerolog"

	"github.com/stegvis/stegvis/store"
	"github.com/stegvis/stegvis/workflows"
)

// Page sizes of the participant list.
const (
	defaultPage = 50
	maxPage     = 500
)

var phases = []string{string(workflows.PhaseWaitingForGuide), string(workflows.PhasePlanning), string(workflows.PhaseActive),
	string(workflows.PhasePaused), string(workflows.PhaseExited)}

// boolParam reads an optional true/false query parameter.
func boolParam(c *gin.Context, name string) (bool, bool) {
	v := c.Query(name)
	if v == "" {
		return false, true
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		fail(c, http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("query parameter %s must be true or false, not %q", name, v))
		return false, false
	}
	return b, true
}

func (s *server) readModelFailed(c *gin.Context, err error) {
	zerolog.Ctx(c.Request.Context()).Error().Err(err).Msg("read model query failed")
	c.Header("Retry-After", "5")
	fail(c, http.StatusServiceUnavailable, CodeUnavailable, "the read model could not be read; try again in a few seconds")
}

// listParticipants answers managers' "who is where": filters, and keyset paging by id.
func (s *server) listParticipants(c *gin.Context) {
	f := store.ParticipantFilter{Unit: c.Query("unit"), GuideID: c.Query("guideId"), Phase: c.Query("phase"), After: c.Query("after"), Limit: defaultPage}
	if f.Phase != "" && !slices.Contains(phases, f.Phase) {
		fail(c, http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("phase %q is not a phase; use one of %v", f.Phase, phases))
		return
	}
	if v := c.Query("step"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 5 {
			fail(c, http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("step must be a number from 0 to 5, not %q", v))
			return
		}
		f.Step = &n
	}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPage {
			fail(c, http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("limit must be a number from 1 to %d, not %q", maxPage, v))
			return
		}
		f.Limit = n
	}
	var ok bool
	if f.Overdue, ok = boolParam(c, "overdue"); !ok {
		return
	}
	if f.WaitingForGuide, ok = boolParam(c, "waitingForGuide"); !ok {
		return
	}
	page := f.Limit
	f.Limit = page + 1 // one more tells whether there is a next page
	rows, err := s.db.Participants(c.Request.Context(), s.now(), f)
	if err != nil {
		s.readModelFailed(c, err)
		return
	}
	body := gin.H{"participants": rows}
	if len(rows) > page {
		body["participants"] = rows[:page]
		body["next"] = rows[page-1].ParticipantID
	}
	c.JSON(http.StatusOK, body)
}

// caseload is one guide's participants, with the counts a team lead looks at first.
func (s *server) caseload(c *gin.Context) {
	guide := c.Param("id")
	active, err := s.db.Participants(c.Request.Context(), s.now(), store.ParticipantFilter{GuideID: guide, NotExited: true, Limit: 10_000})
	if err != nil {
		s.readModelFailed(c, err)
		return
	}
	byPhase := map[string]int{}
	overdue := 0
	for _, r := range active {
		byPhase[r.Phase]++
		if r.OverdueCount > 0 {
			overdue++
		}
	}
	c.JSON(http.StatusOK, gin.H{"guideId": guide, "total": len(active), "overdue": overdue, "byPhase": byPhase, "participants": active})
}

func (s *server) queue(c *gin.Context) {
	rows, err := s.db.Queue(c.Request.Context(), s.now(), c.Query("unit"))
	if err != nil {
		s.readModelFailed(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"participants": rows})
}

func (s *server) overdue(c *gin.Context) {
	rows, err := s.db.Overdue(c.Request.Context(), s.now(), c.Query("unit"), c.Query("guideId"))
	if err != nil {
		s.readModelFailed(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"deadlines": rows})
}
