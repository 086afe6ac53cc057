package deploycheck

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

const chartDir = "../../helm/stegvis"

// The release name every rendering uses, so that object names are known.
const release = "stegvis"

var (
	schemasOnce sync.Once
	schemas     *Schemas
	schemasErr  error
)

func loadSchemas(t *testing.T) *Schemas {
	t.Helper()
	schemasOnce.Do(func() { schemas, schemasErr = LoadSchemas() })
	if schemasErr != nil {
		t.Fatalf("Kubernetes schemas: %v", schemasErr)
	}
	return schemas
}

// goTool runs a tool of this module's go.mod (helm, kubeconform).
func goTool(args ...string) (string, error) {
	path, err := toolPath(args[0])
	if err != nil {
		return "", err
	}
	out, err := exec.Command(path, args[1:]...).CombinedOutput()
	return string(out), err
}

var (
	toolsMu sync.Mutex
	tools   = map[string]string{}
)

// toolPath is the executable of a tool in the build cache: `go tool -n` builds it when
// needed (the first build of helm takes minutes) and names it, so that the many runs
// of a test do not each pay for the go command's check that the tool is up to date.
func toolPath(name string) (string, error) {
	toolsMu.Lock()
	defer toolsMu.Unlock()
	if p, ok := tools[name]; ok {
		return p, nil
	}
	var stderr strings.Builder
	cmd := exec.Command("go", "tool", "-n", name)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go tool -n %s: %v\n%s", name, err, stderr.String())
	}
	p := strings.TrimSpace(string(out))
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("go tool -n %s: %v", name, err)
	}
	tools[name] = p
	return p, nil
}

func valueFiles(t *testing.T) []string {
	files, err := filepath.Glob(filepath.Join(chartDir, "ci", "*-values.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no values files in %s/ci: %v", chartDir, err)
	}
	return files
}

