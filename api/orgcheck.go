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

// The rules of the refusals: each message is one of them with its values filled in,
// so that the web pages can say it in the person's language (web/messages).
const (
	ruleUnitUnknown        = "%q is not a unit in the org chart; active units: %s"
	ruleUnitInactive       = "%q is a deactivated unit; active units: %s"
	ruleGuideUnknown       = "%q is not in the org chart; active guides of %s: %s"
	ruleGuideInactive      = "%q is deactivated; active guides of %s: %s"
	ruleGuideRole          = "%q has the role %s, not guide; active guides of %s: %s"
	ruleGuideOtherUnit     = "%q is a guide of unit %s, not of %s (to hand over across units, transfer the journey first); active guides of %s: %s"
	ruleCaseWorkerUnknown  = "%q is not in the org chart; active case workers of %s: %s"
	ruleCaseWorkerInactive = "%q is deactivated; active case workers of %s: %s"
	ruleCaseWorkerRole     = "%q has the role %s, not case_worker; active case workers of %s: %s"
)

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
	list := listed(active, "add one with PUT /v1/units/{id}", "GET /v1/units")
	if u.UnitID != "" {
		return orgProblem(field, ruleUnitInactive, unit, list), nil
	}
	return orgProblem(field, ruleUnitUnknown, unit, list), nil
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
	guides, err := s.db.ActiveStaffIDs(ctx, unit, "guide", maxListed+1)
	if err != nil {
		return nil, err
	}
	list := listed(guides, "add one with PUT /v1/staff/{id}, role guide, unitId "+unit, "GET /v1/staff?unit="+unit)
	switch {
	case g.StaffID == "":
		return orgProblem(field, ruleGuideUnknown, guide, unit, list), nil
	case !g.Active:
		return orgProblem(field, ruleGuideInactive, guide, unit, list), nil
	case g.Role != "guide":
		return orgProblem(field, ruleGuideRole, guide, g.Role, unit, list), nil
	}
	return orgProblem(field, ruleGuideOtherUnit, guide, g.UnitID, unit, unit, list), nil
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
	workers, err := s.db.ActiveStaffIDs(ctx, unit, "case_worker", maxListed+1)
	if err != nil {
		return nil, err
	}
	list := listed(workers, "add one with PUT /v1/staff/{id}, role case_worker", "GET /v1/staff?unit="+unit)
	switch {
	case cw.StaffID == "":
		return orgProblem(field, ruleCaseWorkerUnknown, id, unit, list), nil
	case !cw.Active:
		return orgProblem(field, ruleCaseWorkerInactive, id, unit, list), nil
	}
	return orgProblem(field, ruleCaseWorkerRole, id, cw.Role, unit, list), nil
}

// listed is what exists instead: at most maxListed ids, and what to do when there are
// none or more.
func listed(ids []string, howToAdd, listAll string) string {
	switch {
	case len(ids) == 0:
		return "none (" + howToAdd + ")"
	case len(ids) > maxListed:
		return strings.Join(ids[:maxListed], ", ") + ", … (" + listAll + " lists them all)"
	}
	return strings.Join(ids, ", ")
}

// orgProblem is a refusal by rule, with the values that fill it in.
func orgProblem(field, rule string, args ...string) *workflows.FieldError {
	a := make([]any, len(args))
	for i, v := range args {
		a[i] = v
	}
	return &workflows.FieldError{Field: field, Message: fmt.Sprintf(rule, a...), Rule: rule, Args: args}
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
