// Command patchreplay replays journey histories from a Temporal server with the
// journey workflow of the binary it is built into. The end-to-end test (e2e/) builds
// it with -tags e2epatch, so that the histories of journeys that ran across a rolling
// deploy are replayed by the patched workflow code, which cannot be compiled into the
// test itself. It reads workflow ids, one a line, on standard input, and exits 1 when
// any history fails to replay.
//
//	patchreplay -address 127.0.0.1:7233 -namespace default < ids
//
// ENCRYPTION_KEYS is the key ring the payloads are sealed with.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/stegvis/stegvis/protect"
	"github.com/stegvis/stegvis/workflows"
)

func main() {
	address := flag.String("address", "127.0.0.1:7233", "Temporal frontend host:port")
	namespace := flag.String("namespace", "default", "Temporal namespace")
	flag.Parse()
	if err := run(*address, *namespace); err != nil {
		fmt.Fprintf(os.Stderr, "patchreplay: %v\n", err)
		os.Exit(1)
	}
}

func run(address, namespace string) error {
	keys, err := protect.ParseKeys(os.Getenv("ENCRYPTION_KEYS"))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{HostPort: address, Namespace: namespace, Logger: quiet{}})
	if err != nil {
		return err
	}
	defer c.Close()
	r, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{DataConverter: protect.DataConverter(keys)})
	if err != nil {
		return err
	}
	r.RegisterWorkflowWithOptions(workflows.Journey, workflow.RegisterOptions{Name: workflows.JourneyWorkflowType})
	r.RegisterWorkflowWithOptions(workflows.DeliveryWorkflow, workflow.RegisterOptions{Name: workflows.DeliveryWorkflowType})

	var ids []string
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if id := strings.TrimSpace(sc.Text()); id != "" {
			ids = append(ids, id)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	failed := 0
	for _, id := range ids {
		var h historypb.History
		it := c.GetWorkflowHistory(ctx, id, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				return fmt.Errorf("history of %s: %w", id, err)
			}
			h.Events = append(h.Events, ev)
		}
		if err := r.ReplayWorkflowHistory(quiet{}, &h); err != nil {
			failed++
			fmt.Printf("FAIL %s (%d events): %v\n", id, len(h.Events), err)
			continue
		}
		fmt.Printf("ok %s (%d events)\n", id, len(h.Events))
	}
	fmt.Printf("replayed %d histories with e2e patch %v, %d failed\n", len(ids), workflows.E2EPatchOn, failed)
	if failed > 0 {
		return fmt.Errorf("%d of %d histories failed to replay", failed, len(ids))
	}
	return nil
}

// quiet drops the SDK's log lines; failures are returned and printed.
type quiet struct{}

func (quiet) Debug(string, ...any) {}
func (quiet) Info(string, ...any)  {}
func (quiet) Warn(string, ...any)  {}
func (quiet) Error(string, ...any) {}
