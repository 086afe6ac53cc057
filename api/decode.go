package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/stegvis/stegvis/calendar"
)

// maxBody bounds a request body; a plan is a few kilobytes.
const maxBody = 64 << 10

// decode reads a JSON object strictly into dst: unknown fields, wrong types, trailing
// data and oversized bodies are rejected with a message that names the problem, and so
// is a string that holds a control character or invalid UTF-8 (checkTexts). It writes
// the error response and returns false when the body is unusable.
func decode(c *gin.Context, dst any) bool {
	// The bytes read are kept (at most maxBody) to see whether they were UTF-8:
	// encoding/json silently turns an invalid byte into U+FFFD.
	var raw bytes.Buffer
	body := io.TeeReader(http.MaxBytesReader(c.Writer, c.Request.Body, maxBody), &raw)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	var (
		syntax   *json.SyntaxError
		typeErr  *json.UnmarshalTypeError
		tooLarge *http.MaxBytesError
	)
	if err == nil {
		if dec.More() {
			fail(c, http.StatusBadRequest, CodeInvalidJSON, "the body holds more than one JSON value; send a single JSON object")
			return false
		}
		// Only the end of the body may follow; reading on to it may cross the size limit.
		switch err = dec.Decode(&struct{}{}); {
		case err == io.EOF:
			if p := checkTexts(dst, utf8.Valid(raw.Bytes())); len(p) > 0 {
				failText(c, p)
				return false
			}
			return true
		case !errors.As(err, &tooLarge):
			fail(c, http.StatusBadRequest, CodeInvalidJSON, "the body holds more than one JSON value; send a single JSON object")
			return false
		}
	}
	switch {
	case errors.Is(err, io.EOF):
		fail(c, http.StatusBadRequest, CodeInvalidJSON, "the body is empty; send a JSON object")
	case errors.As(err, &tooLarge):
		fail(c, http.StatusRequestEntityTooLarge, CodeBodyTooLarge, fmt.Sprintf("the body is larger than %d KiB", maxBody>>10))
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		fail(c, http.StatusBadRequest, CodeInvalidJSON, "the body is not valid JSON; check quotes, commas and braces")
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			fail(c, http.StatusBadRequest, CodeInvalidJSON, "the body must be a JSON object")
		} else {
			fail(c, http.StatusBadRequest, CodeInvalidJSON, fmt.Sprintf("field %q must be %s, not a JSON %s", field, kind(typeErr.Type), typeErr.Value))
		}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.TrimPrefix(err.Error(), "json: unknown field ")
		fail(c, http.StatusBadRequest, CodeInvalidJSON, fmt.Sprintf("unknown field %s; the fields are %s", name, strings.Join(fieldNames(dst), ", ")))
	default:
		fail(c, http.StatusBadRequest, CodeInvalidJSON, "the body could not be read as JSON")
	}
	return false
}

func kind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	default:
		return "a number"
	}
}

func fieldNames(v any) []string {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var names []string
	for i := range t.NumField() {
		if n, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); n != "" && n != "-" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// parseWhen reads a date ("2026-11-23", midnight in Stockholm) or a timestamp with an
// offset (RFC 3339). Empty means not given. On a bad value it writes a 400 naming the
// field and returns false.
func parseWhen(c *gin.Context, field, value string) (time.Time, bool) {
	if value == "" {
		return time.Time{}, true
	}
	if t, err := time.ParseInLocation(time.DateOnly, value, calendar.Stockholm); err == nil {
		return t, true
	}
	if t, err := time.Parse(time.RFC3339, value); err == nil {
		return t, true
	}
	fail(c, http.StatusBadRequest, CodeInvalidDate,
		fmt.Sprintf("%s: %q is not a date; write a date as 2026-11-23 or a time as 2026-11-23T09:30:00+01:00", field, value))
	return time.Time{}, false
}
