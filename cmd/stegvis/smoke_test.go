package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stegvis/stegvis/calendar"
	"github.com/stegvis/stegvis/store/storetest"
)

// TestSmokeDevAsAUserRunsIt builds the binary, runs `stegvis dev` the way `make run`
// does, drives a journey through the API, restarts the process and finds the journey
// still there.
func TestSmokeDevAsAUserRunsIt(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the whole service")
	}
	bin := buildBinary(t)
	dataDir := t.TempDir()
	dbURL := storetest.URL(t)
	apiPort, temporalPort, uiPort := freePort(t), freePort(t), freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	args := []string{"dev", "--data-dir", dataDir, "--http-addr", fmt.Sprintf("127.0.0.1:%d", apiPort),
		"--temporal-port", fmt.Sprint(temporalPort), "--ui-port", fmt.Sprint(uiPort)}
	env := append(os.Environ(), "DATABASE_URL="+dbURL)

	p := startProcess(t, bin, args, env)
	waitReady(t, base, p)
	if !strings.Contains(p.stdout.String(), fmt.Sprintf("http://127.0.0.1:%d/namespaces/default/workflows", uiPort)) {
		t.Fatalf("the banner does not print the Temporal UI URL:\n%s", p.stdout.String())
	}
	if code := get(t, fmt.Sprintf("http://127.0.0.1:%d/namespaces/default/workflows", uiPort)); code != http.StatusOK {
		t.Fatalf("Temporal UI answered %d", code)
	}

	// dev printed the demo users' tokens and wrote them where the README says.
	tokens := devTokens(t, dataDir)
	system, guide := tokens["ekb-system"], tokens["g-anna"]
	if !strings.Contains(p.stdout.String(), guide) {
		t.Fatalf("the banner does not print the tokens:\n%s", p.stdout.String())
	}
	// The pages: the printed address leads to the sign-in page.
	if !strings.Contains(p.stdout.String(), "Web pages    "+base+"/") {
		t.Fatalf("the banner does not print the pages' address:\n%s", p.stdout.String())
	}
	if code := get(t, base+"/login"); code != http.StatusOK {
		t.Fatalf("the sign-in page answered %d", code)
	}
	if status, _ := post(t, base+"/v1/participants", "", `{}`); status != http.StatusUnauthorized {
		t.Fatalf("a request without a token: %d", status)
	}
	today := time.Now().In(calendar.Stockholm).Format(time.DateOnly)
	status, body := post(t, base+"/v1/participants", system, `{"participantId":"smoke-1","programId":"jobbgaranti","unit":"arbetsmarknad","referredAt":"`+today+`","guideId":"g-anna"}`)
	if status != http.StatusCreated {
		t.Fatalf("start: %d %s", status, body)
	}
	signed := time.Now().Add(-time.Minute).Format(time.RFC3339)
	status, body = post(t, base+"/v1/participants/smoke-1/plan", guide, `{"signedAt":"`+signed+`","mainActivity":"work training",
		"weeklySchedule":[{"day":"tuesday","from":"09:00","to":"12:00"}],"subGoals":["write a CV"],"followUpAt":"`+time.Now().AddDate(0, 0, 14).Format(time.DateOnly)+`"}`)
	if status != http.StatusOK || !strings.Contains(body, `"phase":"active"`) {
		t.Fatalf("plan: %d %s\n%s", status, body, p.stderr.String())
	}
	p.stop(t)

	// Journeys survive a restart: the embedded server keeps them in the SQLite file.
	p = startProcess(t, bin, args, env)
	waitReady(t, base, p)
	req, _ := http.NewRequest("GET", base+"/v1/participants/smoke-1", nil)
	req.Header.Set("Authorization", "Bearer "+devTokens(t, dataDir)["g-anna"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var j struct {
		Phase string `json:"phase"`
		Plan  struct {
			MainActivity string `json:"mainActivity"`
		} `json:"plan"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&j); err != nil || j.Phase != "active" || j.Plan.MainActivity != "work training" {
		t.Fatalf("after restart: %d %+v %v", resp.StatusCode, j, err)
	}

	// The production shape: separate api and worker processes against a Temporal
	// cluster, here the one dev embeds.
	// Tokens come from dev's issuer, whose keys it serves like any identity provider,
	// and payloads are sealed with dev's key ring.
	keys, err := os.ReadFile(filepath.Join(dataDir, "encryption-keys"))
	if err != nil {
		t.Fatal(err)
	}
	clusterEnv := append(env, fmt.Sprintf("TEMPORAL_ADDRESS=127.0.0.1:%d", temporalPort), "TEMPORAL_NAMESPACE=default",
		"OIDC_ISSUER="+base+"/dev", "OIDC_JWKS_URL="+base+"/dev/jwks.json", "OIDC_AUDIENCE=stegvis", "ENCRYPTION_KEYS="+string(keys))
	apiPort2, metricsPort := freePort(t), freePort(t)
	apiProc := startProcess(t, bin, []string{"api", "--http-addr", fmt.Sprintf("127.0.0.1:%d", apiPort2)}, clusterEnv)
	workerProc := startProcess(t, bin, []string{"worker", "--metrics-addr", fmt.Sprintf("127.0.0.1:%d", metricsPort)}, clusterEnv)
	base2 := fmt.Sprintf("http://127.0.0.1:%d", apiPort2)
	waitReady(t, base2, apiProc)
	system = devTokens(t, dataDir)["ekb-system"]
	status, body = post(t, base2+"/v1/participants", system, `{"participantId":"smoke-2","programId":"steg","unit":"arbetsmarknad","referredAt":"`+today+`"}`)
	if status != http.StatusCreated || !strings.Contains(body, `"phase":"waiting_for_guide"`) {
		t.Fatalf("start through stegvis api: %d %s", status, body)
	}
	if code := get(t, fmt.Sprintf("http://127.0.0.1:%d/healthz", metricsPort)); code != http.StatusOK {
		t.Fatalf("worker /healthz answered %d\n%s", code, workerProc.stderr.String())
	}
	apiProc.stop(t)
	workerProc.stop(t)
	if !strings.Contains(apiProc.stderr.String(), `"request_id"`) {
		t.Errorf("stegvis api logs JSON lines with request ids by default:\n%s", apiProc.stderr.String())
	}
	p.stop(t)
}

func TestDevWithoutPostgresStopsWithOneLineSayingWhatToSet(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	cmd := exec.Command(bin, "dev", "--data-dir", t.TempDir(), "--http-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "DATABASE_URL=postgres://postgres@127.0.0.1:1/stegvis?sslmode=disable")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if err == nil {
		t.Fatal("dev started without PostgreSQL")
	}
	out := strings.TrimRight(stderr.String(), "\n")
	if strings.Count(out, "\n") != 0 || !strings.Contains(out, "DATABASE_URL") || !strings.Contains(out, "127.0.0.1:1") {
		t.Fatalf("want one line naming DATABASE_URL, got:\n%s", out)
	}
}

var builtBinary string

func buildBinary(t *testing.T) string {
	t.Helper()
	if builtBinary != "" {
		return builtBinary
	}
	dir, err := os.MkdirTemp("", "stegvis-smoke")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "stegvis")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	builtBinary = bin
	return bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builtBinary != "" {
		os.RemoveAll(filepath.Dir(builtBinary))
	}
	os.Exit(code)
}

type process struct {
	cmd    *exec.Cmd
	stdout *syncBuf
	stderr *syncBuf
	done   chan error
}

type syncBuf struct {
	bytes.Buffer
	mu chan struct{}
}

func newSyncBuf() *syncBuf { return &syncBuf{mu: make(chan struct{}, 1)} }

func (b *syncBuf) Write(p []byte) (int, error) {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.Buffer.Write(p)
}

func (b *syncBuf) String() string {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.Buffer.String()
}

func startProcess(t *testing.T, bin string, args, env []string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(bin, args...), stdout: newSyncBuf(), stderr: newSyncBuf(), done: make(chan error, 1)}
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
		}
	})
	return p
}

// stop sends SIGINT, as Ctrl+C does, and expects a clean exit.
func (p *process) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("stegvis dev exited with %v on Ctrl+C\n%s", err, p.stderr.String())
		}
	case <-time.After(60 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Fatalf("stegvis dev did not stop on Ctrl+C\n%s", p.stderr.String())
	}
}

func waitReady(t *testing.T, base string, p *process) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for ctx.Err() == nil {
		select {
		case err := <-p.done:
			t.Fatalf("stegvis dev exited early (%v):\n%s", err, p.stderr.String())
		default:
		}
		// Only this process's own answer counts: it has said it listens.
		if strings.Contains(p.stderr.String(), "HTTP API listening") && get(t, base+"/readyz") == http.StatusOK {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("/readyz never answered 200:\n%s", p.stderr.String())
}

func get(t *testing.T, url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func devTokens(t *testing.T, dataDir string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "dev-tokens.json"))
	if err != nil {
		t.Fatal(err)
	}
	var users map[string]struct{ Role, Token string }
	if err := json.Unmarshal(b, &users); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for id, u := range users {
		if u.Role == "" || u.Token == "" {
			t.Fatalf("dev-tokens.json: %s has no role or token", id)
		}
		out[id] = u.Token
	}
	return out
}

func post(t *testing.T, url, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// freePort picks a free port below Linux's ephemeral range (32768 and up), so that
// no listener on port 0 in a test package running alongside can take it between
// this check and the process binding it: that once made /readyz answer from
// another package's test server.
func freePort(t *testing.T) int {
	t.Helper()
	for range 1000 {
		port := 20000 + rand.IntN(12000)
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		ln.Close()
		return port
	}
	t.Fatal("no free port between 20000 and 32000")
	return 0
}
