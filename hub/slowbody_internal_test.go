package hub

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// slowBodyGuard bounds how long a test waits for the hub to give up on a
// body that never comes; the hub's own limit is set far below it.
const slowBodyGuard = 20 * time.Second

// TestSlowBodyIsCut: a client that sends a request's headers and then
// holds its body back (a slow-body attack, no token or certificate
// needed on the enrollment endpoint) is answered, or cut off, once the
// body timeout has passed, over HTTP/1.1 and HTTP/2 alike. The hub set
// no read deadline after the headers, so each such connection was held
// open, with its goroutine and file descriptor, for as long as the
// client wished: enough of them exhaust the descriptors that 10,000
// kiosks need.
func TestSlowBodyIsCut(t *testing.T) {
	s, _ := seenHub(t)
	s.bodyTimeout = 200 * time.Millisecond
	addr, cancel, wait := serveSeen(t, s)
	defer func() { cancel(); wait() }()
	pool := s.certs.CA.Pool()

	t.Run("http1", func(t *testing.T) {
		conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "localhost", NextProtos: []string{"http/1.1"}})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := io.WriteString(conn, "POST /agent/v1/enroll HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"co"); err != nil {
			t.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(slowBodyGuard))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
				t.Fatalf("the hub still waits for the body %s after the headers: a slow client holds the connection without limit", slowBodyGuard)
			}
			return // cut off: as good as an answer
		}
		resp.Body.Close()
		if resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Errorf("status %d for a body that never came, want a 4xx", resp.StatusCode)
		}
	})

	t.Run("http2", func(t *testing.T) {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}, ForceAttemptHTTP2: true}
		defer tr.CloseIdleConnections()
		c := &http.Client{Transport: tr, Timeout: slowBodyGuard}
		body, never := io.Pipe()
		defer never.Close()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "https://"+addr+"/agent/v1/enroll", body)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = 100
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			if strings.Contains(err.Error(), "Client.Timeout") {
				t.Fatalf("the hub still waits for the body %s after the headers: a slow client holds the stream without limit", slowBodyGuard)
			}
			return // the stream was reset: as good as an answer
		}
		defer resp.Body.Close()
		if resp.ProtoMajor != 2 {
			t.Fatalf("served over %s, want HTTP/2", resp.Proto)
		}
		if resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Errorf("status %d for a body that never came, want a 4xx", resp.StatusCode)
		}
	})
}

// TestBodyDeadlineLiftedAfterBody: the body deadline ends with the body.
// A handler that has read its body and then works on past the deadline
// (a SCIM write waiting for the store) keeps its context, and its
// answer reaches the client, over HTTP/1.1 and HTTP/2: bodyDeadline
// relies on net/http lifting the deadline at the body's end, and a
// deadline that outlived the body would cancel the write.
func TestBodyDeadlineLiftedAfterBody(t *testing.T) {
	s, _ := seenHub(t)
	s.bodyTimeout = 100 * time.Millisecond
	h := s.bodyDeadline(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		select {
		case <-r.Context().Done():
			http.Error(w, "canceled", http.StatusServiceUnavailable)
			return
		case <-time.After(5 * s.bodyTimeout):
		}
		io.WriteString(w, "done")
	}))
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	for _, proto := range []string{"http1", "http2"} {
		t.Run(proto, func(t *testing.T) {
			roots := x509.NewCertPool()
			roots.AddCert(srv.Certificate())
			tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: proto == "http2"}
			if proto == "http1" {
				tr.TLSClientConfig.NextProtos = []string{"http/1.1"}
			}
			defer tr.CloseIdleConnections()
			c := &http.Client{Transport: tr}
			resp, err := c.Post(srv.URL, "application/json", strings.NewReader(`{"userName":"a"}`))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if want := map[string]int{"http1": 1, "http2": 2}[proto]; resp.ProtoMajor != want {
				t.Fatalf("served over %s, want HTTP/%d", resp.Proto, want)
			}
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK || string(b) != "done" {
				t.Errorf("%s: %d %q, want 200 \"done\": the body deadline outlived the body", resp.Proto, resp.StatusCode, b)
			}
		})
	}
}
