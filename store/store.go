// Package store is stegvis's own PostgreSQL database: it creates the database when it is
// missing, applies the embedded migrations, and reads and writes the project's tables.
package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/golang-migrate/migrate/v4"
	migratepgx "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DefaultURL is used when DATABASE_URL is not set.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/stegvis?sslmode=disable"

// connectTimeout bounds how long a start waits for an unreachable server, so that
// `make run` says what is wrong within seconds instead of hanging.
const connectTimeout = 3 * time.Second

// Store is the project's database.
type Store struct {
	Pool *pgxpool.Pool
}

// UnreachableError says that PostgreSQL could not be reached and what to set.
type UnreachableError struct {
	Host  string
	Port  uint16
	Cause error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach PostgreSQL at %s:%d (%s): start PostgreSQL there, or set DATABASE_URL (flag --database-url) to a reachable server, e.g. postgres://user:password@host:5432/stegvis?sslmode=disable",
		e.Host, e.Port, rootCause(e.Cause))
}

func (e *UnreachableError) Unwrap() error { return e.Cause }

func rootCause(err error) string {
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Err != nil {
		return opErr.Err.Error()
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Message
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "no answer within " + connectTimeout.String()
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return msg
}

func parse(url string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's parse errors can echo the password; say only what to fix.
		return nil, fmt.Errorf("DATABASE_URL is not a valid PostgreSQL URL: write it as postgres://user@host:5432/stegvis?sslmode=disable")
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	return cfg, nil
}

// Open creates the database if it is missing, applies the migrations when migrateUp is
// set, and returns a connection pool.
func Open(ctx context.Context, url string, migrateUp bool) (*Store, error) {
	cfg, err := parse(url)
	if err != nil {
		return nil, err
	}
	if err := ensureDatabase(ctx, cfg); err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open PostgreSQL pool: %w", err)
	}
	s := &Store{Pool: pool}
	if migrateUp {
		if err := s.Migrate(); err != nil {
			pool.Close()
			return nil, err
		}
	}
	return s, nil
}

// Close releases the pool.
func (s *Store) Close() { s.Pool.Close() }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.Pool.Ping(ctx) }

// ensureDatabase connects to the server's maintenance database and creates the
// configured database if it does not exist yet.
func ensureDatabase(ctx context.Context, cfg *pgxpool.Config) error {
	name := cfg.ConnConfig.Database
	if name == "" {
		return fmt.Errorf("DATABASE_URL names no database: add one, as in postgres://host:5432/stegvis")
	}
	admin := cfg.ConnConfig.Copy()
	admin.Database = "postgres"
	conn, err := pgx.ConnectConfig(ctx, admin)
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) {
			// The server answered (authentication, permissions): try the database itself,
			// which may exist even when the maintenance database is closed to this user.
			c2, err2 := pgx.ConnectConfig(ctx, cfg.ConnConfig)
			if err2 == nil {
				return c2.Close(ctx)
			}
			return fmt.Errorf("PostgreSQL refused the connection (%s): check the user and password in DATABASE_URL", pgErr.Message)
		}
		return &UnreachableError{Host: cfg.ConnConfig.Host, Port: cfg.ConnConfig.Port, Cause: err}
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("look up database %q: %w", name, err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" {
		return nil // another process created it a moment ago
	}
	if err != nil {
		return fmt.Errorf("create database %q: %w", name, err)
	}
	return nil
}

// Migrate applies every migration not yet applied. golang-migrate takes an advisory
// lock, so several replicas starting at once are safe.
func (s *Store) Migrate() error {
	m, err := s.migrator()
	if err != nil {
		return err
	}
	defer m.Close()
	if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("apply migrations: %w", err)
	}
	return nil
}

// MigrationVersion returns the applied schema version and whether a migration failed
// half-way (dirty).
func (s *Store) MigrationVersion() (version uint, dirty bool, err error) {
	m, err := s.migrator()
	if err != nil {
		return 0, false, err
	}
	defer m.Close()
	version, dirty, err = m.Version()
	if errors.Is(err, migrate.ErrNilVersion) {
		return 0, false, nil
	}
	return version, dirty, err
}

// migrator returns a migrate instance over the pool. Its Close releases the
// connection it holds; without it, closing the pool waits forever.
func (s *Store) migrator() (*migrate.Migrate, error) {
	src, err := iofs.New(migrations, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read embedded migrations: %w", err)
	}
	db := stdlib.OpenDBFromPool(s.Pool) // closing it leaves the pool open
	drv, err := migratepgx.WithInstance(db, &migratepgx.Config{})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("prepare migrations: %w", err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "pgx5", drv)
	if err != nil {
		drv.Close()
		return nil, fmt.Errorf("prepare migrations: %w", err)
	}
	return m, nil
}
