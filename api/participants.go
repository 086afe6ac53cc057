package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/rs/zerolog"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/stegvis/stegvis/workflows"
)

// StartRequest is the body of POST /v1/participants.
type StartRequest struct {
	ParticipantID string `json:"participantId"`
	ProgramID     string `json:"programId"`
	Unit          string `json:"unit"`
	ReferredAt    string `json:"referredAt"`
	GuideID       string `json:"guideId,omitempty"`
	// GuideAssignedAt is when the guide took over, when that was after the referral
	// (an existing caseload brought in by stegvis import). The guide is checked against
	// the org chart before the journey starts, and then assigned from that time.
	GuideAssignedAt string `json:"guideAssignedAt,omitempty"`
	Priority        int    `json:"priority,omitempty"`
	// Who the participant is: stored encrypted in PostgreSQL, never in the journey.
	PersonalNumber string `json:"personalNumber,omitempty"`
	Name           string `json:"name,omitempty"`
	// CaseWorkerID is the social-services case worker who may follow the journey.
	CaseWorkerID string `json:"caseWorkerId,omitempty"`
}

// PlanRequest is the body of POST /v1/participants/{id}/plan.
type PlanRequest struct {
	SignedAt       string                   `json:"signedAt"`
	MainActivity   string                   `json:"mainActivity" text:"lines"`
	WeeklySchedule []workflows.ScheduleSlot `json:"weeklySchedule"`
	SubGoals       []string                 `json:"subGoals"`
	FollowUpAt     string                   `json:"followUpAt"`
	Extras         []string                 `json:"extras,omitempty"`
}

// GuideRequest is the body of POST /v1/participants/{id}/guide.
type GuideRequest struct {
	GuideID      string `json:"guideId"`
	HandoverNote string `json:"handoverNote,omitempty" text:"lines"`
	From         string `json:"from,omitempty"`
}

// MappingRequest is the body of POST /v1/participants/{id}/mapping.
type MappingRequest struct {
	RecordedAt             string `json:"recordedAt"`
	AdaptationNeeds        string `json:"adaptationNeeds" text:"lines"`
	InterestsAndExperience string `json:"interestsAndExperience" text:"lines"`
	OwnView                string `json:"ownView" text:"lines"`
	Motivation             string `json:"motivation" text:"lines"`
	Health                 string `json:"health" text:"lines"`
	WorkCapacity           string `json:"workCapacity" text:"lines"`
}

// DeepenedPlanRequest is the body of POST /v1/participants/{id}/deepened-plan.
type DeepenedPlanRequest struct {
	SignedAt          string                       `json:"signedAt"`
	Summary           string                       `json:"summary" text:"lines"`
	PurchasedServices []workflows.PurchasedService `json:"purchasedServices,omitempty"`
}

// MeetingRequest is the body of POST /v1/participants/{id}/meetings.
type MeetingRequest struct {
	Kind         string   `json:"kind"`
	Outcome      string   `json:"outcome"`
	OccurredAt   string   `json:"occurredAt"`
	Participants []string `json:"participants,omitempty"`
	NextReviewAt string   `json:"nextReviewAt,omitempty"`
	Note         string   `json:"note,omitempty" text:"lines"`
}

// StepRequest is the body of POST /v1/participants/{id}/steps.
type StepRequest struct {
	Step     int    `json:"step"`
	PassedAt string `json:"passedAt"`
}

// PauseRequest is the body of POST /v1/participants/{id}/pause.
type PauseRequest struct {
	Reason string `json:"reason"`
	From   string `json:"from"`
	Note   string `json:"note,omitempty" text:"lines"`
}

// ResumeRequest is the body of POST /v1/participants/{id}/resume.
type ResumeRequest struct {
	At string `json:"at"`
}

// TransferRequest is the body of POST /v1/participants/{id}/transfer.
type TransferRequest struct {
	ToUnit string `json:"toUnit"`
	Note   string `json:"note,omitempty" text:"lines"`
}

// ExitRequest is the body of POST /v1/participants/{id}/exit.
type ExitRequest struct {
	Reason string `json:"reason"`
	At     string `json:"at"`
	Note   string `json:"note,omitempty" text:"lines"`
}

