package activities

import (
	"context"
	"errors"
	"fmt"
	"net/smtp"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/stegvis/stegvis/calendar"
)

// SendDigestsName is the registered name of the digest activity.
const SendDigestsName = "SendDigests"

// DigestItem is one line of a digest.
type DigestItem struct {
	ParticipantID string `json:"participantId"`
	DeadlineID    string `json:"deadlineId"`
	DueDate       string `json:"dueDate"`
	Overdue       bool   `json:"overdue"`
	Number        int64  `json:"number,omitempty"` // the reminder's notification number
}

// Digest is one person's morning email.
type Digest struct {
	StaffID   string       `json:"staffId"`
	Email     string       `json:"-"`
	Deadlines []DigestItem `json:"deadlines"` // due today or overdue, among the participants they guide
	Reminders []DigestItem `json:"reminders"` // reminders addressed to them since the last digest
}

// DigestStore collects digests and records what they carried.
type DigestStore interface {
	Digests(ctx context.Context, endOfDay time.Time) ([]Digest, error)
	MarkDigested(ctx context.Context, numbers []int64) error
}

// DigestResult counts what a digest run sent.
type DigestResult struct {
	Sent int `json:"sent"`
	// Failed counts the digests refused for good (an unusable address, SMTP 5xx).
	Failed int `json:"failed,omitempty"`
}

// SendDigests sends each person one email listing everything due today and everything
// overdue, instead of a reminder each: nobody gets thirty emails at eight o'clock. A
// retried run does not repeat the reminders already carried.
//
// One person's address never holds back the others': a permanent refusal (an address
// net/mail refuses, SMTP 5xx) skips that person today, counted and logged, and their
// reminders wait for tomorrow's digest. A transient failure (the mail server down) fails
// the run for Temporal to retry, and the retry goes on after those already sent: the
// heartbeat carries who has had theirs, so nobody gets the same digest twice.
func (a *Activities) SendDigests(ctx context.Context, day time.Time) (DigestResult, error) {
	if a.Digests == nil || a.Delivery == nil || a.Delivery.Mail.Addr == "" {
		return DigestResult{}, nil
	}
	list, err := a.Digests.Digests(ctx, calendar.EndOfDay(day))
	if err != nil {
		return DigestResult{}, err
	}
	var done digestProgress
	if activity.HasHeartbeatDetails(ctx) {
		if err := activity.GetHeartbeatDetails(ctx, &done); err != nil {
			return DigestResult{}, fmt.Errorf("read the digest run's progress: %w", err)
		}
	}
	handled := map[string]bool{}
	for _, id := range done.Handled {
		handled[id] = true
	}
	res := DigestResult{Sent: done.Sent, Failed: done.Failed}
	for _, d := range list {
		if handled[d.StaffID] {
			continue
		}
		err := checkAddress(d.Email)
		if err == nil {
			err = classifySMTP(a.Delivery.sendDigest(d, day))
		}
		var perm *permanentDeliveryError
		switch {
		case errors.As(err, &perm):
			res.Failed++
			if a.Metrics != nil {
				a.Metrics.DeliveryFailed(ChannelEmail, ClassPermanent)
			}
			activity.GetLogger(ctx).Error("digest not sent; the others go on", "staff", d.StaffID, "error", perm.Error())
		case err != nil:
			if a.Metrics != nil {
				a.Metrics.DeliveryFailed(ChannelEmail, ClassTransient)
			}
			// Only the kind of failure: server replies may quote the address.
			return res, fmt.Errorf("digest for %s: %s; retried after the %d already handled", d.StaffID, transientKind(err), len(done.Handled))
		default:
			var numbers []int64
			for _, r := range d.Reminders {
				numbers = append(numbers, r.Number)
			}
			if err := a.Digests.MarkDigested(ctx, numbers); err != nil {
				return res, err
			}
			res.Sent++
			if a.Metrics != nil {
				a.Metrics.DeliverySent(ChannelEmail)
			}
		}
		done.Handled = append(done.Handled, d.StaffID)
		done.Sent, done.Failed = res.Sent, res.Failed
		activity.RecordHeartbeat(ctx, done)
	}
	return res, nil
}

// digestProgress is what a digest run has done, carried by its heartbeat into a retry.
type digestProgress struct {
	Handled []string `json:"handled"` // staff ids sent to or refused for good
	Sent    int      `json:"sent"`
	Failed  int      `json:"failed"`
}

func (d *Delivery) sendDigest(dg Digest, day time.Time) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Your stegvis day, %s\r\n\r\n", calendar.Date(day).Format(time.DateOnly))
	overdue, today := 0, 0
	for _, it := range dg.Deadlines {
		if it.Overdue {
			overdue++
		} else {
			today++
		}
	}
	fmt.Fprintf(&b, "Overdue: %d. Due today: %d.\r\n\r\n", overdue, today)
	for _, it := range dg.Deadlines {
		state := "due today"
		if it.Overdue {
			state = "OVERDUE since " + it.DueDate
		}
		fmt.Fprintf(&b, "- %s: %s, %s\r\n", it.ParticipantID, it.DeadlineID, state)
	}
	if len(dg.Reminders) > 0 {
		b.WriteString("\r\nReminders:\r\n")
		for _, it := range dg.Reminders {
			fmt.Fprintf(&b, "- %s: %s due %s\r\n", it.ParticipantID, it.DeadlineID, it.DueDate)
		}
	}
	subject := fmt.Sprintf("stegvis: %d overdue, %d due today", overdue, today)
	msg := "From: " + d.Mail.From + "\r\nTo: " + dg.Email + "\r\nSubject: " + subject +
		"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + b.String()
	return smtp.SendMail(d.Mail.Addr, d.mailAuth(), d.Mail.From, []string{dg.Email}, []byte(msg))
}
