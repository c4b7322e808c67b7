package hub_test

import (
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/scim"
)

// fOFDSetLKW is Linux's F_OFD_SETLKW (the same number on every
// architecture), which package syscall does not name.
const fOFDSetLKW = 38

// holdIndexRebuild makes the hub's reads wait for another process, as
// they do while one rebuilds the write-ahead log's index (the -shm file):
// it takes the index's write, checkpoint and recovery locks and clears the
// index header, which a process that opens the file first, or finds a
// commit cut short by a crash, rebuilds. A write lock (holdWriteLock) does
// not stop a reader in WAL mode; this does. The locks are open file
// description locks, which conflict with the POSIX locks SQLite takes in
// this process as another process's would. The release lets the hub's
// next read rebuild the index from the log (see the sqlite package's
// holdIndexRebuild).
func holdIndexRebuild(t *testing.T, dataDir string) (release func()) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dataDir, hub.DBFile)+"-shm", os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	// SQLite's unix VFS keeps the index's locks in bytes 120 on: write
	// (120), checkpoint (121), recover (122).
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0, Start: 120, Len: 3}
	if err := syscall.FcntlFlock(f.Fd(), fOFDSetLKW, &lk); err != nil {
		f.Close()
		t.Fatalf("lock the index: %v", err)
	}
	if _, err := f.WriteAt(make([]byte, 96), 0); err != nil { // the header's two copies
		f.Close()
		t.Fatal(err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			lk.Type = syscall.F_UNLCK
			if err := syscall.FcntlFlock(f.Fd(), fOFDSetLKW, &lk); err != nil {
				t.Errorf("unlock the index: %v", err)
			}
			f.Close()
		})
	}
	t.Cleanup(release)
	return release
}

// A read that finds the database locked by another process past the busy
// timeout is answered as a write is: 503 with Retry-After (in the SCIM
// error schema on SCIM), and one error log line that says what to do; not
// 500 and an "internal error" the log calls a bug.
func TestLockedDatabaseReadIs503WithRetryAfter(t *testing.T) {
	var logs logBuffer
	h := hubtest.Start(t, hubtest.Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	// Before the lock: the tokens are made and verified, and the hub
	// remembers them for a moment, so that what fails under the lock is
	// the endpoint's own read (a token's read would be answered 503 too).
	if r := h.API(t, "GET", "/api/v1/sites", nil); r.Status != http.StatusOK {
		t.Fatalf("sites: %d %s", r.Status, r.Body)
	}
	if r := h.Do(t, "GET", "/scim/v2/Users", nil); r.Status != http.StatusOK {
		t.Fatalf("users: %d %s", r.Status, r.Body)
	}
	retryAfter := func(t *testing.T, hd http.Header) {
		t.Helper()
		if s, err := strconv.Atoi(hd.Get("Retry-After")); err != nil || s <= 0 {
			t.Errorf("Retry-After %q, want seconds", hd.Get("Retry-After"))
		}
	}
	oneError := func(t *testing.T, path string) {
		t.Helper()
		if errs := errorsFor(logs.String(), path); len(errs) != 1 || !strings.Contains(errs[0], "shiftgate-hub") || strings.Contains(errs[0], "internal") {
			t.Errorf("want one error log line saying what to do, got %q", errs)
		}
	}

	release := holdIndexRebuild(t, h.DataDir)
	// In parallel: each waits the hub's busy timeout (5 s) once.
	t.Run("under the lock", func(t *testing.T) {
		t.Run("admin API", func(t *testing.T) {
			t.Parallel()
			r := h.API(t, "GET", "/api/v1/sites", nil)
			if r.Status != http.StatusServiceUnavailable {
				t.Fatalf("status %d %s, want 503", r.Status, r.Body)
			}
			retryAfter(t, r.Header)
			if msg, _ := r.JSON()["error"].(string); !strings.Contains(msg, "try again") || !strings.Contains(msg, "locked") {
				t.Errorf("message %q does not say what happened", msg)
			}
			oneError(t, "/api/v1/sites")
		})
		t.Run("SCIM", func(t *testing.T) {
			t.Parallel()
			r := h.Do(t, "GET", "/scim/v2/Users", nil)
			if r.Status != http.StatusServiceUnavailable {
				t.Fatalf("status %d %s, want 503", r.Status, r.Body)
			}
			retryAfter(t, r.Header)
			m := r.JSON()
			if sc, _ := m["schemas"].([]any); len(sc) != 1 || sc[0] != scim.ErrorURN || m["status"] != "503" {
				t.Errorf("not a SCIM error: %s", r.Body)
			}
			if d, _ := m["detail"].(string); !strings.Contains(d, "try again") {
				t.Errorf("detail %q does not say to try again", d)
			}
			oneError(t, "/scim/v2/Users")
		})
	})

	release()
	// The same reads go through once the lock is gone.
	if r := h.API(t, "GET", "/api/v1/sites", nil); r.Status != http.StatusOK {
		t.Errorf("sites after the lock is released: %d %s", r.Status, r.Body)
	}
	if r := h.Do(t, "GET", "/scim/v2/Users", nil); r.Status != http.StatusOK {
		t.Errorf("users after the lock is released: %d %s", r.Status, r.Body)
	}
}
