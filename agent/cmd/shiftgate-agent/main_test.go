package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

type intentRec struct {
	taps       []string
	signouts   int
	activities int
	opens      [][2]string // session ID, app
	live       string      // LiveSession's answer
}

func (r *intentRec) Tap(name string) { r.taps = append(r.taps, name) }
func (r *intentRec) Signout()        { r.signouts++ }
func (r *intentRec) Activity()       { r.activities++ }
func (r *intentRec) OpenApp(sessionID, app string) {
	r.opens = append(r.opens, [2]string{sessionID, app})
}
func (r *intentRec) LiveSession() string { return r.live }

func TestReadCommands(t *testing.T) {
	var rec intentRec
	var stderr bytes.Buffer
	in := "tap ana\n  signout  \n\nreboot\ntap\ntap a b\nactivity\ntap ben\n"
	readCommands(strings.NewReader(in), &rec, &stderr, slog.New(slog.DiscardHandler)) // returns at EOF
	if !slices.Equal(rec.taps, []string{"ana", "ben"}) || rec.signouts != 1 {
		t.Errorf("taps %v, signouts %d", rec.taps, rec.signouts)
	}
	// Every non-empty line is worker input, understood or not.
	if rec.activities != 7 {
		t.Errorf("activities %d, want 7 (one per non-empty line)", rec.activities)
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("stderr:\n%s", stderr.String())
	}
	for _, l := range lines {
		if !strings.Contains(l, `accepted commands are "tap NAME", "signout", "activity" and "open APP [SESSION_ID]"`) {
			t.Errorf("stderr line %q", l)
		}
	}

	// A line too long for a command is ignored whole, and the commands
	// after it still work; so does a last line without a newline.
	rec, stderr = intentRec{}, bytes.Buffer{}
	in = "tap ana\n" + strings.Repeat("x", 70<<10) + "\ntap ben\nsignout"
	readCommands(strings.NewReader(in), &rec, &stderr, slog.New(slog.DiscardHandler))
	if !slices.Equal(rec.taps, []string{"ana", "ben"}) || rec.signouts != 1 {
		t.Errorf("after an over-long line: taps %v, signouts %d; want [ana ben], 1", rec.taps, rec.signouts)
	}
	if !strings.Contains(stderr.String(), "was ignored") || strings.Count(stderr.String(), "\n") != 1 {
		t.Errorf("stderr after an over-long line: %q; want one line saying it was ignored", stderr.String())
	}
}

func TestRunErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{name: "no command", args: nil, code: 2, want: "usage:"},
		{name: "unknown command", args: []string{"reboot"}, code: 2, want: `unknown command "reboot"`},
		{name: "help", args: []string{"help"}, code: 0},
		{name: "bad authenticator", args: []string{"run", "--state", "x", "--authenticator", "usb"}, code: 2, want: "want soft:DIR or fido2"},
		{name: "run without flags", args: []string{"run"}, code: 2, want: "--state and --authenticator are required"},
		{name: "not enrolled", args: []string{"run", "--state", "/nonexistent/state", "--authenticator", "soft:/tmp/x"}, code: 1, want: "enroll this kiosk first"},
		{name: "enroll without flags", args: []string{"enroll"}, code: 2, want: "enroll needs --hub, --ca, --code, --state, --profile"},
		{name: "register without flags", args: []string{"register"}, code: 2, want: "--state and --authenticator are required"},
		{name: "register soft without key", args: []string{"register", "--state", "x", "--authenticator", "soft:/tmp/x"}, code: 2, want: "--key NAME is required with --authenticator soft:DIR"},
		{name: "register bad timeout", args: []string{"register", "--state", "x", "--authenticator", "soft:/tmp/x", "--key", "a", "--timeout", "0s"}, code: 2, want: "--timeout 0s: must be positive"},
		{name: "register not enrolled", args: []string{"register", "--state", "/nonexistent/state", "--authenticator", "soft:/tmp/x", "--key", "a"}, code: 1, want: "enroll this kiosk first"},
		// Every usage mistake exits 2, as the flag package's own do.
		{name: "unknown flag", args: []string{"run", "--stat", "x"}, code: 2, want: "flag provided but not defined: -stat"},
		{name: "extra arguments", args: []string{"enroll", "now"}, code: 2, want: `unexpected arguments ["now"]`},
		{name: "bad warning", args: []string{"run", "--state", "x", "--authenticator", "soft:/tmp/x", "--warning", "-1m"}, code: 2, want: "--warning -1m0s: must be positive"},
		{name: "register help", args: []string{"register", "-h"}, code: 0, want: "-timeout duration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), tc.args, strings.NewReader(""), &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tc.want)
			}
		})
	}
}

// TestEnrollThenRun drives the binary's two commands: enroll against an
// in-test hub endpoint, then run with the hub's device channel missing. A
// tap is refused as hub_unreachable on stdout, EOF on stdin does not stop
// the agent, and cancelling (SIGTERM) does.
func TestEnrollThenRun(t *testing.T) {
	hub := newCodeHub(t)
	state := filepath.Join(t.TempDir(), "state")

	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"enroll", "--hub", hub.url, "--ca", hub.ca, "--code", "c0de", "--state", state, "--profile", "ward"},
		strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("enroll: exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "enrolled as device dev-1") {
		t.Errorf("enroll output %q", stdout.String())
	}

	ctx, cancel := context.WithCancel(t.Context())
	out := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"run", "--state", state, "--authenticator", "soft:" + t.TempDir()},
			strings.NewReader("tap ana\n"), out, io.Discard)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "login.refused") {
		if time.Now().After(deadline) {
			t.Fatalf("no login.refused; stdout %q", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case code := <-done:
		t.Fatalf("agent stopped at stdin EOF with exit %d", code)
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d after cancel", code)
	}
	var ev map[string]any
	line := strings.Split(strings.TrimSpace(out.String()), "\n")[0]
	if err := json.Unmarshal([]byte(line), &ev); err != nil || ev["event"] != "login.refused" || ev["time"] == "" {
		t.Errorf("stdout line %q: %v", line, err)
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
