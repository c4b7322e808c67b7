package session

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestCleanupGivesUpWhenContextDone: a Cleanup whose ctx is done starts
// no step (no leftover removed, no clipboard cleared) and fails with ctx's
// error; the next one, with a live ctx, does all of it.
func TestCleanupGivesUpWhenContextDone(t *testing.T) {
	state := t.TempDir()
	c := &clip{}
	m := newManager(t, state, 200*time.Millisecond, c)
	var left []string
	for _, id := range []string{"s0", "s1"} {
		dir := filepath.Join(state, "sessions", id)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		left = append(left, dir)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := m.Cleanup(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cleanup with its context done: %v, want %v", err, context.Canceled)
	}
	for _, dir := range left {
		if _, err := os.Lstat(dir); err != nil {
			t.Errorf("%s: %v, want it left to the next try", dir, err)
		}
	}
	if n := c.n.Load(); n != 0 {
		t.Errorf("clipboard cleared %d times by a cleanup that gave up, want 0", n)
	}

	if err := m.Cleanup(t.Context()); err != nil {
		t.Fatalf("cleanup: %v", err)
	}
	for _, dir := range left {
		if _, err := os.Lstat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: %v, want it removed", dir, err)
		}
	}
	if n := c.n.Load(); n != 1 {
		t.Errorf("clipboard cleared %d times, want 1", n)
	}
}
