// Package storetest gives each test its own PostgreSQL database, so that test runs
// never collide. It uses the real server named by TEST_DATABASE_URL (default: the local
// server with trust auth).
package storetest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stegvis/stegvis/store"
)

// BaseURL is the server the tests use; its database part is replaced per test.
func BaseURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// URL returns the URL of a fresh database name (not created yet) that is dropped when
// the test ends.
func URL(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("stegvis_test_%d_%d", os.Getpid(), time.Now().UnixNano())
	u, err := url.Parse(BaseURL())
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	u.Path = "/" + name
	t.Cleanup(func() { drop(t, name) })
	return u.String()
}

// TemporalURL returns the URL of a fresh database name (not created yet) for an embedded
// Temporal server on PostgreSQL (devserver creates it and its _visibility twin with
// Temporal's schema tool); both are dropped when the test ends.
func TemporalURL(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("stegvis_temporal_test_%d_%d", os.Getpid(), time.Now().UnixNano())
	u, err := url.Parse(BaseURL())
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	u.Path = "/" + name
	t.Cleanup(func() {
		drop(t, name)
		drop(t, name+"_visibility")
	})
	return u.String()
}

// New returns a migrated store on a fresh database.
func New(t testing.TB) (*store.Store, string) {
	t.Helper()
	dbURL := URL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, dbURL, true)
	if err != nil {
		t.Fatalf("open test database (is PostgreSQL running? see README): %v", err)
	}
	t.Cleanup(st.Close)
	return st, dbURL
}

func drop(t testing.TB, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, BaseURL())
	if err != nil {
		t.Logf("drop %s: %v", name, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil && !strings.Contains(err.Error(), "does not exist") {
		t.Logf("drop %s: %v", name, err)
	}
}

// ForMain creates a fresh migrated database for a whole test binary (TestMain) and
// returns it with a function that drops it.
func ForMain(ctx context.Context) (*store.Store, func(), error) {
	name := fmt.Sprintf("stegvis_test_%d_%d", os.Getpid(), time.Now().UnixNano())
	u, err := url.Parse(BaseURL())
	if err != nil {
		return nil, nil, fmt.Errorf("TEST_DATABASE_URL: %w", err)
	}
	u.Path = "/" + name
	st, err := store.Open(ctx, u.String(), true)
	if err != nil {
		return nil, nil, err
	}
	return st, func() {
		st.Close()
		drop(nopTB{}, name)
	}, nil
}

type nopTB struct{ testing.TB }

func (nopTB) Logf(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