func (s *server) startJourney(c *gin.Context) {
	var req StartRequest
	if !decode(c, &req) {
		return
	}
	referred, ok := parseWhen(c, "referredAt", req.ReferredAt)
	if !ok {
		return
	}
	guideFrom, ok := parseWhen(c, "guideAssignedAt", req.GuideAssignedAt)
	if !ok {
		return
	}
	start := workflows.StartJourney{
		ParticipantID: req.ParticipantID, ProgramID: req.ProgramID, Unit: strings.TrimSpace(req.Unit),
		ReferredAt: referred, GuideID: req.GuideID, Priority: req.Priority,
	}
	p := workflows.ValidateStart(start, s.now())
	if !guideFrom.IsZero() {
		p = append(p, checkGuideFrom(req.GuideID, guideFrom, referred, s.now())...)
	}
	if len(p) > 0 {
		fail(c, http.StatusUnprocessableEntity, CodeValidationFailed, "the journey cannot be started: "+summary(p), p...)
		return
	}
	prog, ok := s.programs.Lookup(start.ProgramID)
	if !ok {
		fail(c, http.StatusNotFound, CodeProgramUnknown, s.programs.UnknownError(start.ProgramID).Error())
		return
	}
	if !s.orgChecked(c, "the journey cannot be started", s.startChecks(c.Request.Context(), start, req.CaseWorkerID)...) {
		return
	}

	if !s.saveIdentity(c, req) || !s.audit(c, start.ParticipantID, "allowed", nil) {
		return
	}
	// A later guide is assigned by an Update once the journey runs, so that the
	// journey's history says from when; the start itself then names no guide.
	var later *workflows.AssignGuide
	if !guideFrom.IsZero() {
		later = &workflows.AssignGuide{GuideID: start.GuideID, From: guideFrom}
		start.GuideID = ""
	}
	ctx := c.Request.Context()
	wid := workflows.JourneyWorkflowID(start.ParticipantID)
	in := workflows.JourneyInput{Start: start, Program: prog, Index: s.searchIndexed(ctx)}
	// The answer is computed before the start, so that a journey is never started that
	// the API then could not describe. The scheduler fails only without a referral time,
	// which ValidateStart has already refused.
	opened, err := workflows.Opened(in)
	if err != nil {
		zerolog.Ctx(ctx).Error().Err(err).Str("program", start.ProgramID).Msg("cannot schedule a new journey's deadlines")
		fail(c, http.StatusInternalServerError, CodeInternal, "something went wrong on our side; quote the request id when you report it")
		return
	}
	_, err = s.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:        wid,
		TaskQueue: workflows.TaskQueue,
		// A running journey is never started twice; a repeated request is answered
		// from the running one below.
		WorkflowExecutionErrorWhenAlreadyStarted: true,
	}, workflows.JourneyWorkflowType, in)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &already) {
		failTemporal(c, err, start.ParticipantID)
		return
	}
	c.Header("Location", "/v1/participants/"+start.ParticipantID)
	if err == nil && later == nil {
		// Not a query: it would wait until a worker has run the journey's first task.
		c.JSON(http.StatusCreated, opened.View(s.now()))
		return
	}
	if err == nil {
		st, err := s.assignLater(c, start.ParticipantID, *later)
		if err != nil {
			failTemporal(c, err, start.ParticipantID)
			return
		}
		c.JSON(http.StatusCreated, st.View(s.now()))
		return
	}

	st, err := s.query(c, start.ParticipantID)
	if err != nil {
		failTemporal(c, err, start.ParticipantID)
		return
	}
	if !st.Start.SameAs(start) {
		fail(c, http.StatusConflict, CodeConflict, fmt.Sprintf(
			"participant %q already has a journey, started with different %s; read it with GET /v1/participants/%s, or repeat the original request",
			start.ParticipantID, strings.Join(differences(st.Start, start), ", "), start.ParticipantID))
		return
	}
	if later != nil {
		// A repeated import row: the guide is assigned if an earlier try stopped short.
		if st, err = s.assignLater(c, start.ParticipantID, *later); err != nil {
			failTemporal(c, err, start.ParticipantID)
			return
		}
	}
	c.JSON(http.StatusOK, st.View(s.now()))
}

