package storetest_test

import (
	"context"
	"testing"
	"time"

	"github.com/stegvis/stegvis/store"
	"github.com/stegvis/stegvis/store/storetest"
)

// The test's own server really stops (the pool's connections fail, new ones are
// refused) and starts again on the same port with the same data.
func TestServerStopsAndStarts(t *testing.T) {
	pg := storetest.NewServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := store.Open(ctx, pg.URL("stegvis"), true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if err := st.UpsertUnit(ctx, store.Unit{UnitID: "u-1", Name: "Unit 1", Active: true}); err != nil {
		t.Fatal(err)
	}
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := st.Ping(ctx); err == nil {
		t.Fatal("PostgreSQL answers while stopped")
	}
	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	var name string
	if err := st.Pool.QueryRow(ctx, `SELECT name FROM units WHERE unit_id = 'u-1'`).Scan(&name); err != nil || name != "Unit 1" {
		t.Fatalf("after the restart: %q, %v", name, err)
	}
}
