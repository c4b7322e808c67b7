package console_test

import (
	"bytes"
	"database/sql"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	_ "github.com/mattn/go-sqlite3"

	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// syncBuffer is a log sink safe for the hub's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A console page whose write finds the database locked by another process
// (a CLI command, the sqlite3 shell) past the busy timeout says so with a
// 503 and Retry-After, not "internal error", and the hub logs it once, at
// error level, with what to do.
func TestConsoleLockedDatabaseIs503(t *testing.T) {
	var logs syncBuffer
	h := hubtest.Start(t, hubtest.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	admin := bootstrapAdmin(t, h)
	admin.loadCSRF()

	other, err := sql.Open("sqlite3", "file:"+filepath.Join(h.DataDir, hub.DBFile)+"?_busy_timeout=5000")
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

	r := admin.post("/console/accounts", url.Values{"name": {"ivy"}, "role": {"auditor"}})
	if r.Status != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503: %s", r.Status, r.Body)
	}
	if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s <= 0 {
		t.Errorf("Retry-After %q, want seconds", r.Header.Get("Retry-After"))
	}
	if !strings.Contains(r.Body, "locked by another program") || !strings.Contains(r.Body, "try again") {
		t.Errorf("the page does not say what happened:\n%s", r.Body)
	}
	var errs []string
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "level=ERROR") && strings.Contains(line, "path=/console/accounts") {
			errs = append(errs, line)
		}
	}
	if len(errs) != 1 || !strings.Contains(errs[0], "shiftgate-hub") {
		t.Errorf("want one error log line saying what to do, got %q", errs)
	}
}
