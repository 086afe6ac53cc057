package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/stegvis/stegvis/store"
	"github.com/stegvis/stegvis/workflows"
)

// maxListed bounds the ids a refusal lists as what exists.
const maxListed = 10

// The org chart is the authority for the ids a journey names: a unit that exists and
// is active, a guide who is an active guide of the journey's unit, a case worker who is
// an active case worker. A journey that named anyone else would have every escalation
// written without a recipient and fall out of the lists of those who should see it.
// These are checked before the journey is started or the Update sent.
//
// Nobody may assign a guide of another unit, whatever their role: a journey moves to
// another unit by a transfer, whose new unit's team lead then assigns one of their guides.

// checkUnit returns what is wrong with unit as the unit of a journey, or nil.
func (s *server) checkUnit(ctx context.Context, field, unit string) (*workflows.FieldError, error) {
	u, err := s.db.Unit(ctx, unit)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if err == nil && u.Active {
		return nil, nil
	}
	active, err := s.db.ActiveUnitIDs(ctx, maxListed+1)
	if err != nil {
		return nil, err
	}
	what := "is not a unit in the org chart"
	if u.UnitID != "" {
		what = "is a deactivated unit"
	}
	return orgProblem(field, fmt.Sprintf("%q %s", unit, what), "active units", active,
		"add it with PUT /v1/units/{id}", "GET /v1/units"), nil
}

// checkGuide returns what is wrong with guide as the guide of a journey of unit, or nil.
func (s *server) checkGuide(ctx context.Context, field, guide, unit string) (*workflows.FieldError, error) {
	g, err := s.db.StaffMember(ctx, guide)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if err == nil && g.Active && g.Role == "guide" && g.UnitID == unit {
		return nil, nil
	}
	var what string
	switch {
	case g.StaffID == "":
		what = "is not in the org chart"
	case !g.Active:
		what = "is deactivated"
	case g.Role != "guide":
		what = "is a " + strings.ReplaceAll(g.Role, "_", " ") + ", not a guide"
	default:
		what = "is a guide of unit " + g.UnitID + ", not of " + unit + " (to hand over across units, transfer the journey first)"
	}
	guides, err := s.db.ActiveStaffIDs(ctx, unit, "guide", maxListed+1)
	if err != nil {
		return nil, err
	}
	return orgProblem(field, fmt.Sprintf("%q %s", guide, what), "active guides of "+unit, guides,
		"add them with PUT /v1/staff/{id} with role guide and unitId "+unit, "GET /v1/staff?unit="+unit), nil
}

// checkCaseWorker returns what is wrong with id as a participant's case worker, or nil.
// A case worker follows clients of any unit; the list offered is of the journey's unit.
func (s *server) checkCaseWorker(ctx context.Context, field, id, unit string) (*workflows.FieldError, error) {
	cw, err := s.db.StaffMember(ctx, id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if err == nil && cw.Active && cw.Role == "case_worker" {
		return nil, nil
	}
	what := "is not in the org chart"
	switch {
	case cw.StaffID != "" && !cw.Active:
		what = "is deactivated"
	case cw.StaffID != "":
		what = "is a " + strings.ReplaceAll(cw.Role, "_", " ") + ", not a case worker"
	}
	list, err := s.db.ActiveStaffIDs(ctx, unit, "case_worker", maxListed+1)
	if err != nil {
		return nil, err
	}
	return orgProblem(field, fmt.Sprintf("%q %s", id, what), "active case workers of "+unit, list,
		"add them with PUT /v1/staff/{id} with role case_worker", "GET /v1/staff?unit="+unit), nil
}

// orgProblem says what is wrong and what exists instead (at most maxListed ids).
func orgProblem(field, what, listName string, ids []string, howToAdd, listAll string) *workflows.FieldError {
	var msg string
	switch {
	case len(ids) == 0:
		msg = fmt.Sprintf("%s; there are no %s: %s", what, listName, howToAdd)
	case len(ids) > maxListed:
		msg = fmt.Sprintf("%s; %s include %s, … (%s lists them all)", what, listName, strings.Join(ids[:maxListed], ", "), listAll)
	default:
		msg = fmt.Sprintf("%s; %s: %s", what, listName, strings.Join(ids, ", "))
	}
	return &workflows.FieldError{Field: field, Message: msg}
}

// orgChecked runs checks in order and answers 422 with every problem found, or 503
// when the org chart cannot be read. True when all passed.
func (s *server) orgChecked(c *gin.Context, action string, checks ...func() (*workflows.FieldError, error)) bool {
	var problems workflows.Problems
	for _, check := range checks {
		p, err := check()
		if err != nil {
			s.readModelFailed(c, err)
			return false
		}
		if p != nil {
			problems = append(problems, *p)
		}
	}
	if len(problems) == 0 {
		return true
	}
	rejected(c, "unknown_id")
	fail(c, http.StatusUnprocessableEntity, CodeValidationFailed, action+": "+summary(problems)+". Nothing was changed", problems...)
	return false
}
