package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a stegvis process the bench started: the worker or the API run as the
// production binaries do, so that each one's memory can be read on its own.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan error
	mu   sync.Mutex
	log  strings.Builder // the last lines it wrote, for an error message
}

// buildBinary builds bin/stegvis of this checkout into dir.
func buildBinary(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "stegvis")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/stegvis")
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build stegvis (run the bench from the repository root, as make bench does): %w\n%s", err, out)
	}
	return bin, nil
}

// startProc starts bin with args and env and waits until it logs ready.
func startProc(ctx context.Context, name, bin string, args, env []string, ready string) (*proc, error) {
	p := &proc{name: name, cmd: exec.Command(bin, args...), done: make(chan error, 1)}
	p.cmd.Env = append(os.Environ(), env...)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	p.cmd.Stdout = io.Discard
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	up := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			if p.log.Len() > 16*1024 {
				p.log.Reset()
			}
			p.log.WriteString(line + "\n")
			p.mu.Unlock()
			if !signalled && strings.Contains(line, ready) {
				signalled = true
				close(up)
			}
		}
	}()
	go func() { p.done <- p.cmd.Wait() }()
	select {
	case <-up:
		return p, nil
	case err := <-p.done:
		return nil, fmt.Errorf("%s exited before it was ready: %v\n%s", name, err, p.lastLog())
	case <-time.After(90 * time.Second):
		p.stop()
		return nil, fmt.Errorf("%s did not log %q within 90s:\n%s", name, ready, p.lastLog())
	case <-ctx.Done():
		p.stop()
		return nil, ctx.Err()
	}
}

func (p *proc) lastLog() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// stop sends SIGTERM and waits for a graceful exit, killing after 30 s.
func (p *proc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// rss reads the process's resident memory now and at its peak, in MiB.
func (p *proc) rss() (now, peak float64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, 0, fmt.Errorf("memory of %s: %w", p.name, err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			now = kb / 1024
		case "VmHWM:":
			peak = kb / 1024
		}
	}
	return now, peak, nil
}
