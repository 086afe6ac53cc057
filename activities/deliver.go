package activities

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/smtp"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
)

// DeliverNotificationName is the registered name of the delivery activity.
const DeliverNotificationName = "DeliverNotification"

// SignatureHeader carries the webhook's HMAC-SHA256 of the body, as "sha256=<hex>".
const SignatureHeader = "X-Stegvis-Signature"

// DeliveryInfo is a notification with what delivering it needs.
type DeliveryInfo struct {
	ID             string     `json:"id"`
	Number         int64      `json:"number"`
	ParticipantID  string     `json:"participantId"`
	Unit           string     `json:"unit"`
	DeadlineID     string     `json:"deadlineId"`
	Kind           string     `json:"kind"`
	Level          int        `json:"level"`
	RecipientRole  string     `json:"recipientRole"`
	RecipientID    string     `json:"recipientId,omitempty"`
	RecipientEmail string     `json:"-"` // staff data, for the email only
	DueAt          time.Time  `json:"dueAt"`
	EmailSentAt    *time.Time `json:"-"`
	WebhookSentAt  *time.Time `json:"-"`
	// DeliveryFailure is what was recorded of channels that failed for good, each as
	// "<channel>: <reason>"; such a channel is not tried again.
	DeliveryFailure string `json:"-"`
}

// failedFor reports whether a channel's permanent failure is recorded already.
func (n DeliveryInfo) failedFor(channel string) bool {
	for _, part := range strings.Split(n.DeliveryFailure, "; ") {
		if strings.HasPrefix(part, channel+":") {
			return true
		}
	}
	return false
}

// DeliveryStore reads what a delivery needs and records what was done.
type DeliveryStore interface {
	DeliveryOf(ctx context.Context, id string) (DeliveryInfo, error)
	MarkDelivered(ctx context.Context, id, channel string) error
	// MarkDeliveryFailed records that a channel cannot deliver the notification, with a
	// reason that starts with the channel ("email: SMTP 550 ...").
	MarkDeliveryFailed(ctx context.Context, id, reason string) error
}

// Mail is the SMTP configuration; an empty Addr turns email off.
type Mail struct {
	Addr     string // host:port
	From     string
	Username string
	Password string
}

// Webhook is the webhook configuration; an empty URL turns it off.
type Webhook struct {
	URL    string
	Secret string
	Client *http.Client
}

// Delivery sends notifications out by email and webhook.
type Delivery struct {
	Store   DeliveryStore
	Mail    Mail
	Webhook Webhook
}

// DeliverNotification sends one notification by every configured channel that has
// neither sent it nor failed for good. A channel that succeeds is recorded and never
// repeated. A permanent refusal (SMTP 5xx, an unusable address, a webhook 4xx) is
// recorded on the notification, counted and logged, and the other channel is still
// tried; a transient failure is returned so that Temporal retries the channels left.
// Escalations go out at once through here; reminders wait for the daily digest.
func (d *Delivery) DeliverNotification(ctx context.Context, id string, m SideEffectMetrics) error {
	n, err := d.Store.DeliveryOf(ctx, id)
	if err != nil {
		return err
	}
	var transient []string
	try := func(channel string, send func() error) error {
		err := send()
		var perm *permanentDeliveryError
		switch {
		case err == nil:
			if err := d.Store.MarkDelivered(ctx, id, channel); err != nil {
				return err
			}
			if m != nil {
				m.DeliverySent(channel)
			}
		case errors.As(err, &perm):
			return d.recordPermanent(ctx, n, perm.Error(), m)
		default:
			if m != nil {
				m.DeliveryFailed(channel, ClassTransient)
			}
			kind := transientKind(err)
			activity.GetLogger(ctx).Warn("delivery failed; will retry", "notification", n.Number,
				"participant", n.ParticipantID, "channel", channel, "error", kind)
			transient = append(transient, channel+": "+kind)
		}
		return nil
	}
	if d.Mail.Addr != "" && n.EmailSentAt == nil && n.RecipientEmail != "" && !n.failedFor(ChannelEmail) {
		err := try(ChannelEmail, func() error {
			if err := checkAddress(n.RecipientEmail); err != nil {
				return err
			}
			return classifySMTP(d.sendMail(n))
		})
		if err != nil {
			return err
		}
	}
	if d.Webhook.URL != "" && n.WebhookSentAt == nil && !n.failedFor(ChannelWebhook) {
		if err := try(ChannelWebhook, func() error { return d.postWebhook(ctx, n) }); err != nil {
			return err
		}
	}
	if len(transient) > 0 {
		// Only the kind of failure: server replies may quote the address.
		return fmt.Errorf("notification %d not delivered yet (%s)", n.Number, strings.Join(transient, "; "))
	}
	return nil
}