func render(t *testing.T, args ...string) string {
	t.Helper()
	out, err := goTool(append([]string{"helm", "template", release, chartDir, "--namespace", "stegvis",
		"--kube-version", KubernetesVersion()}, args...)...)
	if err != nil {
		t.Fatalf("helm template %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// writeSchemas writes the schema of every kind in the manifests into dir.
func writeSchemas(t *testing.T, dir string, objs []Object) {
	t.Helper()
	s := loadSchemas(t)
	for _, o := range objs {
		if _, err := s.Write(dir, KubernetesVersion(), o.APIVersion(), o.Kind()); err != nil {
			t.Fatalf("%s %s: %v", o.Kind(), o.Name(), err)
		}
	}
}

// kubeconform validates files strictly against the schemas in dir; a kind without a
// schema is an error, not a skip.
func kubeconform(dir string, files ...string) (string, error) {
	return goTool(append([]string{"kubeconform", "-strict", "-summary", "-output", "text",
		"-kubernetes-version", KubernetesVersion(), "-schema-location", dir}, files...)...)
}

// TestChart lints the chart, renders it with each ci/*-values.yaml, validates every
// object with kubeconform -strict against the Kubernetes API's own schemas, and checks
// what the deployment of stegvis needs from each rendering.
func TestChart(t *testing.T) {
	schemaDir := t.TempDir()
	outDir := t.TempDir()
	var rendered []string
	for _, vf := range valueFiles(t) {
		name := strings.TrimSuffix(filepath.Base(vf), "-values.yaml")
		t.Run(name, func(t *testing.T) {
			if out, err := goTool("helm", "lint", "--strict", "--kube-version", KubernetesVersion(), chartDir, "-f", vf); err != nil {
				t.Fatalf("helm lint: %v\n%s", err, out)
			}
			out := render(t, "-f", vf)
			objs, err := ParseManifests([]byte(out))
			if err != nil {
				t.Fatalf("helm template output: %v", err)
			}
			writeSchemas(t, schemaDir, objs)
			file := filepath.Join(outDir, name+".yaml")
			if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
			rendered = append(rendered, file)
			checkChart(t, name, objs)
		})
	}
	if len(rendered) == 0 {
		return
	}
	start := time.Now()
	out, err := kubeconform(schemaDir, rendered...)
	if err != nil {
		t.Fatalf("kubeconform: %v\n%s", err, out)
	}
	t.Logf("kubeconform -strict against Kubernetes %s (%s):\n%s", KubernetesVersion(), time.Since(start).Round(time.Millisecond), strings.TrimSpace(out))
	if !strings.Contains(out, "Invalid: 0, Errors: 0, Skipped: 0") {
		t.Errorf("kubeconform did not validate every object:\n%s", out)
	}
}

func checkChart(t *testing.T, name string, objs []Object) {
	full := name == "full"
	var kinds []string
	for _, o := range objs {
		kinds = append(kinds, o.Kind()+"/"+o.Name())
		for _, c := range containers(o) {
			if img, _ := c["image"].(string); strings.Contains(img, "temporalio/") {
				t.Errorf("%s %s runs %s: the chart installs no Temporal server", o.Kind(), o.Name(), img)
			}
		}
	}
	t.Logf("rendered: %s", strings.Join(kinds, " "))

	api := Find(objs, "Deployment", release+"-api")
	worker := Find(objs, "Deployment", release+"-worker")
	if api == nil || worker == nil {
		t.Fatalf("want the Deployments %s-api and %s-worker, have %v", release, release, kinds)
	}
	apiC := api.Get("spec.template.spec.containers.0")
	workerC := worker.Get("spec.template.spec.containers.0")
	apiEnv, workerEnv := Env(apiC), Env(workerC)

	// Probes: the API's liveness and readiness on its HTTP port, the worker's /healthz
	// on the metrics port.
	probe := func(o Object, which, path, port string) {
		t.Helper()
		c := Object(o.Get("spec.template.spec.containers.0").(map[string]any))
		if got := c.Get(which + ".httpGet.path"); got != path {
			t.Errorf("%s %s: %s path %v, want %s", o.Kind(), o.Name(), which, got, path)
		}
		if got := c.Get(which + ".httpGet.port"); got != port {
			t.Errorf("%s %s: %s port %v, want %s", o.Kind(), o.Name(), which, got, port)
		}
	}
	probe(api, "livenessProbe", "/healthz", "http")
	probe(api, "readinessProbe", "/readyz", "http")
	probe(worker, "livenessProbe", "/healthz", "metrics")

	for _, d := range []Object{api, worker} {
		c := Object(d.Get("spec.template.spec.containers.0").(map[string]any))
		for _, p := range []string{"resources.requests.cpu", "resources.requests.memory", "resources.limits.memory"} {
			if c.Get(p) == nil {
				t.Errorf("%s: no %s", d.Name(), p)
			}
		}
		if c.Get("securityContext.readOnlyRootFilesystem") != true || d.Get("spec.template.spec.securityContext.runAsNonRoot") != true {
			t.Errorf("%s: want a read-only root filesystem and a non-root user", d.Name())
		}
	}

	// Every setting the processes need, secrets from Secrets, migrations by the hook.
	for _, env := range []map[string]string{apiEnv, workerEnv} {
		for _, k := range []string{"DATABASE_URL", "ENCRYPTION_KEYS", "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "SHUTDOWN_TIMEOUT", "MIGRATE"} {
			if env[k] == "" {
				t.Errorf("environment lacks %s: %v", k, env)
			}
		}
		for _, k := range []string{"DATABASE_URL", "ENCRYPTION_KEYS"} {
			if !strings.HasPrefix(env[k], "secret:") {
				t.Errorf("%s is not read from a Secret: %q", k, env[k])
			}
		}
		if env["MIGRATE"] != "false" {
			t.Errorf("MIGRATE=%q; the migration hook migrates, the pods must not", env["MIGRATE"])
		}
	}
	for _, k := range []string{"OIDC_ISSUER", "PROGRAMS_DIR", "HTTP_ADDR", "SHUTDOWN_DELAY"} {
		if apiEnv[k] == "" {
			t.Errorf("the API's environment lacks %s", k)
		}
	}
	if workerEnv["METRICS_ADDR"] != ":9090" {
		t.Errorf("worker METRICS_ADDR %q", workerEnv["METRICS_ADDR"])
	}
	if full {
		for k, want := range map[string]string{"OIDC_CLIENT_SECRET": "secret:stegvis/oidc-client-secret", "TEMPORAL_API_KEY": "secret:stegvis-temporal-api-key/key",
			"DATABASE_URL": "secret:stegvis-db-app/uri", "TEMPORAL_TLS_CERT": "/etc/stegvis/temporal-tls/tls.crt"} {
			if apiEnv[k] != want {
				t.Errorf("API %s = %q, want %q", k, apiEnv[k], want)
			}
		}
	}

	// The kubelet's SIGKILL comes after the process's own graceful stop.
	grace := func(d Object, env map[string]string, keys ...string) {
		t.Helper()
		var stop time.Duration
		for _, k := range keys {
			v, err := time.ParseDuration(env[k])
			if err != nil {
				t.Errorf("%s: %s=%q: %v", d.Name(), k, env[k], err)
			}
			stop += v
		}
		g, _ := d.Get("spec.template.spec.terminationGracePeriodSeconds").(float64)
		if time.Duration(g)*time.Second <= stop {
			t.Errorf("%s: terminationGracePeriodSeconds %v is not longer than %s (%s)", d.Name(), g, stop, strings.Join(keys, "+"))
		}
	}
	grace(api, apiEnv, "SHUTDOWN_DELAY", "SHUTDOWN_TIMEOUT")
	grace(worker, workerEnv, "SHUTDOWN_TIMEOUT")

	// Programmes: the ConfigMap, mounted where PROGRAMS_DIR points.
	cm := Find(objs, "ConfigMap", release+"-programs")
	if cm == nil {
		t.Error("no programmes ConfigMap")
	} else if full && len(cm.Get("data").(map[string]any)) == 0 {
		t.Error("the programmes of the values are not in the ConfigMap")
	}
	mounted := false
	for _, m := range asList(Object(apiC.(map[string]any)).Get("volumeMounts")) {
		mm := Object(m.(map[string]any))
		mounted = mounted || mm.Get("mountPath") == apiEnv["PROGRAMS_DIR"]
	}
	if !mounted {
		t.Errorf("nothing is mounted at PROGRAMS_DIR %s", apiEnv["PROGRAMS_DIR"])
	}

	// Disruption budgets for both, the workers' autoscaler on CPU.
	for _, c := range []string{"api", "worker"} {
		if Find(objs, "PodDisruptionBudget", release+"-"+c) == nil {
			t.Errorf("no PodDisruptionBudget for the %s", c)
		}
	}
	hpa := Find(objs, "HorizontalPodAutoscaler", release+"-worker")
	if hpa == nil || hpa.APIVersion() != "autoscaling/v2" || hpa.Get("spec.metrics.0.resource.name") != "cpu" ||
		hpa.Get("spec.scaleTargetRef.name") != release+"-worker" {
		t.Errorf("want an autoscaling/v2 HorizontalPodAutoscaler of the workers on CPU, have %v", hpa)
	}
	if hpa != nil && worker.Get("spec.replicas") != nil {
		t.Error("the worker Deployment sets replicas although its autoscaler owns them")
	}

	// The migration: a pre-install and pre-upgrade hook Job running `stegvis migrate`.
	job := Find(objs, "Job", release+"-migrate")
	if job == nil {
		t.Fatal("no migration Job")
	}
	hooks, _ := job.Get("metadata.annotations").(map[string]any)["helm.sh/hook"].(string)
	if !slices.Contains(strings.Split(hooks, ","), "pre-install") || !slices.Contains(strings.Split(hooks, ","), "pre-upgrade") {
		t.Errorf("migration Job hooks %q, want pre-install and pre-upgrade", hooks)
	}
	if args := job.Get("spec.template.spec.containers.0.args"); !slices.Equal(asStrings(args), []string{"migrate"}) {
		t.Errorf("migration Job args %v", args)
	}

	// Services: the API's, and the workers' metrics for the ServiceMonitor.
	for _, s := range []string{release + "-api", release + "-worker-metrics"} {
		if Find(objs, "Service", s) == nil {
			t.Errorf("no Service %s", s)
		}
	}
	monitors := 0
	for _, o := range objs {
		if o.Kind() == "ServiceMonitor" {
			monitors++
		}
	}
	if full && monitors != 2 {
		t.Errorf("serviceMonitor.enabled: %d ServiceMonitors, want 2 (API and workers)", monitors)
	}
	if !full && monitors != 0 {
		t.Errorf("ServiceMonitors without serviceMonitor.enabled: %d", monitors)
	}

	// The alert rules beside the ServiceMonitors: the same groups and alerts as
	// deploy/prometheus/stegvis-rules.yaml, which promtool checks.
	rule := Find(objs, "PrometheusRule", release)
	if !full && rule != nil {
		t.Error("a PrometheusRule without serviceMonitor.enabled (the Prometheus Operator may not be there)")
	}
	if full {
		if rule == nil {
			t.Fatal("serviceMonitor.enabled and prometheusRule.enabled: no PrometheusRule")
		}
		b, err := os.ReadFile("../../prometheus/stegvis-rules.yaml")
		if err != nil {
			t.Fatal(err)
		}
		// Helm reads only files inside the chart: it carries a copy, byte for byte.
		if c, err := os.ReadFile(filepath.Join(chartDir, "files", "stegvis-rules.yaml")); err != nil || string(c) != string(b) {
			t.Errorf("deploy/helm/stegvis/files/stegvis-rules.yaml differs from deploy/prometheus/stegvis-rules.yaml (%v): "+
				"cp deploy/prometheus/stegvis-rules.yaml deploy/helm/stegvis/files/", err)
		}
		var want struct {
			Groups []any `json:"groups"`
		}
		if err := yaml.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		if got := rule.Get("spec.groups"); !reflect.DeepEqual(got, want.Groups) {
			t.Errorf("the PrometheusRule's groups differ from deploy/prometheus/stegvis-rules.yaml:\n%v\nwant\n%v", got, want.Groups)
		}
		if l, _ := rule.Get("metadata.labels").(map[string]any)["release"].(string); l != "kube-prometheus-stack" {
			t.Errorf("the PrometheusRule has release label %q, want serviceMonitor.labels' kube-prometheus-stack", l)
		}
	}
}

// TestChartRefuses checks that the chart says what is missing instead of rendering
// pods that cannot start, and that values.schema.json catches a misspelt value.
func TestChartRefuses(t *testing.T) {
	minimal := filepath.Join(chartDir, "ci", "minimal-values.yaml")
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no values", nil, "set "},
		{"no Temporal", []string{"-f", minimal, "--set", "temporal.address="}, "set temporal.address"},
		{"no database", []string{"-f", minimal, "--set", "database.url="}, "set database.url"},
		{"client id without public URL", []string{"-f", minimal, "--set", "oidc.clientID=stegvis"}, "publicURL"},
		{"misspelt value", []string{"-f", minimal, "--set", "databse.url=postgres://x"}, "databse"},
		{"programme not .yaml", []string{"-f", minimal, "--set-string", "programs.x\\.yml=id: x"}, "x.yml"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := goTool(append([]string{"helm", "template", release, chartDir, "--kube-version", KubernetesVersion()}, c.args...)...)
			if err == nil {
				t.Fatalf("helm template rendered; want it to fail with %q", c.want)
			}
			if !strings.Contains(out, c.want) {
				t.Errorf("helm template failed without saying %q:\n%s", c.want, out)
			}
		})
	}
}

// TestKubeconformCatchesMistakes makes sure the validation is not a formality: a
// misspelt field, a wrong type and a missing required field in a rendered manifest
// each fail it.
func TestKubeconformCatchesMistakes(t *testing.T) {
	good := render(t, "-f", filepath.Join(chartDir, "ci", "minimal-values.yaml"))
	objs, err := ParseManifests([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeSchemas(t, dir, objs)
	for _, c := range []struct{ name, old, new, want string }{
		{"misspelt field", "      terminationGracePeriodSeconds:", "      terminationGracePeriodSecond:", "terminationGracePeriodSecond"},
		{"wrong type", "containerPort: 8080", "containerPort: http", "containerPort"},
		{"missing required field", "      port: 80\n", "", "missing property 'port'"},
		{"unknown kind", "kind: PodDisruptionBudget", "kind: PodDisruptionBudgett", "PodDisruptionBudgett"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(good, c.old) {
				t.Fatalf("the rendering has no %q to change", c.old)
			}
			file := filepath.Join(t.TempDir(), "broken.yaml")
			if err := os.WriteFile(file, []byte(strings.Replace(good, c.old, c.new, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := kubeconform(dir, file)
			if err == nil {
				t.Fatalf("kubeconform accepted %q:\n%s", c.new, out)
			}
			if !strings.Contains(out, c.want) {
				t.Errorf("kubeconform failed without naming %q:\n%s", c.want, out)
			}
		})
	}
}

func containers(o Object) []map[string]any {
	var out []map[string]any
	for _, c := range asList(o.Get("spec.template.spec.containers")) {
		if m, ok := c.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func asList(v any) []any { l, _ := v.([]any); return l }

func asStrings(v any) []string {
	var out []string
	for _, x := range asList(v) {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
