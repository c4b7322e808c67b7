package console

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

// A full disk (store.ErrFull) is 507 on the console, not "internal
// error", with no Retry-After (it does not clear by itself), logged once
// at error level with what to do. (A held lock's 503 is tested end to end
// in TestConsoleLockedDatabaseIs503.)
func TestConsoleFullDiskIs507(t *testing.T) {
	var logs bytes.Buffer
	c := &Console{cfg: Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))}}
	err := fmt.Errorf("create account: %w", fmt.Errorf("%w: commit: database or disk is full", store.ErrFull))
	r := httptest.NewRequest("POST", "/console/accounts", nil)
	r.Header.Set("Accept", "application/json")
	w := httptest.NewRecorder()
	c.fail(w, r, err)
	if w.Code != http.StatusInsufficientStorage {
		t.Fatalf("status %d %s, want 507", w.Code, w.Body)
	}
	var body map[string]string
	if json.Unmarshal(w.Body.Bytes(), &body) != nil || !strings.Contains(body["error"], "disk is full") {
		t.Errorf("body %s does not say what happened", w.Body)
	}
	if w.Header().Get("Retry-After") != "" {
		t.Errorf("Retry-After %q", w.Header().Get("Retry-After"))
	}
	if n := strings.Count(logs.String(), "level=ERROR"); n != 1 || !strings.Contains(logs.String(), "free space") {
		t.Errorf("want one error log line saying what to do, got:\n%s", logs.String())
	}
}
