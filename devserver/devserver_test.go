package devserver

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/stegvis/stegvis/store/storetest"
)

// Both persistence choices keep a running workflow across a restart of the server:
// SQLite under the data directory, and PostgreSQL set up by Temporal's schema tool
// (the second start finds the schema current and the namespace registered).
func TestAWorkflowSurvivesARestartOnEitherStore(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			o := Options{DataDir: t.TempDir(), IP: "127.0.0.1", Namespace: "default", Log: zerolog.Nop()}
			if db == "postgres" {
				o.PostgresURL = storetest.TemporalURL(t)
			}
			var runID string
			for start := range 2 {
				o.Port = freePortT(t)
				s, err := Start(o)
				if err != nil {
					t.Fatalf("start %d: %v", start, err)
				}
				c, err := client.Dial(client.Options{HostPort: s.Address, Namespace: "default", Logger: quietSDKLogger{}})
				if err != nil {
					s.Stop()
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				if start == 0 {
					// No worker: the workflow stays running, which is what a restart must keep.
					run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "survives", TaskQueue: "nobody"}, "Anything")
					if err != nil {
						t.Fatalf("start a workflow: %v", err)
					}
					runID = run.GetRunID()
				} else {
					d, err := c.DescribeWorkflowExecution(ctx, "survives", "")
					if err != nil {
						t.Fatalf("after a restart: %v", err)
					}
					if got := d.GetWorkflowExecutionInfo(); got.GetExecution().GetRunId() != runID || got.GetStatus() != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
						t.Fatalf("after a restart: run %s %s, want %s running", got.GetExecution().GetRunId(), got.GetStatus(), runID)
					}
				}
				cancel()
				c.Close()
				s.Stop()
			}
			if db == "sqlite" {
				if _, err := os.Stat(filepath.Join(o.DataDir, VisibilityFile)); err != nil {
					t.Errorf("a new data directory keeps visibility in its own file: %v", err)
				}
			}
		})
	}
}

// A data directory from before visibility had its own file keeps using the one file:
// its journeys' visibility records are there.
func TestAnOlderDataDirectoryKeepsOneFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := sqliteFile(filepath.Join(dir, DBFile), "default"); err != nil {
		t.Fatal(err)
	}
	st, err := sqliteStores(dir, "default")
	if err != nil {
		t.Fatal(err)
	}
	if st.visibility != st.main {
		t.Fatalf("visibility moved to %s", st.visibility.DatabaseName)
	}
	if _, err := os.Stat(filepath.Join(dir, VisibilityFile)); err == nil {
		t.Fatal("an older data directory got a visibility file")
	}
}

func freePortT(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
