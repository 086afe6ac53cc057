// Package textcheck is the one check every text from outside passes before stegvis
// keeps it: JSON bodies, query and path parameters, CSV rows and programme files. A
// text is refused when it is not valid UTF-8 or holds a control character, because
// PostgreSQL refuses NUL in text columns and mail refuses CR/LF in headers: a journey
// that carried one would fail on every retry, long after the request was answered.
//
// It also holds the one id pattern of unit, staff and participant ids.
package textcheck

import (
	"fmt"
	"net/mail"
	"regexp"
	"strconv"
	"unicode/utf8"
)

// Reasons a text is refused; they are the reason label of
// stegvis_input_rejections_total.
const (
	ReasonControl     = "control_character"
	ReasonInvalidUTF8 = "invalid_utf8"
)

// Lines says whether a field may hold more than one line.
type Lines bool

const (
	// SingleLine fields (ids, names, emails, units, dates, enum values) hold no control
	// character at all.
	SingleLine Lines = false
	// MultiLine fields (notes, a plan's main activity, a handover note) may hold tab,
	// newline and carriage return before a newline (CRLF).
	MultiLine Lines = true
)

// Problem is why a text was refused: a reason (ReasonControl or ReasonInvalidUTF8)
// and a message for a person, without the field's name and without the text. Rule is
// the message before its values (Args) were filled in, for a translation.
type Problem struct {
	Reason  string
	Message string
	Rule    string
	Args    []string
}

// The rules of the messages.
const (
	RuleInvalidUTF8    = "is not valid UTF-8 (byte 0x%s at byte %s); send the text encoded as UTF-8"
	RuleControl        = "holds the control character %s at byte %s; remove it and send it again"
	RuleControlOneLine = "holds the control character %s at byte %s; remove it (this field is one line) and send it again"
)

func problem(reason, rule string, args ...string) *Problem {
	a := make([]any, len(args))
	for i, v := range args {
		a[i] = v
	}
	return &Problem{Reason: reason, Message: fmt.Sprintf(rule, a...), Rule: rule, Args: args}
}

// Check returns what is wrong with s, or nil when it may be kept.
func Check(s string, lines Lines) *Problem {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return problem(ReasonInvalidUTF8, RuleInvalidUTF8, fmt.Sprintf("%02X", s[i]), strconv.Itoa(i+1))
		}
		if control(r) && !(lines == MultiLine && allowedInLines(r, s[i+size:])) {
			rule := RuleControl
			if lines == SingleLine && (r == '\n' || r == '\r' || r == '\t') {
				rule = RuleControlOneLine
			}
			return problem(ReasonControl, rule, name(r), strconv.Itoa(i+1))
		}
		i += size
	}
	return nil
}

// control is C0 (U+0000–U+001F), DEL (U+007F) and C1 (U+0080–U+009F).
func control(r rune) bool { return r < 0x20 || (r >= 0x7f && r <= 0x9f) }

// allowedInLines is what a multi-line text may hold: tab, newline, and a carriage
// return only as the first half of CRLF (a lone CR is how header injection starts).
func allowedInLines(r rune, rest string) bool {
	return r == '\t' || r == '\n' || (r == '\r' && len(rest) > 0 && rest[0] == '\n')
}

func name(r rune) string {
	switch r {
	case 0:
		return "NUL (U+0000)"
	case '\t':
		return "tab (U+0009)"
	case '\n':
		return "newline (U+000A)"
	case '\r':
		return "carriage return (U+000D)"
	}
	return fmt.Sprintf("U+%04X", r)
}

// IDPattern is the pattern of every id stegvis is given: unit, staff and participant
// ids. 1–64 letters (ASCII), digits, '.', '_' or '-', starting with a letter or digit.
// README and api/openapi.yaml document the same text.
const IDPattern = `^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`

// IDRule says IDPattern in words, for messages.
const IDRule = "must be 1–64 letters (a–z, A–Z), digits, '.', '_' or '-', starting with a letter or digit"

var idPattern = regexp.MustCompile(IDPattern)

// ValidID reports whether id follows IDPattern.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// Email parses a staff member's email address with net/mail and returns the bare
// address to keep, or what is wrong. It refuses what ParseAddress refuses, a display
// name or comment ("Anna <anna@x>", "anna@x (Anna)"): a name is kept in the org chart,
// not in the address, and whatever else rides along is how a header is smuggled in.
func Email(s string) (string, string) {
	if p := Check(s, SingleLine); p != nil {
		return "", p.Message
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", fmt.Sprintf("%q is not an email address; write it as name@kommun.se", s)
	}
	if a.Name != "" || a.Address != s {
		return "", fmt.Sprintf("%q must be the bare address only, without a name, brackets or comment: %s", s, a.Address)
	}
	return a.Address, ""
}
