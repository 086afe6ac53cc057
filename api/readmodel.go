package api

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/rs/zerolog"

	"github.com/stegvis/stegvis/store"
	"github.com/stegvis/stegvis/workflows"
)

// Page sizes of the participant list and the overdue list.
const (
	defaultPage = 50
	maxPage     = 500
)

var phases = []string{string(workflows.PhaseWaitingForGuide), string(workflows.PhasePlanning), string(workflows.PhaseActive),
	string(workflows.PhasePaused), string(workflows.PhaseExited)}

// intParam reads an optional whole-number query parameter between lo and hi into
// dst; false when it has answered 400.
func intParam(c *gin.Context, name string, lo, hi int, dst *int) bool {
	v := c.Query(name)
	if v == "" {
		return true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		fail(c, http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("%s must be a number from %d to %d, not %q", name, lo, hi, v))
		return false
	}
	*dst = n
	return true
}

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
	if c.Query("step") != "" {
		f.Step = new(int)
		if !intParam(c, "step", 0, 5, f.Step) {
			return
		}
	}
	if !intParam(c, "limit", 1, maxPage, &f.Limit) {
		return
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
	var err error
	if f.Scope, err = s.scope(c); err != nil {
		s.readModelFailed(c, err)
		return
	}
	rows, err := s.db.Participants(c.Request.Context(), s.now(), f)
	if err != nil {
		s.readModelFailed(c, err)
		return
	}
	rows, next := nextPage(rows, page, func(r store.ParticipantRow) any { return r.ParticipantID })
	body := gin.H{"participants": rows}
	if next != nil {
		body["next"] = next
	}
	if s.auditRows(c, ids(rows, func(r store.ParticipantRow) string { return r.ParticipantID })) {
		c.JSON(http.StatusOK, body)
	}
}

// ids are the participants rows show, each once, in the order first shown: the overdue
// list shows a participant once per deadline passed, and the audit log needs one row
// per participant read, not per deadline (a large unit's list names tens of thousands
// of participants; every row more is a write before the answer).
func ids[T any](rows []T, id func(T) string) []string {
	out := make([]string, 0, len(rows))
	seen := make(map[string]bool, len(rows))
	for _, r := range rows {
		if i := id(r); !seen[i] {
			seen[i] = true
			out = append(out, i)
		}
	}
	return out
}

// auditRows logs a list read as a read of each participant it shows; false when
// the log could not be written (answered with a 503).
func (s *server) auditRows(c *gin.Context, participants []string) bool {
	return s.audit(c, "", "allowed", participants)
}

// nextPage trims rows that were asked for one over the page size, and returns the key
// to ask for the next page with, or nil on the last page.
func nextPage[T any](rows []T, size int, key func(T) any) ([]T, any) {
	if len(rows) <= size {
		return rows, nil
	}
	return rows[:size], key(rows[size-1])
}

// caseload is one guide's participants, with the counts a team lead looks at first.
// A guide sees their own, a team lead their team's guides', a unit manager their
// unit's guides'.
func (s *server) caseload(c *gin.Context) {
	guide := c.Param("id")
	sc, err := s.scope(c)
	if err != nil {
		s.readModelFailed(c, err)
		return
	}
	if !sc.Everyone && guide != sc.GuideID {
		g, err := s.db.StaffMember(c.Request.Context(), guide)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			s.readModelFailed(c, err)
			return
		}
		if err != nil || !((sc.TeamLead != "" && g.ReportsTo == sc.TeamLead) || (sc.Unit != "" && g.UnitID == sc.Unit)) {
			s.deny(c, "", fmt.Sprintf("the caseload of %q is not yours to see: a guide sees their own, a team lead their team's and a unit manager their unit's", guide))
			return
		}
	}
	active, err := s.db.Participants(c.Request.Context(), s.now(), store.ParticipantFilter{GuideID: guide, NotExited: true, Limit: 10_000, Scope: store.Scope{Everyone: true}})
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
	if s.auditRows(c, ids(active, func(r store.ParticipantRow) string { return r.ParticipantID })) {
		c.JSON(http.StatusOK, gin.H{"guideId": guide, "total": len(active), "overdue": overdue, "byPhase": byPhase, "participants": active})
	}
}

func (s *server) queue(c *gin.Context) {
	sc, err := s.scope(c)
	if err != nil {
		s.readModelFailed(c, err)
		return
	}
	rows, err := s.db.Queue(c.Request.Context(), s.now(), c.Query("unit"), sc)
	if err != nil {
		s.readModelFailed(c, err)
		return
	}
	if s.auditRows(c, ids(rows, func(r store.QueueRow) string { return r.ParticipantID })) {
		c.JSON(http.StatusOK, gin.H{"participants": rows})
	}
}

func (s *server) overdue(c *gin.Context) {
	f := store.OverdueFilter{Unit: c.Query("unit"), GuideID: c.Query("guideId"), Limit: defaultPage}
	if !intParam(c, "limit", 1, maxPage, &f.Limit) {
		return
	}
	if a := c.Query("after"); a != "" {
		k, err := decodeOverdueKey(a)
		if err != nil {
			fail(c, http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("after %q is not the next of an earlier page of this list; pass the next it answered, or leave after out to start from the first page", a))
			return
		}
		f.After = &k
	}
	var err error
	if f.Scope, err = s.scope(c); err != nil {
		s.readModelFailed(c, err)
		return
	}
	page := f.Limit
	f.Limit = page + 1 // one more tells whether there is a next page
	rows, err := s.db.Overdue(c.Request.Context(), s.now(), f)
	if err != nil {
		s.readModelFailed(c, err)
		return
	}
	rows, next := nextPage(rows, page, func(r store.OverdueRow) any {
		return encodeOverdueKey(store.OverdueKey{DueAt: r.DueAt, ParticipantID: r.ParticipantID, DeadlineID: r.DeadlineID})
	})
	body := gin.H{"deadlines": rows}
	if next != nil {
		body["next"] = next
	}
	if s.auditRows(c, ids(rows, func(r store.OverdueRow) string { return r.ParticipantID })) {
		c.JSON(http.StatusOK, body)
	}
}

// overdueCursor is a page's end in the overdue list, as the client passes it back: the
// list is ordered by due time, then participant and deadline, so all three are needed.
type overdueCursor struct {
	DueAt         time.Time `json:"d"`
	ParticipantID string    `json:"p"`
	DeadlineID    string    `json:"k"`
}

func encodeOverdueKey(k store.OverdueKey) string {
	b, _ := json.Marshal(overdueCursor{DueAt: k.DueAt, ParticipantID: k.ParticipantID, DeadlineID: k.DeadlineID})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeOverdueKey(s string) (store.OverdueKey, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return store.OverdueKey{}, err
	}
	var c overdueCursor
	if err := json.Unmarshal(b, &c); err != nil {
		return store.OverdueKey{}, err
	}
	if c.DueAt.IsZero() || c.ParticipantID == "" || c.DeadlineID == "" {
		return store.OverdueKey{}, errors.New("incomplete cursor")
	}
	return store.OverdueKey{DueAt: c.DueAt, ParticipantID: c.ParticipantID, DeadlineID: c.DeadlineID}, nil
}
