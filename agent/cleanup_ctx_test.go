package agent

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// TestStartupCleanupGivesUpWithItsContext: a crashed run left a session,
// and the clipboard cannot be cleared: NewSessions' clear fails, and every
// later one waits for a UI loop that does not run, until its context is
// done. Each try of the agent's start-up clean-up (Sessions.Cleanup) gives
// up when the try's TeardownTimeout is up: cleanup.failed is emitted, the
// kiosk stays locked, and the clean-up is tried again, with the clipboard
// still owed; once it can be cleared, cleanup.done.
func TestStartupCleanupGivesUpWithItsContext(t *testing.T) {
	dir := enrolledDir(t, "generic-x86")
	left := filepath.Join(dir, "sessions", "s0")
	mustNoErr(t, os.MkdirAll(left, 0o700))
	mustNoErr(t, os.WriteFile(filepath.Join(left, "notes.txt"), []byte("the last worker's"), 0o600))

	// release ends a clear that waits for ever (one that never got a
	// context that ends), so that the agent can stop when the test fails.
	release := make(chan struct{})
	var clears atomic.Int32
	var works atomic.Bool
	s, err := NewSessions(dir, slog.New(slog.DiscardHandler), WithClipboard(func(ctx context.Context) error {
		if clears.Add(1) == 1 {
			return errors.New("no display")
		}
		if works.Load() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-release:
			return errors.New("released by the test")
		}
	}))
	mustNoErr(t, err)
	t.Cleanup(func() { s.Close() })

	h := startHarness(t, dir, t.TempDir(), newFakeClock(), func(_ *harness, cfg *Config) {
		cfg.Cleanup = s.Cleanup
		cfg.TeardownTimeout = 20 * time.Millisecond
	})
	t.Cleanup(func() { close(release) }) // before the harness stops: cleanups run last first

	if e := h.ev.expect(t, EventCleanupFailed)[0]; e.Attempt != 1 {
		t.Errorf("cleanup.failed = %+v, want attempt 1", e)
	}
	h.wantState(Locked)
	h.clock.Advance(teardownRetryDelay(1))
	if e := h.ev.expect(t, EventCleanupFailed)[0]; e.Attempt != 2 {
		t.Errorf("cleanup.failed = %+v, want attempt 2", e)
	}
	if n := clears.Load(); n != 3 {
		t.Errorf("clipboard cleared %d times, want 3 (NewSessions, then one per try)", n)
	}

	works.Store(true)
	h.clock.Advance(teardownRetryDelay(2))
	h.ev.expect(t, EventCleanupDone)
	if n := clears.Load(); n != 4 {
		t.Errorf("clipboard cleared %d times, want 4", n)
	}
}
