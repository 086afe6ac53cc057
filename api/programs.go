package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/rs/zerolog"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/stegvis/stegvis/store"
	"github.com/stegvis/stegvis/workflows"
)

func (s *server) listPrograms(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"programs": s.programs.All()})
}

func (s *server) getProgram(c *gin.Context) {
	p, ok := s.programs.Lookup(c.Param("id"))
	if !ok {
		fail(c, http.StatusNotFound, CodeProgramUnknown, s.programs.UnknownError(c.Param("id")).Error())
		return
	}
	c.JSON(http.StatusOK, p)
}

// MigrateRequest is the body of POST /v1/programs/{id}/migrate.
type MigrateRequest struct {
	ParticipantIDs []string `json:"participantIds"`
	RequestedBy    string   `json:"requestedBy"`
	Reason         string   `json:"reason" text:"lines"`
}

// MigrateResult says what became of one journey.
type MigrateResult struct {
	ParticipantID string `json:"participantId"`
	Outcome       string `json:"outcome"` // migrated, rejected or not_found
	Message       string `json:"message,omitempty"`
}

// maxMigrate bounds one call; a municipality moves its caseload in batches.
const maxMigrate = 500

// migrateJourneys moves running journeys to the programme's current version. Editing a
// programme file changes new journeys only; this is the explicit, audited way to move
// running ones. Each journey's outcome is written to the audit log.
func (s *server) migrateJourneys(c *gin.Context) {
	p, ok := s.programs.Lookup(c.Param("id"))
	if !ok {
		fail(c, http.StatusNotFound, CodeProgramUnknown, s.programs.UnknownError(c.Param("id")).Error())
		return
	}
	var req MigrateRequest
	if !decode(c, &req) {
		return
	}
	var problems workflows.Problems
	switch {
	case len(req.ParticipantIDs) == 0:
		problems = append(problems, workflows.FieldError{Field: "participantIds", Message: "list the journeys to move"})
	case len(req.ParticipantIDs) > maxMigrate:
		problems = append(problems, workflows.FieldError{Field: "participantIds", Message: fmt.Sprintf("at most %d per call; send the rest in another call", maxMigrate)})
	}
	for i, id := range req.ParticipantIDs {
		if msg := workflows.CheckParticipantID(id); msg != "" {
			problems = append(problems, workflows.FieldError{Field: fmt.Sprintf("participantIds[%d]", i), Message: msg})
		}
	}
	if strings.TrimSpace(req.RequestedBy) == "" {
		problems = append(problems, workflows.FieldError{Field: "requestedBy", Message: "is required: who moves the journeys, for the audit log"})
	}
	if strings.TrimSpace(req.Reason) == "" {
		problems = append(problems, workflows.FieldError{Field: "reason", Message: "is required: why running journeys move to the new rules"})
	}
	if len(problems) > 0 {
		fail(c, http.StatusUnprocessableEntity, CodeValidationFailed, "the journeys cannot be moved: "+summary(problems), problems...)
		return
	}
	ctx := c.Request.Context()
	log := zerolog.Ctx(ctx)
	results := make([]MigrateResult, 0, len(req.ParticipantIDs))
	audit := func(id, outcome, message string) bool {
		entry := store.AuditEntry{
			Actor: principal(c).Subject, Action: "program.migrate", ParticipantID: id, Outcome: outcome,
			Detail: map[string]any{"program": p.ID, "toVersion": p.Version, "reason": req.Reason, "message": message,
				"requestedBy": req.RequestedBy},
			RequestID: c.GetString(requestIDKey),
		}
		if err := s.db.Audit(ctx, entry); err != nil {
			log.Error().Err(err).Msg("audit log write failed")
			fail(c, http.StatusServiceUnavailable, CodeUnavailable, "the audit log could not be written, so the remaining journeys were not moved; try again")
			return false
		}
		return true
	}
	for _, id := range req.ParticipantIDs {
		// Audited before and after: a request is on record even if the process dies
		// between moving the journey and recording the outcome.
		if !audit(id, "requested", "") {
			return
		}
		r := MigrateResult{ParticipantID: id, Outcome: "migrated"}
		h, err := s.tc.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID: workflows.JourneyWorkflowID(id), UpdateName: workflows.UpdateMigrateProgram,
			Args:         []any{workflows.MigrateProgram{Program: p, RequestedBy: req.RequestedBy, Reason: req.Reason}},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err == nil {
			err = h.Get(ctx, nil)
		}
		var notFound *serviceerror.NotFound
		var appErr *temporal.ApplicationError
		switch {
		case err == nil:
		case errors.As(err, &notFound):
			r.Outcome, r.Message = "not_found", "no running journey for this participant"
		case errors.As(err, &appErr):
			r.Outcome, r.Message = "rejected", appErr.Message()
		default:
			failTemporal(c, err, id)
			return
		}
		if !audit(id, r.Outcome, r.Message) {
			return
		}
		log.Info().Str("participant", id).Str("program", p.ID).Int("version", p.Version).Str("outcome", r.Outcome).Msg("program migration")
		results = append(results, r)
	}
	c.JSON(http.StatusOK, gin.H{"program": p.ID, "version": p.Version, "results": results})
}
