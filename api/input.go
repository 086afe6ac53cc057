package api

import (
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/stegvis/stegvis/importer"
	"github.com/stegvis/stegvis/metrics"
	"github.com/stegvis/stegvis/textcheck"
	"github.com/stegvis/stegvis/workflows"
)

// CodeInvalidText is the code of a 400 for a text with a control character or invalid UTF-8.
const CodeInvalidText = "invalid_text"

// The struct tag that marks a multi-line field of a request body (notes, a plan's main
// activity): `text:"lines"`. Every other string is one line.
const (
	textTag   = "text"
	textLines = "lines"
)

// maxTextProblems bounds the fields one answer lists.
const maxTextProblems = 20

const inputMetricsKey = "input_metrics"

// withInputMetrics makes the process's input counters reachable from decode and the
// org-chart checks, which have only the request.
func withInputMetrics(in *metrics.Input) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Set(inputMetricsKey, in)
		c.Next()
	}
}

// countImportRow counts the outcome of a referral the importer marked as one row of
// a caseload file (importer.RowHeader): 201 started, 200 already there, a 4xx other
// than refused access rejected. Refused tokens, throttling and 5xx stop or retry the
// import, so they are no row's outcome.
func (s *server) countImportRow() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Next()
		if c.GetHeader(importer.RowHeader) == "" {
			return
		}
		switch st := c.Writer.Status(); {
		case st == http.StatusCreated:
			s.input.ImportRow(metrics.ImportStarted)
		case st == http.StatusOK:
			s.input.ImportRow(metrics.ImportAlreadyThere)
		case st >= 400 && st < 500 && st != http.StatusUnauthorized && st != http.StatusForbidden && st != http.StatusTooManyRequests:
			s.input.ImportRow(metrics.ImportRejected)
		}
	}
}

// rejected counts one refused request by reason.
func rejected(c *gin.Context, reason string) {
	in, _ := c.Get(inputMetricsKey)
	if m, ok := in.(*metrics.Input); ok {
		m.Rejected(reason)
	}
}

// failText answers 400 for texts that cannot be kept, naming each field.
func failText(c *gin.Context, problems []textProblem) {
	rejected(c, problems[0].reason)
	fields := make([]workflows.FieldError, len(problems))
	for i, p := range problems {
		fields[i] = workflows.FieldError{Field: p.field, Message: p.message, Rule: p.rule, Args: p.args}
	}
	msg := problems[0].field + " " + problems[0].message
	if n := len(problems) - 1; n > 0 {
		msg += fmt.Sprintf(" (and %d more fields, listed in fields)", n)
	}
	fail(c, http.StatusBadRequest, CodeInvalidText, msg+". Nothing was saved", fields...)
}

type textProblem struct {
	field, message, reason, rule string
	args                         []string
}

// ruleNotUTF8 is what a string said whose bytes encoding/json had to replace.
const ruleNotUTF8 = "is not valid UTF-8; send the text encoded as UTF-8"

func problemAt(field string, p *textcheck.Problem) textProblem {
	return textProblem{field: field, message: p.Message, reason: p.Reason, rule: p.Rule, args: p.Args}
}

// checkParams refuses a request whose path or query parameters (names or values) hold
// a control character or invalid UTF-8: every parameter is one line. Without it a NUL
// reached PostgreSQL and came back as a 503.
func checkParams() gin.HandlerFunc {
	return func(c *gin.Context) {
		var problems []textProblem
		add := func(field, text string) {
			if p := textcheck.Check(text, textcheck.SingleLine); p != nil && len(problems) < maxTextProblems {
				problems = append(problems, problemAt(field, p))
			}
		}
		for _, p := range c.Params {
			add("path parameter "+p.Key, p.Value)
		}
		q := c.Request.URL.Query()
		names := make([]string, 0, len(q))
		for name := range q {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			add("query parameter name", name)
			for _, v := range q[name] {
				add("query parameter "+strconv.Quote(printable(name)), v)
			}
		}
		if len(problems) > 0 {
			failText(c, problems)
			return
		}
		c.Next()
	}
}

// printable keeps a parameter name sayable in a message: a name that itself holds
// a control character is shown with it escaped.
func printable(s string) string {
	if textcheck.Check(s, textcheck.SingleLine) == nil {
		return s
	}
	return strings.Trim(strconv.QuoteToASCII(s), `"`)
}

// checkTexts walks a decoded body by its JSON names and returns each string that holds
// a control character (a tab or newline only where the field is marked multi-line). If
// the raw body was not valid UTF-8, encoding/json has turned each bad byte into U+FFFD;
// the strings holding one are then named as invalid UTF-8.
func checkTexts(v any, bodyUTF8 bool) []textProblem {
	var out []textProblem
	walkTexts(reflect.ValueOf(v), "", textcheck.SingleLine, func(field, s string, lines textcheck.Lines) {
		if len(out) >= maxTextProblems {
			return
		}
		if p := textcheck.Check(s, lines); p != nil {
			out = append(out, problemAt(field, p))
		} else if !bodyUTF8 && strings.ContainsRune(s, '\uFFFD') {
			out = append(out, textProblem{field: field, message: ruleNotUTF8, reason: textcheck.ReasonInvalidUTF8, rule: ruleNotUTF8})
		}
	})
	return out
}

func walkTexts(v reflect.Value, path string, lines textcheck.Lines, visit func(string, string, textcheck.Lines)) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkTexts(v.Elem(), path, lines, visit)
		}
	case reflect.String:
		visit(path, v.String(), lines)
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			walkTexts(v.Index(i), fmt.Sprintf("%s[%d]", path, i), lines, visit)
		}
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
		for _, k := range keys {
			name := join(path, fmt.Sprint(k))
			if k.Kind() == reflect.String {
				visit(name, k.String(), textcheck.SingleLine)
			}
			walkTexts(v.MapIndex(k), name, lines, visit)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			fieldPath := join(path, name)
			if f.Anonymous && f.Tag.Get("json") == "" {
				fieldPath = path // embedded: its fields are the outer object's
			}
			fl := textcheck.SingleLine
			if f.Tag.Get(textTag) == textLines {
				fl = textcheck.MultiLine
			}
			walkTexts(v.Field(i), fieldPath, fl, visit)
		}
	}
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
