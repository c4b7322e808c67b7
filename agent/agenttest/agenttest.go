// Package agenttest runs a kiosk agent binary (shiftgate-agent run, or
// shiftgate-kiosk, which prints the same events) as a real process for
// end-to-end tests: it reads the JSON event lines the agent prints on
// stdout, checking each against the contract (a JSON object with "event"
// and "time"), and writes commands to its stdin.
package agenttest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Proc is a running agent process.
type Proc struct {
	t      testing.TB
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	events chan map[string]any
	mu     sync.Mutex
	log    bytes.Buffer // stderr
}

// Start runs bin with args; name labels it in failures. The process is
// stopped when the test ends.
func Start(t testing.TB, name, bin string, args ...string) *Proc {
	t.Helper()
	p := &Proc{t: t, name: name, events: make(chan map[string]any, 64)}
	p.cmd = exec.Command(bin, args...)
	stdin, err := p.cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.stdin = stdin
	p.cmd.Stderr = logWriter{p}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var ev map[string]any
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				t.Errorf("%s printed a line that is not JSON: %q", name, sc.Text())
				continue
			}
			if ev["event"] == nil || ev["time"] == nil {
				t.Errorf("%s event without event and time: %q", name, sc.Text())
			}
			p.events <- ev
		}
		close(p.events)
	}()
	t.Cleanup(p.Stop)
	return p
}

type logWriter struct{ p *Proc }

func (w logWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.log.Write(b)
}

// Name is the label given to Start.
func (p *Proc) Name() string { return p.name }

// Send writes one command line (e.g. "tap dana", "signout") to stdin.
func (p *Proc) Send(line string) {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		p.t.Fatalf("%s stdin: %v", p.name, err)
	}
}

// Wait returns the next event named name, skipping others, and fails the
// test on timeout, on exit, or on a login or registration refusal that
// was not what it waited for.
func (p *Proc) Wait(name string, timeout time.Duration) map[string]any {
	p.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-p.events:
			if !ok {
				p.t.Fatalf("%s exited while waiting for %s; log:\n%s", p.name, name, p.Logs())
			}
			if ev["event"] == name {
				return ev
			}
			if ev["event"] == "login.refused" || ev["event"] == "credential.refused" {
				p.t.Fatalf("%s: %v while waiting for %s; log:\n%s", p.name, ev, name, p.Logs())
			}
		case <-deadline:
			p.t.Fatalf("%s: no %s within %v; log:\n%s", p.name, name, timeout, p.Logs())
		}
	}
}

// Next returns the next event, or false if none came within timeout or
// the process ended.
func (p *Proc) Next(timeout time.Duration) (map[string]any, bool) {
	select {
	case ev, ok := <-p.events:
		return ev, ok
	case <-time.After(timeout):
		return nil, false
	}
}

// Logs returns what the process wrote to stderr so far.
func (p *Proc) Logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// Stop ends the process with SIGTERM, as an init system would, and waits
// for it; a second call does nothing.
func (p *Proc) Stop() {
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		_ = p.cmd.Wait()
	}
}
