package activities

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
	"go.temporal.io/sdk/temporal"
)

// Error types of side effects that cannot succeed however often they are tried. The
// journey names them as non-retryable in its retry policies and goes on without them;
// every other error is transient and retried with backoff.
const (
	// ErrTypeDeliveryPermanent: a channel refused the notification for good (SMTP 5xx,
	// an address that cannot be used, a webhook 4xx). It is recorded on the notification.
	ErrTypeDeliveryPermanent = "DeliveryPermanent"
	// ErrTypeJournalPermanent: the read model refused a batch of journey events even with
	// its text cleaned. It is recorded in journal_write_failures; the batch is dropped.
	ErrTypeJournalPermanent = "JournalPermanent"
	// ErrTypeNotificationPermanent: a notification could not be written even with its
	// text cleaned. It is recorded in journal_write_failures.
	ErrTypeNotificationPermanent = "NotificationPermanent"
)

// PermanentErrorTypes are the error types no retry can fix.
var PermanentErrorTypes = []string{ErrTypeDeliveryPermanent, ErrTypeJournalPermanent, ErrTypeNotificationPermanent}

// Failure classes, as the metrics label them.
const (
	ClassPermanent = "permanent"
	ClassTransient = "transient"
)

// Delivery channels, as recorded and as the metrics label them.
const (
	ChannelEmail   = "email"
	ChannelWebhook = "webhook"
)

// SideEffectMetrics counts what the side effects did. metrics.SideEffects implements
// it; the interface keeps this package free of the metrics package.
type SideEffectMetrics interface {
	NotificationWritten(kind string, lateness time.Duration)
	DeliverySent(channel string)
	DeliveryFailed(channel, class string)
	JournalWriteFailed(class string)
}

// FailureStore records read-model writes that could not succeed, for people to handle
// (delivery failures go to DeliveryStore.MarkDeliveryFailed).
type FailureStore interface {
	RecordJournalWriteFailure(ctx context.Context, f JournalWriteFailure) error
}

// JournalWriteFailure is a read-model write that could not succeed as sent. Reason is
// a fixed text with the SQLSTATE, never the data.
type JournalWriteFailure struct {
	ParticipantID string
	JourneyID     string
	FirstSeq      int64 // 0 for a notification
	LastSeq       int64
	Reason        string
}

// permanentDBError reports whether PostgreSQL refused the data itself: a data exception
// (SQLSTATE class 22: NUL in text, invalid UTF-8, a value out of range) or a check
// violation. Retrying the same data never helps. Connection errors, timeouts and a
// server that is down are transient.
func permanentDBError(err error) (code string, ok bool) {
	var pg *pgconn.PgError
	if !errors.As(err, &pg) {
		return "", false
	}
	return pg.Code, strings.HasPrefix(pg.Code, "22") || pg.Code == "23514"
}

// clean makes text PostgreSQL accepts: NUL removed, invalid UTF-8 replaced. Input
// validation refuses both at the API; this is for what slipped past it.
func clean(s string) string {
	if !strings.ContainsRune(s, 0) && utf8.ValidString(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

// permanentDeliveryError is a channel's refusal that no retry fixes, with a reason
// that carries no personal data (no address, no server text).
type permanentDeliveryError struct {
	channel, reason string
}

func (e *permanentDeliveryError) Error() string { return e.channel + ": " + e.reason }

// classifySMTP turns an SMTP send error into a permanent refusal (a 5xx reply) or
// leaves it transient (4xx, connection refused, timeouts).
func classifySMTP(err error) error {
	var tp *textproto.Error
	if errors.As(err, &tp) && tp.Code >= 500 && tp.Code < 600 {
		return &permanentDeliveryError{channel: ChannelEmail, reason: fmt.Sprintf("SMTP %d (permanent rejection)", tp.Code)}
	}
	return err
}

// checkAddress refuses an address net/mail cannot parse or one with a line break,
// which net/smtp would refuse on every attempt.
func checkAddress(addr string) error {
	if strings.ContainsAny(addr, "\r\n") {
		return &permanentDeliveryError{channel: ChannelEmail, reason: "the recipient's address contains a line break; fix it in the org chart"}
	}
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Address != addr {
		return &permanentDeliveryError{channel: ChannelEmail, reason: "the recipient's address is not a valid email address; fix it in the org chart"}
	}
	return nil
}

// classifyWebhookStatus makes a 4xx answer permanent, except 408 and 429, which ask to
// try again; 5xx stays transient.
func classifyWebhookStatus(code int) error {
	if code >= 400 && code < 500 && code != 408 && code != 429 {
		return &permanentDeliveryError{channel: ChannelWebhook, reason: fmt.Sprintf("the webhook answered %d", code)}
	}
	return webhookStatus(code)
}

// webhookStatus is a webhook answer that asks to try again (5xx, 408, 429).
type webhookStatus int

func (c webhookStatus) Error() string { return fmt.Sprintf("the webhook answered %d", int(c)) }

// transientKind names a transient error for a log line, without its text (which may
// hold an address).
func transientKind(err error) string {
	var (
		tp *textproto.Error
		ne net.Error
		ws webhookStatus
	)
	switch {
	case errors.As(err, &ws):
		return fmt.Sprintf("HTTP %d", int(ws))
	case errors.As(err, &tp):
		return fmt.Sprintf("SMTP %d", tp.Code)
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.As(err, &ne):
		return "network error"
	}
	return "error"
}

func nonRetryable(typ, msg string) error {
	return temporal.NewNonRetryableApplicationError(msg, typ, nil)
}
