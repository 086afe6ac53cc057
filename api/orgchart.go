package api

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/stegvis/stegvis/store"
	"github.com/stegvis/stegvis/textcheck"
	"github.com/stegvis/stegvis/workflows"
)

var staffRoles = []string{"guide", "team_lead", "unit_manager", "case_worker"}

// UnitRequest is the body of PUT /v1/units/{id}.
type UnitRequest struct {
	Name   string `json:"name"`
	Active *bool  `json:"active,omitempty"`
}

// StaffRequest is the body of PUT /v1/staff/{id}.
type StaffRequest struct {
	Name      string `json:"name"`
	Email     string `json:"email,omitempty"`
	UnitID    string `json:"unitId"`
	Role      string `json:"role"`
	ReportsTo string `json:"reportsTo,omitempty"`
	Active    *bool  `json:"active,omitempty"`
}

func orgID(c *gin.Context, what string) (string, bool) {
	id := c.Param("id")
	if !textcheck.ValidID(id) {
		rejected(c, "invalid_id")
		fail(c, http.StatusBadRequest, CodeBadRequest, what+" id in the path "+textcheck.IDRule,
			workflows.FieldError{Field: "id", Message: textcheck.IDRule})
		return "", false
	}
	return id, true
}

func (s *server) orgFailed(c *gin.Context, err error) {
	var ce *store.ConstraintError
	switch {
	case errors.As(err, &ce):
		rejected(c, "unknown_id") // a unitId or reportsTo the org chart lacks
		fail(c, http.StatusUnprocessableEntity, CodeValidationFailed, ce.Message)
	case errors.Is(err, store.ErrNotFound):
		fail(c, http.StatusNotFound, CodeNotFound, "no such "+strings.TrimPrefix(c.FullPath(), "/v1/")+"; list them with GET on the collection")
	default:
		s.readModelFailed(c, err)
	}
}

func (s *server) putUnit(c *gin.Context) {
	id, ok := orgID(c, "unit")
	if !ok {
		return
	}
	var req UnitRequest
	if !decode(c, &req) {
		return
	}
	if strings.TrimSpace(req.Name) == "" {
		fail(c, http.StatusUnprocessableEntity, CodeValidationFailed, "name is required",
			workflows.FieldError{Field: "name", Message: "is required: the unit's name, for example \"Arbetsmarknad Norr\""})
		return
	}
	u := store.Unit{UnitID: id, Name: strings.TrimSpace(req.Name), Active: req.Active == nil || *req.Active}
	if err := s.db.UpsertUnit(c.Request.Context(), u); err != nil {
		s.orgFailed(c, err)
		return
	}
	c.JSON(http.StatusOK, u)
}

func (s *server) listUnits(c *gin.Context) {
	units, err := s.db.Units(c.Request.Context())
	if err != nil {
		s.readModelFailed(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"units": units})
}

