package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
)

// Sync syncs the log as it stands: it copies nothing into the database,
// and the log keeps its frames. A cancelled context is refused.
func TestSync(t *testing.T) {
	db := openByHand(t, filepath.Join(t.TempDir(), "hub.db"))
	w := newSessionWriter(t, db)
	w.write(t)
	before := logFrames(t, db)
	if before == 0 {
		t.Fatal("the write left no frame in the log")
	}
	if err := db.Sync(t.Context()); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if got := logFrames(t, db); got != before {
		t.Errorf("the log holds %d frames after Sync, want the %d it had", got, before)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := db.Sync(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Sync with a cancelled context: %v", err)
	}
}
