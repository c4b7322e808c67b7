package sqlite

import (
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/shiftgate/shiftgate/hub/store"
)

// A write lock that another process holds past the busy timeout is
// store.ErrBusy, with the driver's error kept in the chain: the hub answers
// it 503 (try again), not 500.
func TestLockedByAnotherConnectionIsErrBusy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	db := openTest(t, path)
	// The writer pool has one connection: a shorter busy timeout on it
	// keeps the test from waiting the 5 s the hub waits.
	if _, err := db.writer.ExecContext(t.Context(), "PRAGMA busy_timeout = 50"); err != nil {
		t.Fatal(err)
	}
	other, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}

	_, err = db.CreateSite(t.Context(), store.Site{ID: store.NewID(), Name: "north", TimeZone: "UTC", Created: time.Now()})
	if !errors.Is(err, store.ErrBusy) {
		t.Fatalf("write under another connection's lock: %v, want store.ErrBusy", err)
	}
	if errors.Is(err, store.ErrFull) {
		t.Errorf("a lock is not a full disk: %v", err)
	}
	var se sqlite3.Error
	if !errors.As(err, &se) || se.Code != sqlite3.ErrBusy {
		t.Errorf("the driver's error is not in the chain: %v", err)
	}

	// Once the lock is gone, the same write goes through.
	if _, err := conn.ExecContext(t.Context(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateSite(t.Context(), store.Site{ID: store.NewID(), Name: "north", TimeZone: "UTC", Created: time.Now()}); err != nil {
		t.Fatalf("write after the lock was released: %v", err)
	}
}

// Writes queued behind a write that found the lock held for the whole
// busy timeout fail with it: they do not each wait a timeout of their own
// in turn, which made a client's write behind a few others answer after
// several timeouts.
func TestWritesQueuedBehindABusyLockFailTogether(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	db := openTest(t, path)
	const timeout = 500 * time.Millisecond
	if _, err := db.writer.ExecContext(t.Context(), fmt.Sprintf("PRAGMA busy_timeout = %d", timeout.Milliseconds())); err != nil {
		t.Fatal(err)
	}
	other, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(t.Context(), "ROLLBACK")

	const writes = 6
	start := time.Now()
	errs := make([]error, writes)
	var wg sync.WaitGroup
	for i := range writes {
		wg.Go(func() {
			_, errs[i] = db.CreateSite(t.Context(), store.Site{ID: store.NewID(), Name: fmt.Sprintf("site-%d", i), TimeZone: "UTC", Created: time.Now()})
		})
	}
	wg.Wait()
	took := time.Since(start)
	for i, err := range errs {
		if !errors.Is(err, store.ErrBusy) {
			t.Errorf("write %d: %v, want store.ErrBusy", i, err)
		}
	}
	// One timeout, and a second for a write that came after the first
	// one failed; not one per write.
	if took > 2*timeout+timeout/2 {
		t.Errorf("%d writes under a held lock took %v: more than two busy timeouts of %v", writes, took, timeout)
	}
}

// A database that cannot grow ("database or disk is full": the disk, a
// quota, or as here max_page_count) is store.ErrFull.
func TestDatabaseFullIsErrFull(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	// A max_page_count below the file's size is the file's size: not one
	// page more. The writer pool has one connection, which keeps it.
	if _, err := db.writer.ExecContext(t.Context(), "PRAGMA max_page_count = 1"); err != nil {
		t.Fatal(err)
	}
	var err error
	for i := 0; i < 10000 && err == nil; i++ {
		_, err = db.CreateSite(t.Context(), store.Site{ID: store.NewID(), Name: fmt.Sprintf("site-%05d", i), TimeZone: "UTC", Created: time.Now()})
	}
	if !errors.Is(err, store.ErrFull) {
		t.Fatalf("write past max_page_count: %v, want store.ErrFull", err)
	}
	if errors.Is(err, store.ErrBusy) {
		t.Errorf("a full disk is not a lock: %v", err)
	}
	var se sqlite3.Error
	if !errors.As(err, &se) || se.Code != sqlite3.ErrFull {
		t.Errorf("the driver's error is not in the chain: %v", err)
	}
	// Reads go on.
	if _, err := db.ListSites(t.Context()); err != nil {
		t.Errorf("read from a full database: %v", err)
	}
}
