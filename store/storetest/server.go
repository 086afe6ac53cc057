package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Server is a PostgreSQL server of a test's own, for a test that stops and starts
// PostgreSQL for real (pg_ctl) while the system server goes on serving the other
// tests. It runs Debian's PostgreSQL binaries (/usr/lib/postgresql/*/bin) on a data
// directory in a temporary folder, with trust authentication for the user postgres,
// on a free port of 127.0.0.1. As root (CI), initdb and pg_ctl run as the postgres
// user, since PostgreSQL refuses to run as root.
type Server struct {
	bin      string // the directory of initdb and pg_ctl
	base     string // the temporary folder: data, socket and log
	port     int
	runAsPG  bool // run the binaries as the postgres user (we are root)
	mu       sync.Mutex
	running  bool
	stopping bool // set by the cleanup, after which Start refuses
}

// NewServer initialises and starts a PostgreSQL server of the test's own, stopped and
// removed when the test ends. Without the PostgreSQL server binaries it fails the test
// on CI (where they are installed) and skips it elsewhere.
func NewServer(t testing.TB) *Server {
	t.Helper()
	bin, err := serverBinDir()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v: the PostgreSQL server (apt-get install postgresql) is needed for a PostgreSQL of the test's own", err)
		}
		t.Skipf("%v; install the PostgreSQL server with: sudo apt-get update && sudo apt-get install -y postgresql", err)
	}
	s := &Server{bin: bin, runAsPG: os.Geteuid() == 0}
	// Not t.TempDir(): as root the postgres user must reach the folder, and the
	// parents of t.TempDir() are private to root.
	s.base, err = os.MkdirTemp("", "stegvis-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(s.base); err != nil {
			t.Logf("remove %s: %v", s.base, err)
		}
	})
	if err := os.Mkdir(s.sockDir(), 0o755); err != nil {
		t.Fatal(err)
	}
	if s.runAsPG {
		if err := chownToPostgres(s.base, s.sockDir()); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(s.base, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := s.run("initdb", "-D", s.dataDir(), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	s.port, err = freePort()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.mu.Lock()
		s.stopping = true
		running := s.running
		s.mu.Unlock()
		if running {
			if out, err := s.run("pg_ctl", "-D", s.dataDir(), "-m", "immediate", "-w", "stop"); err != nil {
				t.Logf("stop the test's PostgreSQL: %v\n%s", err, out)
			}
		}
	})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	return s
}

// URL is the URL of a database on the server (store.Open creates it if missing).
func (s *Server) URL(database string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, database)
}

// Stop stops the server as an administrator does (pg_ctl stop -m fast: open sessions
// are ended, new connections refused) and waits until it is down.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.running {
		return nil
	}
	if out, err := s.run("pg_ctl", "-D", s.dataDir(), "-m", "fast", "-w", "stop"); err != nil {
		return fmt.Errorf("pg_ctl stop: %v\n%s", err, out)
	}
	s.running = false
	return nil
}

// Start starts the server on its port and data, and waits until it accepts
// connections.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		return nil
	}
	if s.stopping {
		return fmt.Errorf("the test's PostgreSQL is being removed")
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", s.port, s.sockDir())
	if out, err := s.run("pg_ctl", "-D", s.dataDir(), "-l", s.logFile(), "-o", opts, "-t", "60", "-w", "start"); err != nil {
		log, _ := os.ReadFile(s.logFile())
		return fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, tail(log, 2000))
	}
	s.running = true
	return nil
}

func (s *Server) dataDir() string { return filepath.Join(s.base, "data") }
func (s *Server) sockDir() string { return filepath.Join(s.base, "sock") }
func (s *Server) logFile() string { return filepath.Join(s.base, "postgresql.log") }

// run runs one of the server's binaries, as the postgres user when we are root.
func (s *Server) run(name string, args ...string) ([]byte, error) {
	path := filepath.Join(s.bin, name)
	var cmd *exec.Cmd
	if s.runAsPG {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = s.base
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

// serverBinDir finds the directory of initdb and pg_ctl: the newest
// /usr/lib/postgresql/*/bin (Debian keeps them out of PATH), else pg_config --bindir.
func serverBinDir() (string, error) {
	has := func(dir string) bool {
		for _, b := range []string{"initdb", "pg_ctl"} {
			if fi, err := os.Stat(filepath.Join(dir, b)); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
				return false
			}
		}
		return true
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if has(d) {
			return d, nil
		}
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if d := strings.TrimSpace(string(out)); has(d) {
			return d, nil
		}
	}
	return "", fmt.Errorf("no PostgreSQL server binaries (initdb, pg_ctl) in /usr/lib/postgresql/*/bin or pg_config --bindir")
}

// version is the major version in /usr/lib/postgresql/<version>/bin.
func version(bin string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(bin)))
	return v
}

func chownToPostgres(paths ...string) error {
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("running as root, PostgreSQL needs the postgres user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	for _, p := range paths {
		if err := os.Chown(p, uid, gid); err != nil {
			return err
		}
	}
	return nil
}

// freePort picks a free port between 9200 and 10000 (above the worker's default metrics port 9090): below Linux's ephemeral range
// (32768–60999), where every outgoing connection takes its local port, so that none
// takes the server's port while it is stopped for a minute and it can start again on
// it; apart from the embedded Temporal's internal ports (10000–12000) and the e2e and
// smoke tests' ranges.
func freePort() (int, error) {
	for range 1000 {
		p := 9200 + rand.IntN(800)
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			continue
		}
		_ = ln.Close()
		return p, nil
	}
	return 0, errors.New("no free port between 9200 and 10000 on 127.0.0.1")
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