// checkGuideFrom checks a referral's guideAssignedAt as the journey would check the
// assignment, before anything is started: a guide to assign, not before the referral,
// not in the future.
func checkGuideFrom(guideID string, from, referred, now time.Time) workflows.Problems {
	var p workflows.Problems
	switch {
	case guideID == "":
		p = append(p, workflows.FieldError{Field: "guideAssignedAt", Message: "needs guideId: the guide who took over then"})
	case from.Before(referred):
		p = append(p, workflows.FieldError{Field: "guideAssignedAt", Message: "is before referredAt; check the date"})
	case from.After(now.Add(workflows.ClockSkew)):
		p = append(p, workflows.FieldError{Field: "guideAssignedAt", Message: "lies in the future; record it when it has happened"})
	}
	return p
}

// assignLater assigns a referral's later guide; a guide already assigned (a repeated
// request) is the journey as it is.
func (s *server) assignLater(c *gin.Context, participantID string, g workflows.AssignGuide) (workflows.JourneyState, error) {
	st, err := s.sendUpdate(c, participantID, workflows.UpdateAssignGuide, g, "")
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Type() == workflows.ErrTypeConflict {
		return s.query(c, participantID)
	}
	return st, err
}

// startChecks are the org-chart checks of a referral: the unit first, and the guide
// and case worker only when the unit is known, so that what they offer is of that unit.
func (s *server) startChecks(ctx context.Context, start workflows.StartJourney, caseWorker string) []func() (*workflows.FieldError, error) {
	unitOK := false
	checks := []func() (*workflows.FieldError, error){func() (*workflows.FieldError, error) {
		p, err := s.checkUnit(ctx, "unit", start.Unit)
		unitOK = p == nil && err == nil
		return p, err
	}}
	if start.GuideID != "" {
		checks = append(checks, func() (*workflows.FieldError, error) {
			if !unitOK {
				return nil, nil
			}
			return s.checkGuide(ctx, "guideId", start.GuideID, start.Unit)
		})
	}
	if caseWorker != "" {
		checks = append(checks, func() (*workflows.FieldError, error) {
			if !unitOK {
				return nil, nil
			}
			return s.checkCaseWorker(ctx, "caseWorkerId", caseWorker, start.Unit)
		})
	}
	return checks
}

func differences(a, b workflows.StartJourney) []string {
	var d []string
	if a.ProgramID != b.ProgramID {
		d = append(d, "programId")
	}
	if a.Unit != b.Unit {
		d = append(d, "unit")
	}
	if !a.ReferredAt.Equal(b.ReferredAt) {
		d = append(d, "referredAt")
	}
	if a.GuideID != b.GuideID {
		d = append(d, "guideId")
	}
	if a.EffectivePriority() != b.EffectivePriority() {
		d = append(d, "priority")
	}
	return d
}

func summary(p workflows.Problems) string {
	parts := make([]string, len(p))
	for i, f := range p {
		parts[i] = f.Field + " " + f.Message
	}
	return strings.Join(parts, "; ")
}

func (s *server) query(c *gin.Context, participantID string) (workflows.JourneyState, error) {
	var st workflows.JourneyState
	v, err := s.tc.QueryWorkflow(c.Request.Context(), workflows.JourneyWorkflowID(participantID), "", workflows.QueryState)
	if err != nil {
		return st, err
	}
	return st, v.Get(&st)
}

// participantID reads and checks the {id} path parameter.
func participantID(c *gin.Context) (string, bool) {
	id := c.Param("id")
	if msg := workflows.CheckParticipantID(id); msg != "" {
		fail(c, http.StatusBadRequest, CodeBadRequest, "participant id in the path "+msg)
		return "", false
	}
	return id, true
}

// journeyOf is the journey's state: the one the access check read, or a query.
func (s *server) journeyOf(c *gin.Context, id string) (workflows.JourneyState, error) {
	if st, ok := c.Get(journeyKey); ok {
		return st.(workflows.JourneyState), nil
	}
	return s.query(c, id)
}

