package devserver

import (
	"os"
	"sync/atomic"

	"github.com/rs/zerolog"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// serverLogger writes the embedded Temporal server's logs through zerolog.
type serverLogger struct {
	l zerolog.Logger
	// quiet, once set, drops everything below error: while the server stops, its
	// services log every connection they lose, which tells a developer nothing.
	quiet *atomic.Bool
}

var _ log.Logger = serverLogger{}

func (s serverLogger) log(lvl zerolog.Level, msg string, tags []tag.Tag) {
	if s.quiet.Load() && lvl < zerolog.ErrorLevel {
		return
	}
	e := s.l.WithLevel(lvl)
	if e == nil {
		return
	}
	for _, t := range tags {
		e = e.Interface(t.Key(), t.Value())
	}
	e.Msg(msg)
}

func (s serverLogger) Debug(msg string, tags ...tag.Tag)  { s.log(zerolog.DebugLevel, msg, tags) }
func (s serverLogger) Info(msg string, tags ...tag.Tag)   { s.log(zerolog.InfoLevel, msg, tags) }
func (s serverLogger) Warn(msg string, tags ...tag.Tag)   { s.log(zerolog.WarnLevel, msg, tags) }
func (s serverLogger) Error(msg string, tags ...tag.Tag)  { s.log(zerolog.ErrorLevel, msg, tags) }
func (s serverLogger) DPanic(msg string, tags ...tag.Tag) { s.log(zerolog.ErrorLevel, msg, tags) }

// Panic and Fatal keep their meaning for the server's code, which relies on them
// not returning.
func (s serverLogger) Panic(msg string, tags ...tag.Tag) {
	s.log(zerolog.PanicLevel, msg, tags)
	panic(msg)
}

func (s serverLogger) Fatal(msg string, tags ...tag.Tag) {
	s.log(zerolog.FatalLevel, msg, tags)
	os.Exit(1)
}

// With returns a logger with the tags prepended, so the server need not wrap it.
func (s serverLogger) With(tags ...tag.Tag) log.Logger {
	c := s.l.With()
	for _, t := range tags {
		c = c.Interface(t.Key(), t.Value())
	}
	return serverLogger{l: c.Logger(), quiet: s.quiet}
}
