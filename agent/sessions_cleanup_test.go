package agent

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// TestSessionsCleanupRetriesUntilDone: the clean-up NewSessions does of a
// crashed run's session fails (here its clipboard cannot be cleared, the
// last worker's data maybe still in it). NewSessions still returns, and
// Sessions.Cleanup (the agent's Config.Cleanup) fails for as long as the
// work is not done, although the session's directory went at the first
// try; once it succeeds it does nothing more.
func TestSessionsCleanupRetriesUntilDone(t *testing.T) {
	dir := enrolledDir(t, "generic-x86")
	left := filepath.Join(dir, "sessions", "s0")
	mustNoErr(t, os.MkdirAll(left, 0o700))
	mustNoErr(t, os.WriteFile(filepath.Join(left, "notes.txt"), []byte("the last worker's"), 0o600))
	var fail atomic.Bool
	var clears atomic.Int32
	fail.Store(true)
	s, err := NewSessions(dir, slog.New(slog.DiscardHandler), WithClipboard(func(context.Context) error {
		clears.Add(1)
		if fail.Load() {
			return errors.New("no display")
		}
		return nil
	}))
	mustNoErr(t, err)
	t.Cleanup(func() { s.Close() })
	if _, err := os.Lstat(left); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("leftover session directory: %v, want it removed", err)
	}
	if n := clears.Load(); n != 1 {
		t.Fatalf("clipboard cleared %d times by NewSessions, want 1", n)
	}

	if err := s.Cleanup(t.Context()); err == nil {
		t.Error("Cleanup succeeded with the clipboard still not cleared")
	}
	fail.Store(false)
	if err := s.Cleanup(t.Context()); err != nil {
		t.Errorf("Cleanup: %v", err)
	}
	if n := clears.Load(); n != 3 {
		t.Errorf("clipboard cleared %d times, want 3 (one per try)", n)
	}
	fail.Store(true)
	if err := s.Cleanup(t.Context()); err != nil {
		t.Errorf("Cleanup after one succeeded: %v, want nothing done", err)
	}
	if n := clears.Load(); n != 3 {
		t.Errorf("clipboard cleared %d times, want no more once the clean-up succeeded", n)
	}
}

// TestSessionsCleanupNothingLeft: with nothing left behind, Cleanup has
// nothing to do.
func TestSessionsCleanupNothingLeft(t *testing.T) {
	s, err := NewSessions(enrolledDir(t, "generic-x86"), slog.New(slog.DiscardHandler))
	mustNoErr(t, err)
	t.Cleanup(func() { s.Close() })
	if err := s.Cleanup(t.Context()); err != nil {
		t.Errorf("Cleanup: %v", err)
	}
}