func (s *server) getJourney(c *gin.Context) {
	id, ok := participantID(c)
	if !ok {
		return
	}
	st, ok := c.Get(journeyKey) // read by the access check
	if !ok {
		var err error
		if st, err = s.query(c, id); err != nil {
			failTemporal(c, err, id)
			return
		}
	}
	person, err := s.person(c, id)
	if err != nil {
		zerolog.Ctx(c.Request.Context()).Error().Err(err).Msg("reading the participant's identity failed")
		c.Header("Retry-After", "5")
		fail(c, http.StatusServiceUnavailable, CodeUnavailable, "who the participant is could not be read; try again in a few seconds, and quote the request id if it lasts")
		return
	}
	c.JSON(http.StatusOK, ParticipantView{JourneyView: st.(workflows.JourneyState).View(s.now()), Person: person})
}

// ParticipantView is a journey with who the participant is, for those who may see it.
type ParticipantView struct {
	workflows.JourneyView
	Person *Person `json:"person,omitempty"`
}

func (s *server) recordPlan(c *gin.Context) {
	id, ok := participantID(c)
	if !ok {
		return
	}
	var req PlanRequest
	if !decode(c, &req) {
		return
	}
	signed, ok := parseWhen(c, "signedAt", req.SignedAt)
	if !ok {
		return
	}
	followUp, ok := parseWhen(c, "followUpAt", req.FollowUpAt)
	if !ok {
		return
	}
	plan := workflows.Plan{
		SignedAt: signed, MainActivity: strings.TrimSpace(req.MainActivity), WeeklySchedule: req.WeeklySchedule,
		SubGoals: req.SubGoals, FollowUpAt: followUp, Extras: req.Extras,
	}
	s.update(c, id, workflows.UpdateRecordPlan, plan)
}

// update sends a Temporal Update and answers with the journey's new state. The
// workflow's validator rejects a bad request before it enters history. An
// Idempotency-Key header makes a retried request return the first answer.
func (s *server) update(c *gin.Context, participantID, name string, arg any) {
	st, err := s.sendUpdate(c, participantID, name, arg, idempotencyKey(c))
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		// An ended journey's workflow has completed: it can be read, not changed.
		if ended, qerr := s.query(c, participantID); qerr == nil && ended.Exit != nil {
			fail(c, http.StatusConflict, CodeConflict, fmt.Sprintf(
				"the journey ended on %s (%s); nothing more can be recorded on it. Start a new journey if the participant comes back",
				ended.Exit.At.Format(time.DateOnly), ended.Exit.Reason))
			return
		}
	}
	if err != nil {
		failTemporal(c, err, participantID)
		return
	}
	c.JSON(http.StatusOK, st.View(s.now()))
}

// sendUpdate sends an Update and waits for the journey's new state.
func (s *server) sendUpdate(c *gin.Context, participantID, name string, arg any, updateID string) (workflows.JourneyState, error) {
	ctx := c.Request.Context()
	h, err := s.tc.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflows.JourneyWorkflowID(participantID),
		UpdateName:   name,
		UpdateID:     updateID,
		Args:         []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	var st workflows.JourneyState
	if err == nil {
		err = h.Get(ctx, &st)
	}
	return st, err
}

func idempotencyKey(c *gin.Context) string {
	k := c.GetHeader("Idempotency-Key")
	if requestIDPattern.MatchString(k) {
		return k
	}
	return ""
}

func (s *server) assignGuide(c *gin.Context) {
	id, ok := participantID(c)
	if !ok {
		return
	}
	var req GuideRequest
	from, ok := decodeWithTime(c, &req, "from", &req.From)
	if !ok {
		return
	}
	g := workflows.AssignGuide{GuideID: strings.TrimSpace(req.GuideID), HandoverNote: req.HandoverNote, From: from}
	if g.GuideID != "" {
		st, err := s.journeyOf(c, id)
		if err != nil {
			failTemporal(c, err, id)
			return
		}
		// The journey's own validator says what an empty id lacks; an unchanged guide
		// and an ended journey are its 409s.
		if st.Exit == nil && g.GuideID != st.GuideID && !s.orgChecked(c, "the guide cannot be assigned", func() (*workflows.FieldError, error) {
			return s.checkGuide(c.Request.Context(), "guideId", g.GuideID, st.Unit)
		}) {
			return
		}
	}
	s.update(c, id, workflows.UpdateAssignGuide, g)
}

