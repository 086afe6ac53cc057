package devserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/persistence/sql/sqlplugin/postgresql"
	"google.golang.org/protobuf/types/known/durationpb"

	"go.temporal.io/server/tools/common/schema"
	sqltool "go.temporal.io/server/tools/sql"
)

// Schemas embedded in the server module, as temporal-sql-tool --schema-name takes them.
const (
	pgSchema           = "postgresql/v12/temporal"
	pgVisibilitySchema = "postgresql/v12/visibility"
	// pgShards: PostgreSQL takes many connections, so history work spreads over shards.
	// Fixed for the life of a database (the server refuses another count).
	pgShards = 4
	// namespaceRetention is how long Temporal keeps a closed journey's history; the
	// retention schedule deletes them on stegvis's own clock before that matters.
	namespaceRetention = 30 * 24 * time.Hour
)

// postgresStores creates both databases when missing and brings them to the server's
// schema version the way Temporal's own deployment does (temporal-sql-tool
// create-database, setup-schema -v 0.0, update-schema --schema-name ...), through the
// tool's packages in the server module rather than a separate binary.
func postgresStores(rawURL string, l zerolog.Logger) (stores, error) {
	main, err := pgConfig(rawURL)
	if err != nil {
		return stores{}, err
	}
	vis := *main
	vis.DatabaseName = main.DatabaseName + "_visibility"
	logger := serverLogger{l: l.With().Str("component", "temporal-sql-tool").Logger().Level(zerolog.WarnLevel), quiet: &atomic.Bool{}}
	for _, db := range []struct {
		conf   *config.SQL
		schema string
	}{{main, pgSchema}, {&vis, pgVisibilitySchema}} {
		if err := setupPostgres(db.conf, db.schema, logger); err != nil {
			return stores{}, fmt.Errorf("set up Temporal's database %s on %s: %w", db.conf.DatabaseName, db.conf.ConnectAddr, err)
		}
	}
	return stores{main: main, visibility: &vis, shards: pgShards, register: true}, nil
}

func pgConfig(rawURL string) (*config.SQL, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return nil, fmt.Errorf("the Temporal database URL %q is not a postgres:// URL, like postgres://postgres@127.0.0.1:5432/stegvis_temporal", rawURL)
	}
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" {
		return nil, fmt.Errorf("the Temporal database URL names no database: add one, like postgres://postgres@127.0.0.1:5432/stegvis_temporal")
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "5432"
	}
	pw, _ := u.User.Password()
	attrs := map[string]string{}
	for k, v := range u.Query() {
		attrs[k] = v[0]
	}
	if attrs["sslmode"] == "" {
		attrs["sslmode"] = "disable"
	}
	return &config.SQL{
		PluginName: postgresql.PluginNamePGX, User: u.User.Username(), Password: pw,
		DatabaseName: name, ConnectAddr: net.JoinHostPort(host, port), ConnectProtocol: "tcp",
		ConnectAttributes: attrs, MaxConns: 20, MaxIdleConns: 20, MaxConnLifetime: time.Hour,
	}, nil
}

func setupPostgres(conf *config.SQL, schemaName string, logger log.Logger) error {
	// create-database: the tool connects to the server's "postgres" database for it.
	create := *conf
	if err := sqltool.DoCreateDatabase(&create, "postgres", logger); err != nil && !strings.Contains(err.Error(), "already exists") {
		return err
	}
	conn, err := sqltool.NewConnection(conf, logger)
	if err != nil {
		return err
	}
	defer conn.Close()
	// setup-schema -v 0.0, once: it creates the version tables the update reads.
	if _, err := conn.ReadSchemaVersion(); err != nil {
		if err := schema.NewSetupSchemaTask(conn, &schema.SetupConfig{InitialVersion: "0.0"}, logger).Run(); err != nil {
			return err
		}
	}
	// update-schema: every versioned step the database has not had yet; none on a
	// database already at the server's version, so a server upgrade migrates it here.
	return schema.NewUpdateSchemaTask(conn, &schema.UpdateConfig{DBName: conf.DatabaseName, SchemaName: schemaName}, logger).Run()
}

// registerNamespace registers the namespace on a fresh database. The frontend answers
// as soon as it listens; the namespace reaches every service within
// NamespaceCacheRefresh.
func registerNamespace(address, namespace string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	nc, err := client.NewNamespaceClient(client.Options{HostPort: address, Logger: quietSDKLogger{}})
	if err != nil {
		return fmt.Errorf("connect to the embedded Temporal server: %w", err)
	}
	defer nc.Close()
	for {
		err = nc.Register(ctx, &workflowservice.RegisterNamespaceRequest{
			Namespace: namespace, WorkflowExecutionRetentionPeriod: durationpb.New(namespaceRetention),
		})
		var exists *serviceerror.NamespaceAlreadyExists
		if err == nil || errors.As(err, &exists) {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("register namespace %s: %w", namespace, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
	// Wait until the services know it, so the first start does not fail.
	for {
		if _, err := nc.Describe(ctx, namespace); err == nil {
			time.Sleep(2 * NamespaceCacheRefresh)
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("namespace %s did not become visible: %w", namespace, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// quietSDKLogger drops the SDK client's own lines; errors are returned instead.
type quietSDKLogger struct{}

func (quietSDKLogger) Debug(string, ...any) {}
func (quietSDKLogger) Info(string, ...any)  {}
func (quietSDKLogger) Warn(string, ...any)  {}
func (quietSDKLogger) Error(string, ...any) {}
