package deploycheck

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

const composeDir = "../../compose"

// loadCompose loads compose.yaml as `docker compose config` does: the compose-spec
// schema, interpolation, merge keys, then the model's own consistency checks, with the
// variables of envFiles only (not this machine's environment).
func loadCompose(t *testing.T, envFiles ...string) (*types.Project, error) {
	t.Helper()
	fns := []cli.ProjectOptionsFn{
		cli.WithWorkingDirectory(composeDir),
		cli.WithInterpolation(true),
		cli.WithConsistency(true),
		cli.WithResolvedPaths(true),
	}
	// Without envFiles not even a developer's own deploy/compose/.env is read.
	if len(envFiles) > 0 {
		fns = append(fns, cli.WithEnvFiles(envFiles...), cli.WithDotEnv)
	}
	opts, err := cli.NewProjectOptions([]string{filepath.Join(composeDir, "compose.yaml")}, fns...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return opts.LoadProject(ctx)
}

// TestCompose loads deploy/compose/compose.yaml with the variables of .env.example
// and checks the production shape it promises.
func TestCompose(t *testing.T) {
	p, err := loadCompose(t, filepath.Join(composeDir, ".env.example"))
	if err != nil {
		t.Fatalf("compose.yaml does not load: %v", err)
	}
	want := []string{"postgres", "temporal-schema", "temporal", "temporal-namespace", "temporal-ui", "migrate", "api", "worker", "proxy"}
	for _, name := range want {
		if _, err := p.GetService(name); err != nil {
			t.Errorf("no service %s", name)
		}
	}
	t.Logf("services: %s", strings.Join(p.ServiceNames(), " "))
	svc := func(name string) types.ServiceConfig {
		s, err := p.GetService(name)
		if err != nil {
			t.Fatalf("no service %s", name)
		}
		return s
	}
	dependsOn := func(s types.ServiceConfig, on, condition string) {
		t.Helper()
		if d, ok := s.DependsOn[on]; !ok || d.Condition != condition {
			t.Errorf("%s: want depends_on %s with condition %s, have %+v", s.Name, on, condition, s.DependsOn[on])
		}
	}
	healthy := func(s types.ServiceConfig) {
		t.Helper()
		if s.HealthCheck == nil || s.HealthCheck.Disable || len(s.HealthCheck.Test) == 0 {
			t.Errorf("%s has no healthcheck", s.Name)
		}
	}

	// Temporal: the official server image on PostgreSQL, its schema set up first by the
	// admin tools' temporal-sql-tool for both databases, the same version throughout.
	temporal, schema, ns, ui := svc("temporal"), svc("temporal-schema"), svc("temporal-namespace"), svc("temporal-ui")
	version := strings.TrimPrefix(temporal.Image, "temporalio/server:")
	if version == temporal.Image || !strings.HasPrefix(version, "1.31.") {
		t.Errorf("temporal runs %s, want temporalio/server:1.31.x", temporal.Image)
	}
	for _, s := range []types.ServiceConfig{schema, ns} {
		if s.Image != "temporalio/admin-tools:"+version {
			t.Errorf("%s runs %s, want temporalio/admin-tools:%s", s.Name, s.Image, version)
		}
	}
	if !strings.HasPrefix(ui.Image, "temporalio/ui:") {
		t.Errorf("temporal-ui runs %s", ui.Image)
	}
	if temporal.Environment["DB"] == nil || *temporal.Environment["DB"] != "postgres12" {
		t.Errorf("temporal: DB is not postgres12")
	}
	dependsOn(schema, "postgres", types.ServiceConditionHealthy)
	dependsOn(temporal, "temporal-schema", types.ServiceConditionCompletedSuccessfully)
	dependsOn(ns, "temporal", types.ServiceConditionHealthy)
	dependsOn(ui, "temporal", types.ServiceConditionHealthy)
	script := readMounted(t, schema, "setup-schema.sh")
	for _, db := range []string{"temporal", "temporal_visibility"} {
		for _, step := range []string{"create", "setup-schema -v 0.0", "update-schema -d"} {
			if !strings.Contains(script, "--db "+db+" "+step) {
				t.Errorf("setup-schema.sh does not run temporal-sql-tool --db %s %s", db, step)
			}
		}
	}
	if !strings.Contains(readMounted(t, ns, "setup-namespace.sh"), "search-attribute create") {
		t.Error("setup-namespace.sh does not register the search attributes")
	}
	healthy(svc("postgres"))
	healthy(temporal)

	// The migration runs once; the API and the workers start after it succeeded.
	migrate := svc("migrate")
	if !slices.Equal([]string(migrate.Command), []string{"migrate"}) || migrate.Restart != "no" {
		t.Errorf("migrate: command %v restart %q, want [migrate] and no restart", migrate.Command, migrate.Restart)
	}
	dependsOn(migrate, "postgres", types.ServiceConditionHealthy)

	for _, name := range []string{"api", "worker"} {
		s := svc(name)
		if !slices.Equal([]string(s.Command), []string{name}) {
			t.Errorf("%s: command %v", name, s.Command)
		}
		if s.Deploy == nil || s.Deploy.Replicas == nil || *s.Deploy.Replicas != 2 {
			t.Errorf("%s: want deploy.replicas 2", name)
		}
		if s.Build == nil || filepath.Base(s.Build.Dockerfile) != "Dockerfile" {
			t.Errorf("%s: not built from deploy/Dockerfile: %+v", name, s.Build)
		} else if _, err := os.Stat(filepath.Join(s.Build.Context, s.Build.Dockerfile)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if s.Image != migrate.Image {
			t.Errorf("%s runs %s, the migration %s", name, s.Image, migrate.Image)
		}
		dependsOn(s, "migrate", types.ServiceConditionCompletedSuccessfully)
		dependsOn(s, "temporal-namespace", types.ServiceConditionCompletedSuccessfully)
		healthy(s)
		env := map[string]string{}
		for k, v := range s.Environment {
			if v != nil {
				env[k] = *v
			}
		}
		required := []string{"DATABASE_URL", "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "ENCRYPTION_KEYS", "SHUTDOWN_TIMEOUT"}
		stop := []string{"SHUTDOWN_TIMEOUT"}
		if name == "api" {
			required = append(required, "OIDC_ISSUER", "HTTP_ADDR", "PUBLIC_URL", "PROGRAMS_DIR")
			stop = append(stop, "SHUTDOWN_DELAY")
		} else {
			required = append(required, "METRICS_ADDR")
		}
		for _, k := range required {
			if env[k] == "" {
				t.Errorf("%s: %s is not set", name, k)
			}
		}
		if env["MIGRATE"] != "false" {
			t.Errorf("%s: MIGRATE=%q; the migrate job migrates", name, env["MIGRATE"])
		}
		var graceful time.Duration
		for _, k := range stop {
			d, err := time.ParseDuration(env[k])
			if err != nil {
				t.Errorf("%s: %s=%q: %v", name, k, env[k], err)
			}
			graceful += d
		}
		if s.StopGracePeriod == nil || time.Duration(*s.StopGracePeriod) <= graceful {
			t.Errorf("%s: stop_grace_period %v is not longer than %s (%s)", name, s.StopGracePeriod, graceful, strings.Join(stop, "+"))
		}
	}
	dependsOn(svc("proxy"), "api", types.ServiceConditionHealthy)
}

// TestComposeNeedsSettings checks that Compose refuses to start without the settings
// that have no sensible default (the identity provider, the key ring, the password).
func TestComposeNeedsSettings(t *testing.T) {
	_, err := loadCompose(t)
	if err == nil {
		t.Fatal("compose.yaml loads without .env; want it to ask for the settings")
	}
	if !strings.Contains(err.Error(), ".env") {
		t.Errorf("the error does not say to set the variables in .env: %v", err)
	}
}

// readMounted reads a script that a service has mounted from deploy/compose.
func readMounted(t *testing.T, s types.ServiceConfig, name string) string {
	t.Helper()
	for _, v := range s.Volumes {
		if v.Type != types.VolumeTypeBind {
			continue
		}
		b, err := os.ReadFile(filepath.Join(v.Source, name))
		if err == nil {
			if !slices.ContainsFunc(s.Entrypoint, func(a string) bool { return strings.HasSuffix(a, "/"+name) }) &&
				!slices.ContainsFunc(s.Command, func(a string) bool { return strings.HasSuffix(a, "/"+name) }) {
				t.Errorf("%s mounts %s but does not run it", s.Name, name)
			}
			return string(b)
		}
	}
	t.Errorf("%s mounts no %s", s.Name, name)
	return ""
}
