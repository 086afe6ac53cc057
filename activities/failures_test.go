package activities

import (
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestPermanentDatabaseErrorsAreTheDataItself(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		permanent bool
	}{
		{"NUL in text (22021)", &pgconn.PgError{Code: "22021", Message: `invalid byte sequence for encoding "UTF8": 0x00`}, true},
		{"NUL in jsonb (22P05)", fmt.Errorf("insert journey events: %w", &pgconn.PgError{Code: "22P05"}), true},
		{"value too long (22001)", &pgconn.PgError{Code: "22001"}, true},
		{"check violation (23514)", &pgconn.PgError{Code: "23514"}, true},
		{"server shutting down (57P01)", &pgconn.PgError{Code: "57P01"}, false},
		{"serialization failure (40001)", &pgconn.PgError{Code: "40001"}, false},
		{"connection refused", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, false},
		{"no error", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, got := permanentDBError(tt.err); got != tt.permanent {
				t.Fatalf("permanent = %v, want %v", got, tt.permanent)
			}
		})
	}
}

func TestSMTP5xxIsPermanentAnd4xxTransient(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		reason string // "" when transient
	}{
		{"550 mailbox unavailable", &textproto.Error{Code: 550, Msg: "5.1.1 <anna@kommun.test> unavailable"}, "email: SMTP 550 (permanent rejection)"},
		{"554 wrapped", fmt.Errorf("send: %w", &textproto.Error{Code: 554, Msg: "rejected"}), "email: SMTP 554 (permanent rejection)"},
		{"421 try later", &textproto.Error{Code: 421, Msg: "busy"}, ""},
		{"451 greylisted", &textproto.Error{Code: 451, Msg: "later"}, ""},
		{"connection refused", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var perm *permanentDeliveryError
			got := classifySMTP(tt.err)
			if isPerm := errors.As(got, &perm); isPerm != (tt.reason != "") || (isPerm && perm.Error() != tt.reason) {
				t.Fatalf("classified as %v, want %q", got, tt.reason)
			}
		})
	}
}

func TestAnAddressNetMailRefusesOrWithALineBreakIsPermanent(t *testing.T) {
	tests := []struct {
		addr string
		ok   bool
	}{
		{"anna.berg@kommun.test", true},
		{"anna@kommun.test\r\nBcc: x@evil.test", false},
		{"anna@kommun.test\n", false},
		{"Anna <anna@kommun.test>", false}, // a name is not an address for RCPT TO
		{"anna.kommun.test", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.addr), func(t *testing.T) {
			err := checkAddress(tt.addr)
			if (err == nil) != tt.ok {
				t.Fatalf("checkAddress = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && strings.Contains(err.Error(), "@") {
				t.Fatalf("the reason quotes the address: %q", err)
			}
		})
	}
}

func TestWebhook4xxIsPermanentExcept408And429(t *testing.T) {
	for code, permanent := range map[int]bool{400: true, 401: true, 404: true, 410: true, 408: false, 429: false, 500: false, 502: false, 503: false} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			var perm *permanentDeliveryError
			if got := errors.As(classifyWebhookStatus(code), &perm); got != permanent {
				t.Fatalf("%d permanent = %v, want %v", code, got, permanent)
			}
		})
	}
}

func TestCleanRemovesWhatPostgreSQLRefuses(t *testing.T) {
	tests := []struct{ in, want string }{
		{"work training\x00x", "work trainingx"},
		{"ok text, åäö\n\ttab", "ok text, åäö\n\ttab"},
		{"bad \xff utf-8", "bad \uFFFD utf-8"},
		{"\x00", ""},
	}
	for _, tt := range tests {
		if got := clean(tt.in); got != tt.want {
			t.Errorf("clean(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
