package hub_test

import (
	"bufio"
	"bytes"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs"
	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/scim"
)

// holdWriteLock takes the database's write lock from a second connection,
// as a CLI command or the sqlite3 shell in another process would, until
// the returned func releases it (or the test ends).
func holdWriteLock(t *testing.T, dataDir string) (release func()) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dataDir, hub.DBFile)+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	released := false
	release = func() {
		if !released {
			released = true
			conn.ExecContext(t.Context(), "ROLLBACK")
			conn.Close()
		}
	}
	t.Cleanup(release)
	return release
}

// errorsFor returns the messages of the ERROR records logged (JSON lines)
// about requests to path.
func errorsFor(logs string, path string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) != nil || rec["level"] != "ERROR" || rec["path"] != path {
			continue
		}
		out = append(out, rec["msg"].(string)+" "+sc.Text())
	}
	return out
}

// A write lock another process holds past the busy timeout is not the
// client's fault and not a hub bug: the admin API, the agent API and SCIM
// answer 503 with Retry-After and say what happened, and the hub logs one
// error per request that says what to do.
func TestLockedDatabaseIs503WithRetryAfter(t *testing.T) {
	var logs logBuffer
	h := hubtest.Start(t, hubtest.Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	r := h.API(t, "POST", "/api/v1/devices/codes", map[string]string{"name": "back-1", "site": "north"}) // the token is stored before the lock
	code, _ := r.JSON()["code"].(string)
	if r.Status != http.StatusCreated || code == "" {
		t.Fatalf("device code: %d %s", r.Status, r.Body)
	}
	key, err := certs.NewDeviceKey()
	if err != nil {
		t.Fatal(err)
	}
	csr, err := certs.NewCSR(key, "back-1")
	if err != nil {
		t.Fatal(err)
	}
	enroll, _ := json.Marshal(wire.EnrollRequest{Code: code, CSR: csr, Profile: "generic-x86"})
	postEnroll := func(t *testing.T) (int, http.Header, []byte) {
		resp, err := h.Client.Post(h.URL+wire.EnrollPath, "application/json", bytes.NewReader(enroll))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, b
	}

	release := holdWriteLock(t, h.DataDir)
	// In parallel, as clients come: each waits the busy timeout once (twice
	// for a request that also notes its token's use), not once more for
	// every write queued before its own.
	t.Run("under the lock", func(t *testing.T) {
		t.Run("admin API", func(t *testing.T) {
			t.Parallel()
			wantAPIBusy(t, h.API(t, "POST", "/api/v1/devices/codes", map[string]string{"name": "front-1", "site": "north"}))
			wantOneOutageLog(t, &logs, "/api/v1/devices/codes")
		})
		t.Run("agent API", func(t *testing.T) {
			t.Parallel()
			status, hd, b := postEnroll(t)
			if status != http.StatusServiceUnavailable || !strings.Contains(string(b), "try again") {
				t.Fatalf("status %d %s, want 503", status, b)
			}
			wantRetryAfter(t, hd)
			wantOneOutageLog(t, &logs, wire.EnrollPath)
		})
		t.Run("SCIM", func(t *testing.T) {
			t.Parallel()
			wantSCIMBusy(t, h.Do(t, "POST", "/scim/v2/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ann"}`))
			wantOneOutageLog(t, &logs, "/scim/v2/Users")
		})
	})

	release()
	// Nothing was written: the enrollment code was not used up, and the
	// same requests go through now.
	if status, _, b := postEnroll(t); status != http.StatusOK {
		t.Errorf("enroll after the lock is released: %d %s", status, b)
	}
	if r := h.API(t, "POST", "/api/v1/devices/codes", map[string]string{"name": "front-1", "site": "north"}); r.Status != http.StatusCreated {
		t.Errorf("device code after the lock is released: %d %s", r.Status, r.Body)
	}
}

// wantRetryAfter checks that an answer says when to try again.
func wantRetryAfter(t *testing.T, hd http.Header) {
	t.Helper()
	if s, err := strconv.Atoi(hd.Get("Retry-After")); err != nil || s <= 0 {
		t.Errorf("Retry-After %q, want seconds", hd.Get("Retry-After"))
	}
}

// wantAPIBusy checks an admin API answer to a request that met a
// database locked by another process: 503, Retry-After, and a message
// that says so.
func wantAPIBusy(t *testing.T, r hubtest.Response) {
	t.Helper()
	if r.Status != http.StatusServiceUnavailable {
		t.Fatalf("status %d %s, want 503", r.Status, r.Body)
	}
	wantRetryAfter(t, r.Header)
	if msg, _ := r.JSON()["error"].(string); !strings.Contains(msg, "try again") || !strings.Contains(msg, "locked") {
		t.Errorf("message %q does not say what happened", msg)
	}
}

// wantSCIMBusy is wantAPIBusy for SCIM: the same, in the SCIM error
// schema.
func wantSCIMBusy(t *testing.T, r hubtest.Response) {
	t.Helper()
	if r.Status != http.StatusServiceUnavailable {
		t.Fatalf("status %d %s, want 503", r.Status, r.Body)
	}
	wantRetryAfter(t, r.Header)
	m := r.JSON()
	if sc, _ := m["schemas"].([]any); len(sc) != 1 || sc[0] != scim.ErrorURN || m["status"] != "503" {
		t.Errorf("not a SCIM error: %s", r.Body)
	}
	if d, _ := m["detail"].(string); !strings.Contains(d, "try again") {
		t.Errorf("detail %q does not say to try again", d)
	}
}

// wantOneOutageLog checks that the hub logged the outage of a request to
// path once, at error level, with what the operator should do, and not as
// a bug ("internal error").
func wantOneOutageLog(t *testing.T, logs *logBuffer, path string) {
	t.Helper()
	if errs := errorsFor(logs.String(), path); len(errs) != 1 || !strings.Contains(errs[0], "shiftgate-hub") || strings.Contains(errs[0], "internal") {
		t.Errorf("want one error log line saying what to do, got %q", errs)
	}
}
