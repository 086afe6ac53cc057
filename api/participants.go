package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/rs/zerolog"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/stegvis/stegvis/workflows"
)

// StartRequest is the body of POST /v1/participants.
type StartRequest struct {
	ParticipantID string `json:"participantId"`
	ProgramID     string `json:"programId"`
	Unit          string `json:"unit"`
	ReferredAt    string `json:"referredAt"`
	GuideID       string `json:"guideId,omitempty"`
	Priority      int    `json:"priority,omitempty"`
	// Who the participant is: stored encrypted in PostgreSQL, never in the journey.
	PersonalNumber string `json:"personalNumber,omitempty"`
	Name           string `json:"name,omitempty"`
	// CaseWorkerID is the social-services case worker who may follow the journey.
	CaseWorkerID string `json:"caseWorkerId,omitempty"`
}

// PlanRequest is the body of POST /v1/participants/{id}/plan.
type PlanRequest struct {
	SignedAt       string                   `json:"signedAt"`
	MainActivity   string                   `json:"mainActivity"`
	WeeklySchedule []workflows.ScheduleSlot `json:"weeklySchedule"`
	SubGoals       []string                 `json:"subGoals"`
	FollowUpAt     string                   `json:"followUpAt"`
	Extras         []string                 `json:"extras,omitempty"`
}

// GuideRequest is the body of POST /v1/participants/{id}/guide.
type GuideRequest struct {
	GuideID      string `json:"guideId"`
	HandoverNote string `json:"handoverNote,omitempty"`
	From         string `json:"from,omitempty"`
}

// MappingRequest is the body of POST /v1/participants/{id}/mapping.
type MappingRequest struct {
	RecordedAt             string `json:"recordedAt"`
	AdaptationNeeds        string `json:"adaptationNeeds"`
	InterestsAndExperience string `json:"interestsAndExperience"`
	OwnView                string `json:"ownView"`
	Motivation             string `json:"motivation"`
	Health                 string `json:"health"`
	WorkCapacity           string `json:"workCapacity"`
}

// DeepenedPlanRequest is the body of POST /v1/participants/{id}/deepened-plan.
type DeepenedPlanRequest struct {
	SignedAt          string                       `json:"signedAt"`
	Summary           string                       `json:"summary"`
	PurchasedServices []workflows.PurchasedService `json:"purchasedServices,omitempty"`
}

// MeetingRequest is the body of POST /v1/participants/{id}/meetings.
type MeetingRequest struct {
	Kind         string   `json:"kind"`
	Outcome      string   `json:"outcome"`
	OccurredAt   string   `json:"occurredAt"`
	Participants []string `json:"participants,omitempty"`
	NextReviewAt string   `json:"nextReviewAt,omitempty"`
	Note         string   `json:"note,omitempty"`
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
	Note   string `json:"note,omitempty"`
}

// ResumeRequest is the body of POST /v1/participants/{id}/resume.
type ResumeRequest struct {
	At string `json:"at"`
}

// TransferRequest is the body of POST /v1/participants/{id}/transfer.
type TransferRequest struct {
	ToUnit string `json:"toUnit"`
	Note   string `json:"note,omitempty"`
}

// ExitRequest is the body of POST /v1/participants/{id}/exit.
type ExitRequest struct {
	Reason string `json:"reason"`
	At     string `json:"at"`
	Note   string `json:"note,omitempty"`
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
	start := workflows.StartJourney{
		ParticipantID: req.ParticipantID, ProgramID: req.ProgramID, Unit: strings.TrimSpace(req.Unit),
		ReferredAt: referred, GuideID: req.GuideID, Priority: req.Priority,
	}
	if p := workflows.ValidateStart(start, s.now()); len(p) > 0 {
		fail(c, http.StatusUnprocessableEntity, CodeValidationFailed, "the journey cannot be started: "+summary(p), p...)
		return
	}
	prog, ok := s.programs.Lookup(start.ProgramID)
	if !ok {
		fail(c, http.StatusNotFound, CodeProgramUnknown, s.programs.UnknownError(start.ProgramID).Error())
		return
	}

	if !s.saveIdentity(c, req) || !s.audit(c, start.ParticipantID, "allowed", nil) {
		return
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
	if err == nil {
		// Not a query: it would wait until a worker has run the journey's first task.
		c.JSON(http.StatusCreated, opened.View(s.now()))
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
	c.JSON(http.StatusOK, st.View(s.now()))
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
	ctx := c.Request.Context()
	h, err := s.tc.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflows.JourneyWorkflowID(participantID),
		UpdateName:   name,
		UpdateID:     idempotencyKey(c),
		Args:         []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	var st workflows.JourneyState
	if err == nil {
		err = h.Get(ctx, &st)
	}
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
	s.update(c, id, workflows.UpdateAssignGuide, workflows.AssignGuide{GuideID: strings.TrimSpace(req.GuideID), HandoverNote: req.HandoverNote, From: from})
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
	s.update(c, id, workflows.UpdateTransfer, workflows.Transfer{ToUnit: strings.TrimSpace(req.ToUnit), Note: req.Note})
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
