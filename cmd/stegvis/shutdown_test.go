package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
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

// TestShutdownOnSIGTERM stops real `stegvis api` and `stegvis worker` processes the
// way Kubernetes, systemd and Compose do, against the Temporal server that `stegvis
// dev` embeds. Timing is only ever bounded generously from above: every bound is the
// configured delay and timeout plus ten seconds or more.
func TestShutdownOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the whole service")
	}
	bin := buildBinary(t)
	dev, env, dataDir := startDevCluster(t, bin)
	token := devTokens(t, dataDir)["ekb-system"]

	t.Run("api drains its in-flight request", func(t *testing.T) {
		const delay, timeout = 8 * time.Second, 20 * time.Second
		addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
		base := "http://" + addr
		p := startProcess(t, bin, []string{"api", "--http-addr", addr,
			"--shutdown-delay", delay.String(), "--shutdown-timeout", timeout.String()}, env)
		waitReady(t, base, p)

		// A request in flight: its headers are sent, its body only in part, so the
		// handler is waiting for the rest when the signal comes.
		today := time.Now().In(calendar.Stockholm).Format(time.DateOnly)
		body := `{"participantId":"shutdown-1","programId":"steg","unit":"arbetsmarknad","referredAt":"` + today + `"}`
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := fmt.Fprintf(conn, "POST /v1/participants HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"+
			"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", addr, token, len(body), body[:20]); err != nil {
			t.Fatal(err)
		}

		signalled := time.Now()
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}

		// /readyz turns 503 while the API still serves. A 200 can only come before
		// the process has handled the signal; a refused connection would mean the
		// listener closed without ever saying it was going.
		for {
			status, rbody, err := getReadyz(base)
			if err != nil {
				t.Fatalf("/readyz unreachable %s after SIGTERM, before it answered 503 (%v); the drain delay is %s\n%s",
					time.Since(signalled), err, delay, p.stderr.String())
			}
			if status == http.StatusServiceUnavailable {
				if !strings.Contains(rbody, `"shutdown":"draining"`) {
					t.Fatalf("/readyz while draining: %s", rbody)
				}
				break
			}
			if status != http.StatusOK || time.Since(signalled) > delay+10*time.Second {
				t.Fatalf("/readyz answered %d %s after SIGTERM\n%s", status, rbody, p.stderr.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		// New requests are still served during the delay, and told to close their
		// connection, so that kept-alive clients reconnect through the load balancer.
		req, _ := http.NewRequest("GET", base+"/v1/programs", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		asked := time.Now()
		resp, err := http.DefaultClient.Do(req)
		switch {
		case err != nil && asked.Sub(signalled) < delay/2:
			t.Fatalf("a new request during the drain delay: %v\n%s", err, p.stderr.String())
		case err != nil:
			t.Logf("the new request came %s after SIGTERM, too late to check it (%v)", asked.Sub(signalled), err)
		default:
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !resp.Close {
				t.Fatalf("a new request during the drain delay: %d, Connection: %q", resp.StatusCode, resp.Header.Get("Connection"))
			}
		}

		// After the delay the listener closes, while the request is still in flight.
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err != nil {
				break
			}
			c.Close()
			if time.Since(signalled) > delay+10*time.Second {
				t.Fatalf("the listener was still open %s after SIGTERM\n%s", time.Since(signalled), p.stderr.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
		select {
		case err := <-p.done:
			t.Fatalf("stegvis api exited (%v) with a request in flight\n%s", err, p.stderr.String())
		default:
		}

		// The rest of the body: the request completes with an answer, not a reset.
		if _, err := io.WriteString(conn, body[20:]); err != nil {
			t.Fatalf("finishing the in-flight request: %v\n%s", err, p.stderr.String())
		}
		_ = conn.SetReadDeadline(time.Now().Add(timeout))
		resp, err = http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("the in-flight request got no answer: %v\n%s", err, p.stderr.String())
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated || !strings.Contains(string(got), `"participantId":"shutdown-1"`) {
			t.Fatalf("the in-flight request: %d %s\n%s", resp.StatusCode, got, p.stderr.String())
		}

		waitExit(t, p, "api", signalled, delay+timeout+10*time.Second)
		logs := p.stderr.String()
		for _, want := range []string{"HTTP API shutting down", `"api stopped`} {
			if !strings.Contains(logs, want) {
				t.Errorf("stegvis api did not log %q:\n%s", want, logs)
			}
		}
		if !strings.Contains(lineWith(logs, `"api stopped`), `"duration":`) {
			t.Errorf("the last line says how long the shutdown took:\n%s", logs)
		}
	})

	t.Run("worker stops polling", func(t *testing.T) {
		const timeout = 20 * time.Second
		metricsPort := freePort(t)
		p := startProcess(t, bin, []string{"worker", "--metrics-addr", fmt.Sprintf("127.0.0.1:%d", metricsPort),
			"--shutdown-timeout", timeout.String()}, env)
		waitLog(t, p, "Started Worker")
		if code := get(t, fmt.Sprintf("http://127.0.0.1:%d/healthz", metricsPort)); code != http.StatusOK {
			t.Fatalf("worker /healthz answered %d\n%s", code, p.stderr.String())
		}

		signalled := time.Now()
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		waitExit(t, p, "worker", signalled, timeout+10*time.Second)
		logs := p.stderr.String()
		for _, want := range []string{"worker shutting down: no more polling", "Stopped Worker", `"worker stopped polling`} {
			if !strings.Contains(logs, want) {
				t.Errorf("stegvis worker did not log %q:\n%s", want, logs)
			}
		}
		if !strings.Contains(lineWith(logs, `"worker stopped polling`), `"duration":`) {
			t.Errorf("the last line says how long the shutdown took:\n%s", logs)
		}
		if _, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", metricsPort), time.Second); err == nil {
			t.Errorf("the metrics listener is still open")
		}
	})

	t.Run("a second signal stops at once", func(t *testing.T) {
		// A drain delay far longer than the test waits: only the second signal can
		// end the process in time.
		addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
		p := startProcess(t, bin, []string{"api", "--http-addr", addr, "--shutdown-delay", "10m"}, env)
		waitReady(t, "http://"+addr, p)
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		waitLog(t, p, "HTTP API shutting down")
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-p.done:
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 128+int(syscall.SIGTERM) {
				t.Fatalf("after a second SIGTERM: %v, want exit status %d\n%s", err, 128+int(syscall.SIGTERM), p.stderr.String())
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("stegvis api did not stop on a second SIGTERM\n%s", p.stderr.String())
		}
		if !strings.Contains(p.stderr.String(), "second signal") {
			t.Errorf("the forced exit says why:\n%s", p.stderr.String())
		}
	})

	dev.stop(t)
}

// startDevCluster runs `stegvis dev` on a fresh database for its Temporal server and
// its token issuer, and returns the environment of api and worker processes that use
// them, as in production against an external cluster.
func startDevCluster(t *testing.T, bin string) (dev *process, env []string, dataDir string) {
	t.Helper()
	dataDir = t.TempDir()
	apiPort, temporalPort, uiPort := freePort(t), freePort(t), freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	env = append(os.Environ(), "DATABASE_URL="+storetest.URL(t))
	dev = startProcess(t, bin, []string{"dev", "--data-dir", dataDir, "--http-addr", fmt.Sprintf("127.0.0.1:%d", apiPort),
		"--temporal-port", fmt.Sprint(temporalPort), "--ui-port", fmt.Sprint(uiPort)}, env)
	waitReady(t, base, dev)
	keys, err := os.ReadFile(filepath.Join(dataDir, "encryption-keys"))
	if err != nil {
		t.Fatal(err)
	}
	env = append(env, fmt.Sprintf("TEMPORAL_ADDRESS=127.0.0.1:%d", temporalPort), "TEMPORAL_NAMESPACE=default",
		"OIDC_ISSUER="+base+"/dev", "OIDC_JWKS_URL="+base+"/dev/jwks.json", "OIDC_AUDIENCE=stegvis", "ENCRYPTION_KEYS="+string(keys))
	return dev, env, dataDir
}

// getReadyz is one /readyz on a fresh connection.
func getReadyz(base string) (int, string, error) {
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := c.Get(base + "/readyz")
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// waitExit expects the process to exit with status 0 within bound of the signal.
func waitExit(t *testing.T, p *process, name string, signalled time.Time, bound time.Duration) {
	t.Helper()
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("stegvis %s exited with %v on SIGTERM\n%s", name, err, p.stderr.String())
		}
	case <-time.After(time.Until(signalled.Add(bound))):
		_ = p.cmd.Process.Kill()
		t.Fatalf("stegvis %s was still running %s after SIGTERM\n%s", name, bound, p.stderr.String())
	}
}

// waitLog waits for the process to log s.
func waitLog(t *testing.T, p *process, s string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(p.stderr.String(), s) {
		select {
		case err := <-p.done:
			t.Fatalf("exited (%v) before logging %q:\n%s", err, s, p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("never logged %q:\n%s", s, p.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// lineWith is the first log line containing s.
func lineWith(logs, s string) string {
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}
