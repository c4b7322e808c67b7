package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// firstRead closes reading when enroll first reads from r.
type firstRead struct {
	r       io.Reader
	once    sync.Once
	reading chan struct{}
}

func (f *firstRead) Read(p []byte) (int, error) {
	f.once.Do(func() { close(f.reading) })
	return f.r.Read(p)
}

// TestEnrollCodeStdinInterrupted: "--code -" waiting for a line that does
// not come (an installer at a terminal who has not typed it, a pipe whose
// writer hangs) ends when the command is interrupted. main catches
// SIGINT and SIGTERM into the context, so a read that ignored it left
// Ctrl-C unanswered, and a supervisor's stop too, until a line or end of
// file came. Nothing is sent to the hub and nothing is enrolled.
func TestEnrollCodeStdinInterrupted(t *testing.T) {
	t.Setenv(codeEnv, "")
	hub := newCodeHub(t)
	state := filepath.Join(t.TempDir(), "state")
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.Close() }) // ends the read left waiting
	stdin := &firstRead{r: pr, reading: make(chan struct{})}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	args := []string{"enroll", "--hub", hub.url, "--ca", hub.ca, "--state", state, "--profile", "ward", "--code", "-"}
	var stdout, stderr bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, stdin, &stdout, &stderr) }()
	<-stdin.reading
	cancel() // as SIGINT does

	var code int
	select {
	case code = <-done:
	case <-time.After(time.Minute):
		// Not a measure of speed: without an end here the test would
		// hang until go test's own timeout.
		pw.Close()
		<-done
		t.Fatalf("enroll still waited for standard input a minute after it was interrupted; stderr %q", stderr.String())
	}
	if code != 1 {
		t.Errorf("exit %d, want 1; stderr %q", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "--code -: stopped waiting for the code on standard input: context canceled") {
		t.Errorf("stderr %q does not say that the wait for the code was stopped", stderr.String())
	}
	if got := hub.got(); len(got) != 0 {
		t.Errorf("hub was sent codes %q", got)
	}
	if _, err := os.Stat(filepath.Join(state, "state.json")); err == nil {
		t.Error("enrolled after an interrupt")
	}
}
