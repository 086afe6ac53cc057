// Package importer brings an existing caseload into running journeys through the
// HTTP API, with each participant's real past dates. A run can be repeated: every
// request is idempotent, and a checkpoint file lets a stopped run pick up where it was.
package importer

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/stegvis/stegvis/textcheck"
)

// Columns of a caseload file, in this order, with a header row. guide_assigned_at is
// when the current guide took over; empty means from the referral (or no guide).
var Columns = []string{"participant_id", "program_id", "unit", "referred_at", "guide_id", "guide_assigned_at"}

// Options configure a run.
type Options struct {
	APIURL      string    // the stegvis API, e.g. http://127.0.0.1:8080
	Token       string    // a bearer token with the system role
	File        string    // the CSV file
	Concurrency int       // requests in flight
	Restart     bool      // ignore the checkpoint and start from the first row
	Progress    io.Writer // where the progress bar goes; nil for none
	Client      *http.Client
}

// Rejected is a row that could not be imported.
type Rejected struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// Summary is what a run did.
type Summary struct {
	Rows     int        `json:"rows"`     // data rows in the file
	Skipped  int        `json:"skipped"`  // done in an earlier run (checkpoint)
	Started  int        `json:"started"`  // new journeys
	Existing int        `json:"existing"` // already there, same data
	Rejected []Rejected `json:"rejected"`
}

type row struct {
	line   int
	fields []string
}

// CheckpointFile is where a run records the last line up to which every row is done,
// while it runs; a run that finishes removes it.
func CheckpointFile(file string) string { return file + ".checkpoint" }

