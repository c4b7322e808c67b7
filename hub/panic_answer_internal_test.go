package hub

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHandlerPanicAnswers pins what logRequests does with a handler that
// panics, over HTTPS and HTTP/2 as the hub serves: before anything was
// written the client gets a 500 JSON error that says where to look and
// holds neither the panic's value nor its stack, which go to the log at
// error level; after a part of the answer was written the stream is cut,
// so that a half answer is never taken for a whole one.
func TestHandlerPanicAnswers(t *testing.T) {
	logs := &lockedBuffer{}
	s := &Server{cfg: Config{Logger: slog.New(slog.NewTextHandler(logs, nil))}}
	srv := httptest.NewUnstartedServer(s.logRequests(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/late" {
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, "half an ans")
			http.NewResponseController(w).Flush()
		}
		panic("secret-value-in-panic")
	})))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	c := srv.Client()

	resp, err := c.Get(srv.URL + "/early")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Errorf("served over %s, want HTTP/2", resp.Proto)
	}
	if resp.StatusCode != http.StatusInternalServerError || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("panic before writing: %d %s, want a 500 JSON error", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if strings.Contains(string(b), "secret-value") || strings.Contains(string(b), "goroutine") || !strings.Contains(string(b), "hub log") {
		t.Errorf("panic answer %q: want one pointing at the hub log, with no panic value or stack", b)
	}
	if l := logs.String(); !strings.Contains(l, "level=ERROR msg=\"http handler panic\"") || !strings.Contains(l, "secret-value-in-panic") || !strings.Contains(l, "goroutine") {
		t.Errorf("the panic is not logged at error level with its value and stack:\n%s", l)
	}

	resp, err = c.Get(srv.URL + "/late")
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Error("a panic after part of the answer was written ended it as if whole: want the stream cut")
	}
}
