// Package logging builds the one zerolog logger that every part of stegvis writes to,
// including the Temporal SDK and, in dev, the embedded Temporal server.
//
// Never log personal data: participants appear only by their pseudonymous id.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
	sdklog "go.temporal.io/sdk/log"
)

// Formats of log output.
const (
	FormatJSON    = "json"
	FormatConsole = "console"
)

// New returns a logger writing to w at the given level ("debug", "info", "warn",
// "error") in the given format ("json" or "console").
func New(w io.Writer, level, format string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		return zerolog.Nop(), fmt.Errorf("log level %q: use debug, info, warn or error", level)
	}
	switch format {
	case FormatJSON:
	case FormatConsole:
		noColor := true
		if f, ok := w.(*os.File); ok {
			noColor = !isatty.IsTerminal(f.Fd())
		}
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly, NoColor: noColor}
	default:
		return zerolog.Nop(), fmt.Errorf("log format %q: use json or console", format)
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}

// SDK adapts the logger for the Temporal SDK (client, worker, workflow and activity
// loggers), through zerolog's slog handler.
func SDK(l zerolog.Logger) sdklog.Logger {
	return sdklog.NewStructuredLogger(slog.New(zerolog.NewSlogHandler(l.With().Str("component", "temporal-sdk").Logger())))
}
