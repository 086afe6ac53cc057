package activities

import (
	"context"
	"fmt"
	"net/smtp"
	"strings"
	"time"

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
}

// SendDigests sends each person one email listing everything due today and everything
// overdue, instead of a reminder each: nobody gets thirty emails at eight o'clock. A
// retried run does not repeat the reminders already carried.
func (a *Activities) SendDigests(ctx context.Context, day time.Time) (DigestResult, error) {
	if a.Digests == nil || a.Delivery == nil || a.Delivery.Mail.Addr == "" {
		return DigestResult{}, nil
	}
	list, err := a.Digests.Digests(ctx, calendar.EndOfDay(day))
	if err != nil {
		return DigestResult{}, err
	}
	var res DigestResult
	for _, d := range list {
		if err := a.Delivery.sendDigest(d, day); err != nil {
			return res, fmt.Errorf("digest for %s: %w", d.StaffID, err)
		}
		var numbers []int64
		for _, r := range d.Reminders {
			numbers = append(numbers, r.Number)
		}
		if err := a.Digests.MarkDigested(ctx, numbers); err != nil {
			return res, err
		}
		res.Sent++
	}
	return res, nil
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
