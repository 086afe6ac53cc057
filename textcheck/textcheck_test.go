package textcheck_test

import (
	"testing"

	"github.com/stegvis/stegvis/textcheck"
)

func TestATextIsRefusedForControlCharactersAndInvalidUTF8(t *testing.T) {
	for _, tc := range []struct {
		name   string
		text   string
		lines  textcheck.Lines
		reason string // "" when the text is kept
	}{
		{"plain text", "work training at the depot", textcheck.SingleLine, ""},
		{"Swedish letters", "Arbetsmarknadsenheten, Åsa Öberg", textcheck.SingleLine, ""},
		{"empty", "", textcheck.SingleLine, ""},
		{"emoji", "klart 👍", textcheck.SingleLine, ""},
		{"NUL", "work training\x00x", textcheck.MultiLine, textcheck.ReasonControl},
		{"NUL in one line", "\x00", textcheck.SingleLine, textcheck.ReasonControl},
		{"SOH", "a\x01b", textcheck.MultiLine, textcheck.ReasonControl},
		{"escape", "a\x1b[31m", textcheck.MultiLine, textcheck.ReasonControl},
		{"DEL", "a\x7fb", textcheck.MultiLine, textcheck.ReasonControl},
		{"NEL (U+0085)", "a\u0085b", textcheck.MultiLine, textcheck.ReasonControl},
		{"C1 first (U+0080)", "a\u0080", textcheck.MultiLine, textcheck.ReasonControl},
		{"C1 last (U+009F)", "a\u009f", textcheck.MultiLine, textcheck.ReasonControl},
		{"U+00A0 is not a control", "a\u00a0b", textcheck.SingleLine, ""},
		{"invalid byte", "a\xffb", textcheck.MultiLine, textcheck.ReasonInvalidUTF8},
		{"truncated sequence", "caf\xc3", textcheck.SingleLine, textcheck.ReasonInvalidUTF8},
		{"overlong NUL", "a\xc0\x80", textcheck.MultiLine, textcheck.ReasonInvalidUTF8},
		{"surrogate half", "a\xed\xa0\x80", textcheck.MultiLine, textcheck.ReasonInvalidUTF8},
		{"newline in many lines", "first\nsecond", textcheck.MultiLine, ""},
		{"tab in many lines", "a\tb", textcheck.MultiLine, ""},
		{"CRLF in many lines", "first\r\nsecond\r\n", textcheck.MultiLine, ""},
		{"lone CR in many lines", "first\rsecond", textcheck.MultiLine, textcheck.ReasonControl},
		{"CR at the end of many lines", "first\r", textcheck.MultiLine, textcheck.ReasonControl},
		{"newline in one line", "anna@kommun.se\nBcc: x@y", textcheck.SingleLine, textcheck.ReasonControl},
		{"tab in one line", "a\tb", textcheck.SingleLine, textcheck.ReasonControl},
		{"CRLF in one line", "a\r\nb", textcheck.SingleLine, textcheck.ReasonControl},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := textcheck.Check(tc.text, tc.lines)
			switch {
			case tc.reason == "" && p != nil:
				t.Fatalf("refused %q: %s", tc.text, p.Message)
			case tc.reason != "" && p == nil:
				t.Fatalf("kept %q", tc.text)
			case p != nil && p.Reason != tc.reason:
				t.Fatalf("reason %s, want %s (%s)", p.Reason, tc.reason, p.Message)
			}
		})
	}
}

func TestARefusalSaysWhichCharacterAndWhere(t *testing.T) {
	for text, want := range map[string]string{
		"work training\x00x": "holds the control character NUL (U+0000) at byte 14; remove it and send it again",
		"ab\xff":             "is not valid UTF-8 (byte 0xFF at byte 3); send the text encoded as UTF-8",
		"a\u0085":            "holds the control character U+0085 at byte 2; remove it and send it again",
		"a\nb":               "holds the control character newline (U+000A) at byte 2; remove it (this field is one line) and send it again",
	} {
		if p := textcheck.Check(text, textcheck.SingleLine); p == nil || p.Message != want {
			t.Errorf("Check(%q) = %+v, want %q", text, p, want)
		}
	}
}

func TestOneIDPatternForUnitsStaffAndParticipants(t *testing.T) {
	for id, ok := range map[string]bool{
		"arbetsmarknad": true, "g-anna": true, "p-1001": true, "A": true, "u1.norr_2": true,
		strings64(): true, strings64() + "x": false,
		"": false, "-anna": false, ".x": false, "g anna": false, "g/anna": false, "åsa": false,
		"g-anna\x00": false, "g-anna\n": false,
	} {
		if got := textcheck.ValidID(id); got != ok {
			t.Errorf("ValidID(%q) = %v, want %v", id, got, ok)
		}
	}
}

func strings64() string {
	b := make([]byte, 64)
	for i := range b {
		b[i] = 'a'
	}
	return string(b)
}

func TestStaffEmailsAreBareAddressesThatNetMailAccepts(t *testing.T) {
	for _, tc := range []struct {
		in, want string // want "" when refused
	}{
		{"anna.berg@kommun.se", "anna.berg@kommun.se"},
		{"a+stegvis@sub.kommun.se", "a+stegvis@sub.kommun.se"},
		{"anna@kommun.se\r\nBcc: all@kommun.se", ""},
		{"anna@kommun.se\n", ""},
		{"Anna Berg <anna@kommun.se>", ""},
		{"<anna@kommun.se>", ""},
		{"anna@kommun.se (Anna)", ""},
		{"anna@kommun.se, bo@kommun.se", ""},
		{"anna", ""},
		{"anna@", ""},
		{"@kommun.se", ""},
		{"anna@@kommun.se", ""},
		{"", ""},
	} {
		got, msg := textcheck.Email(tc.in)
		if got != tc.want || (tc.want == "") == (msg == "") {
			t.Errorf("Email(%q) = %q, %q; want %q", tc.in, got, msg, tc.want)
		}
	}
}