// GiveUp records every channel that has still not delivered a notification as failed
// for good, after transient failures lasted as long as the journey waits.
func (d *Delivery) GiveUp(ctx context.Context, id string, after time.Duration, m SideEffectMetrics) error {
	n, err := d.Store.DeliveryOf(ctx, id)
	if err != nil {
		return err
	}
	reason := "gave up after " + after.String() + " of transient failures"
	if d.Mail.Addr != "" && n.EmailSentAt == nil && n.RecipientEmail != "" && !n.failedFor(ChannelEmail) {
		if err := d.recordPermanent(ctx, n, ChannelEmail+": "+reason, m); err != nil {
			return err
		}
	}
	if d.Webhook.URL != "" && n.WebhookSentAt == nil && !n.failedFor(ChannelWebhook) {
		if err := d.recordPermanent(ctx, n, ChannelWebhook+": "+reason, m); err != nil {
			return err
		}
	}
	return nil
}

// recordPermanent records a channel's permanent failure on the notification, counts it
// and logs it (the participant by pseudonymous id only).
func (d *Delivery) recordPermanent(ctx context.Context, n DeliveryInfo, reason string, m SideEffectMetrics) error {
	if err := d.Store.MarkDeliveryFailed(ctx, n.ID, reason); err != nil {
		return err
	}
	channel, _, _ := strings.Cut(reason, ":")
	if m != nil {
		m.DeliveryFailed(channel, ClassPermanent)
	}
	activity.GetLogger(ctx).Error("delivery failed for good; an admin must handle it", "notification", n.Number,
		"participant", n.ParticipantID, "channel", channel, "reason", reason)
	return nil
}

// subject says what happened without personal data: the participant only by id.
func subject(n DeliveryInfo) string {
	switch n.Kind {
	case "escalation":
		return fmt.Sprintf("stegvis: %s for %s overdue (escalation level %d)", n.DeadlineID, n.ParticipantID, n.Level)
	case "attendance":
		return fmt.Sprintf("stegvis: %s missed meetings in a row", n.ParticipantID)
	}
	return fmt.Sprintf("stegvis: %s for %s is due", n.DeadlineID, n.ParticipantID)
}

func (d *Delivery) sendMail(n DeliveryInfo) error {
	body := fmt.Sprintf("%s\r\n\r\nParticipant: %s\r\nUnit: %s\r\nDeadline: %s, due %s\r\n\r\nOpen stegvis to see the journey.\r\n",
		subject(n), n.ParticipantID, n.Unit, n.DeadlineID, n.DueAt.Format(time.DateOnly))
	msg := "From: " + d.Mail.From + "\r\nTo: " + n.RecipientEmail + "\r\nSubject: " + subject(n) +
		"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body
	return smtp.SendMail(d.Mail.Addr, d.mailAuth(), d.Mail.From, []string{n.RecipientEmail}, []byte(msg))
}

func (d *Delivery) mailAuth() smtp.Auth {
	if d.Mail.Username == "" {
		return nil
	}
	host := d.Mail.Addr
	if i := strings.LastIndex(host, ":"); i > 0 {
		host = host[:i]
	}
	return smtp.PlainAuth("", d.Mail.Username, d.Mail.Password, host)
}

// Sign is the webhook signature of a body: hex HMAC-SHA256 with the shared secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func (d *Delivery) postWebhook(ctx context.Context, n DeliveryInfo) error {
	body, err := json.Marshal(n)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.Webhook.URL, bytes.NewReader(body))
	if err != nil {
		return &permanentDeliveryError{channel: ChannelWebhook, reason: "the webhook URL is invalid; fix WEBHOOK_URL"}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, Sign(d.Webhook.Secret, body))
	client := d.Webhook.Client
	if client == nil {
		client = &http.Client{Timeout: 20 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return classifyWebhookStatus(resp.StatusCode)
	}
	return nil
}
