package hub

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub/store"
)

// A full disk (store.ErrFull, as hub/store/sqlite returns SQLITE_FULL: see
// its TestDatabaseFullIsErrFull) is 507 Insufficient Storage on the admin
// API (and the agent API, which shares writeStoreUnavailable), not
// "internal error", and is logged once at error level with what to do.
// The 503 of a held lock is tested end to end in
// TestLockedDatabaseIs503WithRetryAfter.
func TestFullDiskIs507(t *testing.T) {
	var logs bytes.Buffer
	s := &Server{cfg: Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))}}
	err := fmt.Errorf("store enrollment code: %w", fmt.Errorf("%w: commit: database or disk is full", store.ErrFull))

	w := httptest.NewRecorder()
	s.writeAPIError(w, httptest.NewRequest("POST", "/api/v1/devices/codes", nil), err)
	if w.Code != http.StatusInsufficientStorage {
		t.Fatalf("status %d %s, want 507", w.Code, w.Body)
	}
	var body apiError
	if json.Unmarshal(w.Body.Bytes(), &body) != nil || !strings.Contains(body.Error, "disk is full") || !strings.Contains(body.Error, "nothing was changed") {
		t.Errorf("body %s does not say what happened", w.Body)
	}
	if w.Header().Get("Retry-After") != "" {
		t.Errorf("Retry-After %q: a full disk does not clear by itself", w.Header().Get("Retry-After"))
	}
	if n := strings.Count(logs.String(), "level=ERROR"); n != 1 || !strings.Contains(logs.String(), "free space") {
		t.Errorf("want one error log line saying what to do, got:\n%s", logs.String())
	}
}
