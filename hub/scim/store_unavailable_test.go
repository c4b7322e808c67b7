package scim

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

// A locked database (store.ErrBusy) is 503 with Retry-After and a full
// disk (store.ErrFull) 507, in the SCIM error schema, each logged once at
// error level with what to do; neither is "internal error". (The 503 is
// tested end to end, with a lock held on a real file, in hub's
// TestLockedDatabaseIs503WithRetryAfter.)
func TestStoreUnavailableStatus(t *testing.T) {
	for _, c := range []struct {
		name       string
		err        error
		status     int
		retryAfter bool
		detail     string
	}{
		{"busy", fmt.Errorf("create user %q: %w", "ann", fmt.Errorf("%w: begin transaction: database is locked", store.ErrBusy)), http.StatusServiceUnavailable, true, "try again"},
		{"full", fmt.Errorf("create user %q: %w", "ann", fmt.Errorf("%w: commit: database or disk is full", store.ErrFull)), http.StatusInsufficientStorage, false, "disk is full"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var logs bytes.Buffer
			h := &Handler{cfg: HandlerConfig{Logger: slog.New(slog.NewTextHandler(&logs, nil))}}
			w := httptest.NewRecorder()
			h.writeError(w, httptest.NewRequest("POST", "/scim/v2/Users", nil), c.err)
			if w.Code != c.status {
				t.Fatalf("status %d %s, want %d", w.Code, w.Body, c.status)
			}
			var m map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
				t.Fatal(err)
			}
			if sc, _ := m["schemas"].([]any); len(sc) != 1 || sc[0] != ErrorURN || m["status"] != fmt.Sprint(c.status) {
				t.Errorf("not a SCIM error: %s", w.Body)
			}
			if d, _ := m["detail"].(string); !strings.Contains(d, c.detail) {
				t.Errorf("detail %q, want it to say %q", d, c.detail)
			}
			if got := w.Header().Get("Retry-After") != ""; got != c.retryAfter {
				t.Errorf("Retry-After %q", w.Header().Get("Retry-After"))
			}
			if n := strings.Count(logs.String(), "level=ERROR"); n != 1 || !strings.Contains(logs.String(), "do=") {
				t.Errorf("want one error log line saying what to do, got:\n%s", logs.String())
			}
		})
	}
}
