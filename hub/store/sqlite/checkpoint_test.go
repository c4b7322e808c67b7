package sqlite

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// openByHand opens a store whose background checkpoint passes never run:
// the test runs them itself with db.checkpoint, so how much log a pass
// finds does not depend on how fast the machine writes. The deferred index
// passes are held too, so that the test's writes are the only ones: a
// checkpoint that reads the log's index header while another goroutine
// commits may find it half written and report busy, which skips the pass.
func openByHand(t *testing.T, path string) *DB {
	t.Helper()
	db, err := open(t.Context(), path, make(chan time.Time))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	release := db.HoldIndexes(time.Hour)
	t.Cleanup(func() {
		release()
		if err := db.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return db
}

// logFrames returns how many frames the write-ahead log holds, without
// checkpointing anything. A NOOP checkpoint that reads the log's index
// header while a commit rewrites it reports busy; it is asked again.
func logFrames(t *testing.T, db *DB) int {
	t.Helper()
	for {
		var busy, frames, copied int
		if err := db.checkpointer.QueryRowContext(t.Context(), "PRAGMA wal_checkpoint(NOOP)").Scan(&busy, &frames, &copied); err != nil {
			t.Fatalf("count the log: %v", err)
		}
		if busy == 0 {
			return frames
		}
		time.Sleep(time.Millisecond)
	}
}

// logBytes is how long the log file is when it holds frames frames.
func logBytes(t *testing.T, db *DB, frames int) int64 {
	t.Helper()
	var pageSize int64
	if err := db.reader.QueryRowContext(t.Context(), "PRAGMA page_size").Scan(&pageSize); err != nil {
		t.Fatal(err)
	}
	const walHeader, frameHeader = 32, 24
	return walHeader + int64(frames)*(frameHeader+pageSize)
}

// sessionWriter writes sessions of about a page each, each in its own
// transaction (a few pages of log), and counts the log after each write.
type sessionWriter struct {
	db       *DB
	n        int // sessions written
	blob     string
	now      time.Time
	last     int // frames in the log after the last write or observe
	restarts int // times the log was seen to start over
}

func newSessionWriter(t *testing.T, db *DB) *sessionWriter {
	return &sessionWriter{db: db, blob: strings.Repeat("x", 3000), now: time.Now(), last: logFrames(t, db)}
}

// observe counts the log; it returns by how many frames the log has grown
// since it was last counted (all of it, if it started over meanwhile).
func (w *sessionWriter) observe(t *testing.T) int {
	t.Helper()
	n := logFrames(t, w.db)
	grown := n - w.last
	if n < w.last {
		w.restarts++
		grown = n
	}
	w.last = n
	return grown
}

func (w *sessionWriter) write(t *testing.T) int {
	t.Helper()
	w.n++
	s := store.Session{ID: fmt.Sprintf("s%06d", w.n), UserID: "u1", DeviceID: "d1", Role: w.blob, Started: w.now, Expires: w.now.Add(time.Hour)}
	if _, err := w.db.CreateSession(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	return w.observe(t)
}

// writeFrames writes until the log has grown by at least frames frames.
func (w *sessionWriter) writeFrames(t *testing.T, frames int) {
	t.Helper()
	for written := 0; written < frames; {
		written += w.write(t)
	}
}

// reading begins a read that keeps its snapshot until release: it keeps
// the checkpoints from copying what is committed after it, and the log
// from starting over.
func reading(t *testing.T, db *DB) (tx *sql.Tx, release func()) {
	t.Helper()
	tx, err := db.reader.BeginTx(t.Context(), &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM sessions").Scan(&n); err != nil {
		t.Fatal(err)
	}
	done := false
	release = func() {
		if !done {
			done = true
			if err := tx.Rollback(); err != nil {
				t.Errorf("end the read: %v", err)
			}
		}
	}
	t.Cleanup(release)
	return tx, release
}

// TestWALStartsOver: under steady writes with readers always busy, the
// write-ahead log starts over again and again instead of growing without
// bound, and never grows much past walForceFrames.
//
// The test runs the passes itself, one after every roundFrames frames of
// log, so that how long the log grows between passes does not depend on
// the machine. As under load, the background checkpoints of a pass never
// copy the whole log: a read that began before the round's writes is still
// running, and more is committed (midFrames) before the writer's
// checkpoint. So the log starts over only through the writer's checkpoint:
// a pass that finds walRestartFrames or more lets the log start over at
// the next write, unless one of the busy readers spoils it with an older
// snapshot; then the log grows a round per pass until a pass forces it at
// walForceFrames, which fails only if a reader keeps one snapshot for
// walForceWait. So no pass may find more than walForceFrames and two
// rounds (one for a forced restart that a descheduled reader made give
// up), while without restarts the log would reach four times that.
func TestWALStartsOver(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	db := openByHand(t, path)
	ctx := t.Context()

	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-stop:
				return
			default:
			}
			_, _ = db.GetUser(ctx, "u1")
		}
	}()
	defer func() {
		close(stop)
		<-stopped
	}()

	const (
		roundFrames = walRestartFrames / 2
		midFrames   = roundFrames / 8
		bound       = walForceFrames + 2*(roundFrames+midFrames)
		rounds      = 4 * bound / roundFrames
	)
	w := newSessionWriter(t, db)
	longest := 0
	for range rounds {
		// After a write the log holds frames not copied yet, so the read
		// takes a snapshot that the checkpoints must leave alone.
		w.write(t)
		_, release := reading(t, db)
		w.writeFrames(t, roundFrames)
		if w.last > bound {
			t.Fatalf("a pass found %d frames in the log after %d restarts, want at most %d: it did not start over", w.last, w.restarts, bound)
		}
		longest = max(longest, w.last)
		db.midPass = func() {
			w.writeFrames(t, midFrames)
			release()
		}
		db.checkpoint(ctx)
		release()
	}
	// Every pass found the log within the bound, so it started over at
	// least once in every bound frames written.
	if want := rounds * roundFrames / bound; w.restarts < want {
		t.Errorf("the log started over %d times, want at least %d", w.restarts, want)
	}
	st, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	if limit := logBytes(t, db, bound); st.Size() > limit {
		t.Errorf("write-ahead log file is %d MiB, want at most %d MiB", st.Size()>>20, limit>>20)
	}
	t.Logf("%d rounds of %d frames: the log started over %d times, at most %d frames at a pass; file %d MiB",
		rounds, roundFrames, w.restarts, longest, st.Size()>>20)
}