func (s *server) recordMapping(c *gin.Context) {
	id, ok := participantID(c)
	if !ok {
		return
	}
	var req MappingRequest
	at, ok := decodeWithTime(c, &req, "recordedAt", &req.RecordedAt)
	if !ok {
		return
	}
	s.update(c, id, workflows.UpdateRecordMapping, workflows.Mapping{
		RecordedAt: at, AdaptationNeeds: req.AdaptationNeeds, InterestsAndExperience: req.InterestsAndExperience,
		OwnView: req.OwnView, Motivation: req.Motivation, Health: req.Health, WorkCapacity: req.WorkCapacity,
	})
}

func (s *server) recordDeepenedPlan(c *gin.Context) {
	id, ok := participantID(c)
	if !ok {
		return
	}
	var req DeepenedPlanRequest
	at, ok := decodeWithTime(c, &req, "signedAt", &req.SignedAt)
	if !ok {
		return
	}
	s.update(c, id, workflows.UpdateRecordDeepenedPlan, workflows.DeepenedPlan{
		SignedAt: at, Summary: req.Summary, PurchasedServices: req.PurchasedServices,
	})
}

func (s *server) recordMeeting(c *gin.Context) {
	id, ok := participantID(c)
	if !ok {
		return
	}
	var req MeetingRequest
	if !decode(c, &req) {
		return
	}
	at, ok := parseWhen(c, "occurredAt", req.OccurredAt)
	if !ok {
		return
	}
	next, ok := parseWhen(c, "nextReviewAt", req.NextReviewAt)
	if !ok {
		return
	}
	s.update(c, id, workflows.UpdateRecordMeeting, workflows.Meeting{
		Kind: workflows.MeetingKind(req.Kind), Outcome: workflows.Outcome(req.Outcome), OccurredAt: at,
		Participants: req.Participants, NextReviewAt: next, Note: req.Note,
	})
}

// decodeWithTime decodes a body and reads its one date field; false when it has
// answered the request itself.
func decodeWithTime(c *gin.Context, dst any, field string, value *string) (time.Time, bool) {
	if !decode(c, dst) {
		return time.Time{}, false
	}
	return parseWhen(c, field, *value)
}

func (s *server) passStep(c *gin.Context) {
	id, ok := participantID(c)
	if !ok {
		return
	}
	var req StepRequest
	at, ok := decodeWithTime(c, &req, "passedAt", &req.PassedAt)
	if !ok {
		return
	}
	s.update(c, id, workflows.UpdatePassStep, workflows.PassStep{Step: req.Step, PassedAt: at})
}

func (s *server) pause(c *gin.Context) {
	id, ok := participantID(c)
	if !ok {
		return
	}
	var req PauseRequest
	from, ok := decodeWithTime(c, &req, "from", &req.From)
	if !ok {
		return
	}
	s.update(c, id, workflows.UpdatePause, workflows.Pause{Reason: workflows.PauseReason(req.Reason), From: from, Note: req.Note})
}

func (s *server) resume(c *gin.Context) {
	id, ok := participantID(c)
	if !ok {
		return
	}
	var req ResumeRequest
	at, ok := decodeWithTime(c, &req, "at", &req.At)
	if !ok {
		return
	}
	s.update(c, id, workflows.UpdateResume, workflows.Resume{At: at})
}

func (s *server) transfer(c *gin.Context) {
	id, ok := participantID(c)
	if !ok {
		return
	}
	var req TransferRequest
	if !decode(c, &req) {
		return
	}
	t := workflows.Transfer{ToUnit: strings.TrimSpace(req.ToUnit), Note: req.Note}
	// The guide stays with the journey (the workflow keeps them); the new unit's team
	// lead hands over to one of their guides.
	if t.ToUnit != "" && !s.orgChecked(c, "the journey cannot be transferred", func() (*workflows.FieldError, error) {
		return s.checkUnit(c.Request.Context(), "toUnit", t.ToUnit)
	}) {
		return
	}
	s.update(c, id, workflows.UpdateTransfer, t)
}

func (s *server) exit(c *gin.Context) {
	id, ok := participantID(c)
	if !ok {
		return
	}
	var req ExitRequest
	at, ok := decodeWithTime(c, &req, "at", &req.At)
	if !ok {
		return
	}
	s.update(c, id, workflows.UpdateExit, workflows.Exit{Reason: workflows.ExitReason(req.Reason), At: at, Note: req.Note})
}
