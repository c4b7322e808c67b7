package hub

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestLogRequestsPanic: a handler's panic is logged at error level and
// answered 500 when nothing was written yet; a handler that has begun to
// answer has its connection cut (http.ErrAbortHandler), and a deliberate
// ErrAbortHandler passes through unlogged.
func TestLogRequestsPanic(t *testing.T) {
	for _, tc := range []struct {
		name       string
		handler    http.HandlerFunc
		wantStatus int  // recorded status when ServeHTTP returns
		wantAbort  bool // ServeHTTP panics with http.ErrAbortHandler
		wantLogged bool // "http handler panic" at error level
	}{
		{"before writing", func(http.ResponseWriter, *http.Request) { panic("boom") }, http.StatusInternalServerError, false, true},
		{"after writing", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusOK)
			panic("boom")
		}, 0, true, true},
		{"abort", func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }, 0, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			s := &Server{cfg: Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))}}
			rec := httptest.NewRecorder()
			var p any
			func() {
				defer func() { p = recover() }()
				s.logRequests(tc.handler).ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/policy", nil))
			}()
			if tc.wantAbort {
				if p != http.ErrAbortHandler {
					t.Errorf("ServeHTTP panicked with %v, want http.ErrAbortHandler", p)
				}
			} else {
				if p != nil {
					t.Fatalf("ServeHTTP panicked with %v", p)
				}
				if rec.Code != tc.wantStatus || !strings.Contains(rec.Body.String(), `"error"`) {
					t.Errorf("answer %d %s, want %d with a JSON error", rec.Code, rec.Body, tc.wantStatus)
				}
			}
			logged := strings.Contains(logs.String(), `level=ERROR msg="http handler panic"`) && strings.Contains(logs.String(), "boom")
			if logged != tc.wantLogged {
				t.Errorf("panic logged = %v, want %v; log:\n%s", logged, tc.wantLogged, logs.String())
			}
		})
	}
}