// TestForcedRestart: whether a pass forces the log to start over is
// decided on the length the writer counts with every write held, not on
// the count the pass began with (under load the log grows by thousands of
// frames meanwhile, and deciding on the older count left a log past
// walForceFrames to the passive way, which a busy reader spoils, for one
// more tick). A reader that keeps an older snapshot makes the forced
// restart give up after walForceWait without harm, and the next pass
// forces it.
func TestForcedRestart(t *testing.T) {
	db := openByHand(t, filepath.Join(t.TempDir(), "hub.db"))
	ctx := t.Context()
	w := newSessionWriter(t, db)
	count := func(q querier) int {
		t.Helper()
		var n int
		if err := q.QueryRowContext(ctx, "SELECT COUNT(*) FROM sessions").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// The pass begins with the log past walRestartFrames but short of
	// walForceFrames; by the writer's turn it has passed walForceFrames.
	// A read that began before keeps the background checkpoints from
	// copying all of it, and ends in the meantime.
	w.write(t)
	_, release := reading(t, db)
	w.writeFrames(t, walRestartFrames)
	began := w.last
	db.midPass = func() {
		w.writeFrames(t, walForceFrames)
		release()
	}
	db.checkpoint(ctx)
	db.midPass = nil
	if began >= walForceFrames {
		t.Fatalf("the pass began with %d frames, want fewer than %d", began, walForceFrames)
	}
	if n := db.forced.Load(); n != 1 {
		t.Fatalf("the pass that found %d frames at the writer's turn forced %d restarts, want 1", w.last, n)
	}
	restarts := w.restarts
	if w.write(t); w.restarts != restarts+1 {
		t.Fatalf("the write after the forced restart left %d frames in the log: it did not start over", w.last)
	}

	// Past walForceFrames again, with a reader on a snapshot older than
	// the log's end, which it keeps: the forced restart gives up after
	// walForceWait (not the busy timeout), the log goes on, and the reader
	// still reads its snapshot.
	w.writeFrames(t, walForceFrames)
	tx, release := reading(t, db)
	seen := count(tx)
	w.write(t)
	start := time.Now()
	db.checkpoint(ctx)
	if waited := time.Since(start); waited >= busyTimeout {
		t.Errorf("the pass waited %v for the reader, want about walForceWait (%v)", waited, walForceWait)
	}
	if n := db.forced.Load(); n != 2 {
		t.Fatalf("%d restarts forced, want 2", n)
	}
	held := w.last
	if w.write(t); w.last <= held {
		t.Fatalf("the log holds %d frames after a write (%d before) under a reader's snapshot: it started over", w.last, held)
	}
	if n := count(tx); n != seen {
		t.Fatalf("the reader's snapshot holds %d sessions, want %d", n, seen)
	}

	// With the reader gone, the next pass forces the log to start over.
	release()
	db.checkpoint(ctx)
	if n := db.forced.Load(); n != 3 {
		t.Fatalf("%d restarts forced, want 3", n)
	}
	restarts = w.restarts
	if w.write(t); w.restarts != restarts+1 {
		t.Fatalf("the write after the reader left and a pass forced a restart left %d frames in the log: it did not start over", w.last)
	}
	if n := count(db.reader); n != w.n {
		t.Errorf("after the restarts: %d sessions, want %d", n, w.n)
	}
}
