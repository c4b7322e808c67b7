package hub_test

import (
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store/storetest"
)

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

	release := storetest.HoldIndexRebuild(t, filepath.Join(h.DataDir, hub.DBFile))
	// In parallel: each waits the hub's busy timeout (5 s) once.
	t.Run("under the lock", func(t *testing.T) {
		t.Run("admin API", func(t *testing.T) {
			t.Parallel()
			wantAPIBusy(t, h.API(t, "GET", "/api/v1/sites", nil))
			wantOneOutageLog(t, &logs, "/api/v1/sites")
		})
		t.Run("SCIM", func(t *testing.T) {
			t.Parallel()
			wantSCIMBusy(t, h.Do(t, "GET", "/scim/v2/Users", nil))
			wantOneOutageLog(t, &logs, "/scim/v2/Users")
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