func (s *server) deactivateUnit(c *gin.Context) {
	id, ok := orgID(c, "unit")
	if !ok {
		return
	}
	if err := s.db.SetUnitActive(c.Request.Context(), id, false); err != nil {
		s.orgFailed(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// checkStaff checks a staff member whose texts have passed textcheck, and replaces
// their email by the bare address net/mail reads from it. The reason is what the
// rejection counts as (invalid_email before invalid_id before invalid_value), "" when
// there is no problem.
func checkStaff(st *store.Staff) (workflows.Problems, string) {
	var p workflows.Problems
	reason := ""
	if strings.TrimSpace(st.Name) == "" {
		p = append(p, workflows.FieldError{Field: "name", Message: "is required"})
		reason = "invalid_value"
	}
	if st.UnitID == "" {
		p = append(p, workflows.FieldError{Field: "unitId", Message: "is required: the id of the unit they work in"})
		reason = "invalid_id"
	} else if !textcheck.ValidID(st.UnitID) {
		p = append(p, workflows.FieldError{Field: "unitId", Message: fmt.Sprintf("%q %s", st.UnitID, textcheck.IDRule)})
		reason = "invalid_id"
	}
	if !slices.Contains(staffRoles, st.Role) {
		p = append(p, workflows.FieldError{Field: "role", Message: "must be one of " + strings.Join(staffRoles, ", ")})
		if reason == "" {
			reason = "invalid_value"
		}
	}
	if st.ReportsTo != "" && (!textcheck.ValidID(st.ReportsTo) || st.ReportsTo == st.StaffID) {
		p = append(p, workflows.FieldError{Field: "reportsTo", Message: "must be another staff member's id"})
		reason = "invalid_id"
	}
	if st.Email != "" {
		addr, msg := textcheck.Email(st.Email)
		if msg != "" {
			p = append(p, workflows.FieldError{Field: "email", Message: msg})
			reason = "invalid_email"
		}
		st.Email = addr
	}
	return p, reason
}

func (s *server) putStaff(c *gin.Context) {
	id, ok := orgID(c, "staff")
	if !ok {
		return
	}
	var req StaffRequest
	if !decode(c, &req) {
		return
	}
	st := store.Staff{StaffID: id, Name: strings.TrimSpace(req.Name), Email: strings.TrimSpace(req.Email), UnitID: req.UnitID,
		Role: req.Role, ReportsTo: req.ReportsTo, Active: req.Active == nil || *req.Active}
	if p, reason := checkStaff(&st); len(p) > 0 {
		rejected(c, reason)
		fail(c, http.StatusUnprocessableEntity, CodeValidationFailed, "the staff member cannot be saved: "+summary(p), p...)
		return
	}
	if err := s.db.UpsertStaff(c.Request.Context(), st); err != nil {
		s.orgFailed(c, err)
		return
	}
	c.JSON(http.StatusOK, st)
}

func (s *server) listStaff(c *gin.Context) {
	list, err := s.db.StaffList(c.Request.Context(), c.Query("unit"))
	if err != nil {
		s.readModelFailed(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"staff": list})
}

func (s *server) deactivateStaff(c *gin.Context) {
	id, ok := orgID(c, "staff")
	if !ok {
		return
	}
	if err := s.db.SetStaffActive(c.Request.Context(), id, false); err != nil {
		s.orgFailed(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// csvColumn is the CSV column of a staff field, for messages about a file.
func csvColumn(field string) string {
	switch field {
	case "unitId":
		return "unit_id"
	case "reportsTo":
		return "reports_to"
	}
	return field
}

// staffCSVColumns are the columns of a staff file, in this order, with a header row.
var staffCSVColumns = []string{"staff_id", "name", "email", "unit_id", "role", "reports_to"}

// importStaff loads staff from CSV: every row is checked first, and a file with any bad
// row changes nothing and names each bad row by line; a good file is saved at once.
func (s *server) importStaff(c *gin.Context) {
	r := csv.NewReader(http.MaxBytesReader(c.Writer, c.Request.Body, 4<<20))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		fail(c, http.StatusBadRequest, CodeBadRequest, "send a CSV file whose first row is: "+strings.Join(staffCSVColumns, ","))
		return
	}
	for i := range header {
		header[i] = strings.TrimSpace(strings.TrimPrefix(header[i], "\ufeff"))
	}
	if !slices.Equal(header, staffCSVColumns) {
		fail(c, http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("the header row is %q; it must be %s", strings.Join(header, ","), strings.Join(staffCSVColumns, ",")))
		return
	}
	var (
		list      []store.Staff
		problems  []workflows.FieldError
		malformed []textProblem
		reason    string
	)
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			problems = append(problems, workflows.FieldError{Field: fmt.Sprintf("line %d", line), Message: "cannot be read as CSV: check its quotes"})
			continue
		}
		if len(rec) != len(staffCSVColumns) {
			problems = append(problems, workflows.FieldError{Field: fmt.Sprintf("line %d", line), Message: fmt.Sprintf("has %d columns, not %d", len(rec), len(staffCSVColumns))})
			continue
		}
		// Every cell is one line: a newline in a quoted cell is as bad as a NUL.
		var bad []textProblem
		for i, cell := range rec {
			if p := textcheck.Check(cell, textcheck.SingleLine); p != nil {
				bad = append(bad, problemAt(fmt.Sprintf("line %d %s", line, staffCSVColumns[i]), p))
			}
		}
		if len(bad) > 0 {
			malformed = append(malformed, bad...)
			continue
		}
		st := store.Staff{StaffID: strings.TrimSpace(rec[0]), Name: strings.TrimSpace(rec[1]), Email: strings.TrimSpace(rec[2]),
			UnitID: strings.TrimSpace(rec[3]), Role: strings.TrimSpace(rec[4]), ReportsTo: strings.TrimSpace(rec[5]), Active: true}
		p, r := checkStaff(&st)
		if !textcheck.ValidID(st.StaffID) {
			p = append(p, workflows.FieldError{Field: "staff_id", Message: fmt.Sprintf("%q %s", st.StaffID, textcheck.IDRule)})
			r = "invalid_id"
		}
		if r != "" && reason == "" {
			reason = r
		}
		for _, f := range p {
			problems = append(problems, workflows.FieldError{Field: fmt.Sprintf("line %d %s", line, csvColumn(f.Field)), Message: f.Message})
		}
		list = append(list, st)
	}
	if len(malformed) > 0 {
		failText(c, malformed[:min(len(malformed), maxTextProblems)])
		return
	}
	if len(problems) > 0 {
		rejected(c, reason)
		fail(c, http.StatusUnprocessableEntity, CodeValidationFailed, fmt.Sprintf("%d problems (the first: %s %s); nothing was saved. Fix the lines named and send the file again",
			len(problems), problems[0].Field, problems[0].Message), problems...)
		return
	}
	if err := s.db.UpsertStaffBatch(c.Request.Context(), list); err != nil {
		s.orgFailed(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"saved": len(list)})
}
