package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

// fuzzTargets are the request bodies of participants.go, picked by the fuzzer's first argument.
var fuzzTargets = []func() any{
	func() any { return &StartRequest{} },
	func() any { return &PlanRequest{} },
	func() any { return &MeetingRequest{} },
	func() any { return &GuideRequest{} },
	func() any { return &MappingRequest{} },
	func() any { return &DeepenedPlanRequest{} },
	func() any { return &StepRequest{} },
	func() any { return &PauseRequest{} },
	func() any { return &ResumeRequest{} },
}

// wrongType reads the message for a value of the wrong type: the kind wanted, the kind sent.
var wrongType = regexp.MustCompile(`must be an? (.+), not a JSON (\S+)`)

func shorten(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "…"
	}
	return string(b)
}

// echoedField is the one place a message repeats the client's own text.
var echoedField = regexp.MustCompile(`^unknown field "(?:[^"\\]|\\.)*"; `)

// FuzzDecodeJSON: decode never panics; it either accepts a single JSON value of at most
// maxBody bytes and writes nothing, or answers 400/413 with an Error body whose message
// says what is wrong in the client's terms, without Go internals.
func FuzzDecodeJSON(f *testing.F) {
	huge := []byte(`{"participantId":"` + strings.Repeat("a", maxBody+1024) + `"}`)
	seeds := []struct {
		target uint8
		body   string
	}{
		{0, `{"participantId":"p-1","programId":"jobbgaranti","unit":"u1","referredAt":"2026-11-23","priority":2}`},
		{1, `{"signedAt":"2026-11-23","mainActivity":"praktik","weeklySchedule":[{"day":"monday","from":"09:00","to":"12:00","activity":"praktik"}],"subGoals":["cv"],"followUpAt":"2026-12-01","extras":["cv"]}`},
		{2, `{"kind":"follow_up","outcome":"held","occurredAt":"2026-11-23T09:30:00+01:00","participants":["g1"],"note":"ok"}`},
		{5, `{"signedAt":"2026-11-23","summary":"s","purchasedServices":[{"provider":"x","service":"y"}]}`},
		{6, `{"step":2,"passedAt":"2026-11-23"}`},
		{7, `{"reason":"sick","from":"2026-11-23","note":"n"}`},
		{0, `{"participantId":"p-1","bogus":1}`},               // unknown field
		{0, `{"participantId":"p-1"} {"participantId":"p-2"}`}, // trailing value
		{0, `{"participantId":"p-1"}]`},                        // trailing garbage
		{0, `{"participantId":"p-1"`},                          // truncated
		{0, `{"participantId":42}`},                            // wrong type
		{0, `{"priority":"high"}`},
		{0, `{"priority":1e100}`},
		{0, `{"priority":1.5}`},
		{1, `{"weeklySchedule":{"day":"monday"}}`},
		{1, `{"weeklySchedule":[{"day":1}]}`},
		{2, `{"participants":"g1"}`},
		{6, `{"step":true}`},
		{0, ``},
		{0, `   `},
		{0, `null`},
		{0, `[]`},
		{0, `[{"participantId":"p-1"}]`},
		{0, `"p-1"`},
		{0, `42`},
		{0, `true`},
		{0, `{`},
		{0, `}`},
		{0, "\xff\xfe"},
		{0, `{"participantId":"\ud800"}`},
		{0, `{"participantId":"p\u0000"}`},                 // NUL
		{0, "{\"unit\":\"arbets\xffmarknad\"}"},            // invalid UTF-8
		{1, `{"mainActivity":"a\nb","subGoals":["x\ny"]}`}, // a newline where one is allowed, and where not
		{1, `{"weeklySchedule":[{"day":"mon\u0085day"}]}`}, // C1 control
		{0, `{"participantId":"p-1"}` + strings.Repeat(" ", maxBody)}, // within the limit, then past it
		{0, string(huge)},
		{0, strings.Repeat("x", maxBody+1)},
	}
	for _, s := range seeds {
		f.Add(s.target, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, target uint8, body []byte) {
		dst := fuzzTargets[int(target)%len(fuzzTargets)]()
		rec := httptest.NewRecorder()
		c, _ := gin.CreateTestContext(rec)
		c.Request = httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		c.Request.Header.Set("Content-Type", "application/json")

		ok := decode(c, dst)
		name := reflect.TypeOf(dst).Elem().Name()

		if ok {
			if c.Writer.Written() || c.IsAborted() || rec.Code != http.StatusOK || rec.Body.Len() != 0 {
				t.Fatalf("decode into %s accepted %q but wrote %d %q", name, shorten(body), rec.Code, rec.Body.String())
			}
			if len(body) > maxBody {
				t.Fatalf("decode into %s accepted a body of %d bytes; the limit is %d", name, len(body), maxBody)
			}
			if !json.Valid(body) {
				t.Fatalf("decode into %s accepted %q, which is not one JSON value", name, shorten(body))
			}
			return
		}

		if !c.IsAborted() {
			t.Fatalf("decode into %s rejected %q without aborting the request", name, shorten(body))
		}
		var wantCode string
		switch rec.Code {
		case http.StatusBadRequest:
			wantCode = CodeInvalidJSON
			// A text refused for a control character or invalid UTF-8 is of one JSON value
			// that was read to its end.
			if strings.Contains(rec.Body.String(), `"code":"`+CodeInvalidText+`"`) && json.Valid(body) {
				wantCode = CodeInvalidText
			}
		case http.StatusRequestEntityTooLarge:
			wantCode = CodeBodyTooLarge
			if len(body) <= maxBody {
				t.Fatalf("decode into %s called a %d-byte body too large", name, len(body))
			}
		default:
			t.Fatalf("decode into %s rejected %q with status %d; want 400 or 413", name, shorten(body), rec.Code)
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("error answer has Content-Type %q", ct)
		}
		var e ErrorBody
		dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("error answer is not an Error body: %v\n%s", err, rec.Body.String())
		}
		if e.Error.Code != wantCode {
			t.Fatalf("status %d with code %q; want %q", rec.Code, e.Error.Code, wantCode)
		}
		msg := e.Error.Message
		if strings.TrimSpace(msg) == "" {
			t.Fatalf("decode into %s rejected %q with an empty message", name, shorten(body))
		}
		if strings.HasPrefix(msg, "the body holds more than one JSON value") && json.Valid(body) {
			t.Fatalf("decode into %s rejected %q as more than one JSON value, but it is one (%d bytes)", name, shorten(body), len(body))
		}
		if m := wrongType.FindStringSubmatch(msg); m != nil && m[1] == m[2] {
			t.Fatalf("decode into %s answered %q with a message that contradicts itself: %q", name, shorten(body), msg)
		}
		own := echoedField.ReplaceAllString(msg, "")
		for _, internal := range []string{"json:", "reflect", "goroutine", "panic", "runtime", "map[", "struct {", "*api.", "api.", "workflows.", "[]string", "interface", "unexpected EOF"} {
			if strings.Contains(own, internal) {
				t.Fatalf("decode into %s answered %q with Go internals (%q): %q", name, shorten(body), internal, msg)
			}
		}
	})
}
