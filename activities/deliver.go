package activities

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/smtp"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
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
}

// DeliveryStore reads what a delivery needs and records what was done.
type DeliveryStore interface {
	DeliveryOf(ctx context.Context, id string) (DeliveryInfo, error)
	MarkDelivered(ctx context.Context, id, channel string) error
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

// DeliverNotification sends one notification by every configured channel that has not
// sent it yet. A failure is returned so that Temporal retries it; a channel that
// succeeded is recorded and not repeated. Escalations go out at once through here;
// reminders wait for the daily digest.
func (d *Delivery) DeliverNotification(ctx context.Context, id string) error {
	n, err := d.Store.DeliveryOf(ctx, id)
	if err != nil {
		return err
	}
	if d.Mail.Addr != "" && n.EmailSentAt == nil && n.RecipientEmail != "" {
		if err := d.sendMail(n); err != nil {
			return fmt.Errorf("email notification %d: %w", n.Number, err)
		}
		if err := d.Store.MarkDelivered(ctx, id, "email"); err != nil {
			return err
		}
	}
	if d.Webhook.URL != "" && n.WebhookSentAt == nil {
		if err := d.postWebhook(ctx, n); err != nil {
			return fmt.Errorf("webhook for notification %d: %w", n.Number, err)
		}
		if err := d.Store.MarkDelivered(ctx, id, "webhook"); err != nil {
			return err
		}
	}
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
		return temporal.NewNonRetryableApplicationError("webhook URL is invalid: "+err.Error(), "Config", nil)
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
		return fmt.Errorf("the webhook answered %d", resp.StatusCode)
	}
	return nil
}