// Run imports the file. A bad row never stops the good ones; it is named in the summary.
func Run(ctx context.Context, o Options) (Summary, error) {
	if o.Concurrency < 1 {
		o.Concurrency = 8
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 30 * time.Second}
	}
	f, err := os.Open(o.File)
	if err != nil {
		return Summary{}, fmt.Errorf("open %s: %w", o.File, err)
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReader(f))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return Summary{}, fmt.Errorf("%s: the file is empty; the first row must be %s", o.File, strings.Join(Columns, ","))
	}
	for i := range header {
		header[i] = strings.TrimSpace(strings.TrimPrefix(header[i], "\ufeff"))
	}
	if !slices.Equal(header, Columns) {
		return Summary{}, fmt.Errorf("%s: the header row is %q; it must be %s", o.File, strings.Join(header, ","), strings.Join(Columns, ","))
	}
	var rows []row
	var sum Summary
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			sum.Rejected = append(sum.Rejected, Rejected{line, "cannot be read as CSV: check its quotes"})
			continue
		}
		rows = append(rows, row{line, rec})
	}
	sum.Rows = len(rows) + len(sum.Rejected)

	done := 0
	if !o.Restart {
		if b, err := os.ReadFile(CheckpointFile(o.File)); err == nil {
			done, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
	}
	var todo []row
	for _, rw := range rows {
		if rw.line <= done {
			sum.Skipped++
		} else {
			todo = append(todo, rw)
		}
	}

	var bar *progressbar.ProgressBar
	if o.Progress != nil {
		bar = progressbar.NewOptions(len(todo), progressbar.OptionSetWriter(o.Progress), progressbar.OptionSetDescription("importing"),
			progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("rows"),
			progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
	}
	type result struct {
		line     int
		outcome  string // started, existing, rejected
		reason   string
		fatalErr error
	}
	jobs := make(chan row)
	results := make(chan result)
	var wg sync.WaitGroup
	for range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rw := range jobs {
				outcome, reason, err := importRow(ctx, o, rw.fields)
				results <- result{rw.line, outcome, reason, err}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for _, rw := range todo {
			select {
			case jobs <- rw:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()

	// The checkpoint is the last line before which every row is finished, so a
	// stopped run never skips a row that was still in flight.
	finished := map[int]bool{}
	next := 0
	var fatal error
	for res := range results {
		switch {
		case res.fatalErr != nil:
			if fatal == nil {
				fatal = res.fatalErr
			}
			continue
		case res.outcome == "started":
			sum.Started++
		case res.outcome == "existing":
			sum.Existing++
		default:
			sum.Rejected = append(sum.Rejected, Rejected{res.line, res.reason})
		}
		finished[res.line] = true
		for next < len(todo) && finished[todo[next].line] {
			next++
		}
		if next > 0 {
			_ = os.WriteFile(CheckpointFile(o.File), []byte(strconv.Itoa(todo[next-1].line)), 0o644)
		}
		if bar != nil {
			_ = bar.Add(1)
		}
	}
	slices.SortFunc(sum.Rejected, func(a, b Rejected) int { return a.Line - b.Line })
	if fatal != nil {
		return sum, fmt.Errorf("import stopped (run it again to continue from the checkpoint): %w", fatal)
	}
	if err := ctx.Err(); err != nil {
		return sum, fmt.Errorf("import interrupted (run it again to continue from the checkpoint): %w", err)
	}
	// A finished run needs no checkpoint: running it again (say, after fixing the
	// rejected rows) goes through every row, and the rows already in are answered as
	// existing.
	if err := os.Remove(CheckpointFile(o.File)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return sum, fmt.Errorf("remove checkpoint: %w", err)
	}
	return sum, nil
}

// RowHeader marks a request as one row of an import, so that the API counts the row's
// outcome in stegvis_import_rows_total. Its value is "1".
const RowHeader = "X-Stegvis-Import-Row"

// importRow starts one journey with one request: the guide, when the file names one,
// goes with it (with guide_assigned_at when they took over later), so that the API
// checks unit and guide against the org chart before anything is started. A row the
// API rejects is a person's mistake; an unreachable API stops the run.
func importRow(ctx context.Context, o Options, rec []string) (outcome, reason string, err error) {
	if len(rec) != len(Columns) {
		return "rejected", fmt.Sprintf("has %d columns, not %d", len(rec), len(Columns)), nil
	}
	// A cell that cannot be kept is named by its column, and nothing is sent.
	for i, c := range Columns {
		if p := textcheck.Check(rec[i], textcheck.SingleLine); p != nil {
			return "rejected", c + " " + p.Message, nil
		}
	}
	v := map[string]string{}
	for i, c := range Columns {
		v[c] = strings.TrimSpace(rec[i])
	}
	start := map[string]string{"participantId": v["participant_id"], "programId": v["program_id"], "unit": v["unit"], "referredAt": v["referred_at"]}
	if v["guide_id"] != "" {
		start["guideId"] = v["guide_id"]
		if v["guide_assigned_at"] != "" {
			start["guideAssignedAt"] = v["guide_assigned_at"]
		}
	} else if v["guide_assigned_at"] != "" {
		return "rejected", "guide_assigned_at is given without guide_id; name the guide or leave both empty", nil
	}
	status, msg, err := post(ctx, o, "/v1/participants", start)
	if err != nil {
		return "", "", err
	}
	switch status {
	case http.StatusCreated:
		return "started", "", nil
	case http.StatusOK:
		return "existing", "", nil
	}
	return "rejected", msg, nil
}

func post(ctx context.Context, o Options, path string, body any) (int, string, error) {
	b, _ := json.Marshal(body)
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(o.APIURL, "/")+path, strings.NewReader(string(b)))
		if err != nil {
			return 0, "", err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+o.Token)
		req.Header.Set(RowHeader, "1")
		resp, err := o.Client.Do(req)
		if err != nil {
			return 0, "", fmt.Errorf("the stegvis API at %s does not answer (%w); start it or set --api-url", o.APIURL, err)
		}
		var e struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		// The engine was busy: wait and ask again, a few times.
		if (resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests) && attempt < 5 {
			select {
			case <-time.After(time.Duration(attempt+1) * 500 * time.Millisecond):
				continue
			case <-ctx.Done():
				return 0, "", ctx.Err()
			}
		}
		// A refused token refuses every row: stop rather than reject the whole file.
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			return 0, "", fmt.Errorf("the stegvis API refused the import's token (%d: %s); set --api-token or API_TOKEN to a token with the system role", resp.StatusCode, e.Error.Message)
		}
		if resp.StatusCode >= 500 {
			return 0, "", fmt.Errorf("the stegvis API answered %d: %s", resp.StatusCode, e.Error.Message)
		}
		return resp.StatusCode, e.Error.Message, nil
	}
}
