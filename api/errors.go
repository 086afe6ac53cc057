package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/rs/zerolog"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/stegvis/stegvis/workflows"
)

// ErrorBody is every error response: {"error": {...}}.
type ErrorBody struct {
	Error APIError `json:"error"`
}

// APIError says what was wrong and what to do. Fields, when present, name each field
// that failed validation.
type APIError struct {
	Code      string                 `json:"code"`
	Message   string                 `json:"message"`
	Fields    []workflows.FieldError `json:"fields,omitempty"`
	RequestID string                 `json:"requestId,omitempty"`
}

// Error codes.
const (
	CodeBadRequest         = "bad_request"
	CodeInvalidJSON        = "invalid_json"
	CodeInvalidDate        = "invalid_date"
	CodeBodyTooLarge       = "body_too_large"
	CodeValidationFailed   = "validation_failed"
	CodeParticipantUnknown = "participant_not_found"
	CodeProgramUnknown     = "program_not_found"
	CodeConflict           = "conflict"
	CodeNotFound           = "not_found"
	CodeMethodNotAllowed   = "method_not_allowed"
	CodeUnavailable        = "unavailable"
	CodeInternal           = "internal"
	CodeUnauthenticated    = "unauthenticated"
	CodeForbidden          = "forbidden"
	CodeRateLimited        = "rate_limited"
)

func fail(c *gin.Context, status int, code, message string, fields ...workflows.FieldError) {
	c.AbortWithStatusJSON(status, ErrorBody{Error: APIError{
		Code: code, Message: message, Fields: fields, RequestID: c.GetString(requestIDKey),
	}})
}

// failTemporal turns an error from Temporal into a response. A person's mistake
// (unknown participant, a rejected update) is a 4xx with the workflow's own message;
// anything else is logged and answered without internals.
func failTemporal(c *gin.Context, err error, participantID string) {
	var notFound *serviceerror.NotFound
	var appErr *temporal.ApplicationError
	switch {
	case errors.As(err, &notFound):
		fail(c, http.StatusNotFound, CodeParticipantUnknown,
			fmt.Sprintf("no journey for participant %q: check the id, or start one with POST /v1/participants", participantID))
		return
	case errors.As(err, &appErr) && appErr.Type() == workflows.ErrTypeInvalid:
		fields, _ := workflows.AsFieldErrors(err)
		fail(c, http.StatusUnprocessableEntity, CodeValidationFailed, appErr.Message(), fields...)
		return
	case errors.As(err, &appErr) && appErr.Type() == workflows.ErrTypeConflict:
		fail(c, http.StatusConflict, CodeConflict, appErr.Message())
		return
	}
	log := zerolog.Ctx(c.Request.Context())
	var (
		unavailable *serviceerror.Unavailable
		deadline    *serviceerror.DeadlineExceeded
		canceled    *serviceerror.Canceled
		exhausted   *serviceerror.ResourceExhausted
	)
	// Transient: the engine was busy, restarting or moving a task between workers.
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &unavailable) || errors.As(err, &deadline) ||
		errors.As(err, &canceled) || errors.As(err, &exhausted) {
		log.Warn().Err(err).Msg("Temporal did not answer")
		c.Header("Retry-After", "5")
		fail(c, http.StatusServiceUnavailable, CodeUnavailable, "the workflow engine did not answer in time; nothing was lost, try again in a few seconds")
		return
	}
	log.Error().Err(err).Msg("unexpected error from Temporal")
	fail(c, http.StatusInternalServerError, CodeInternal, "something went wrong on our side; quote the request id when you report it")
}
