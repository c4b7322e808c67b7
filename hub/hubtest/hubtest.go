// Package hubtest runs a complete, real hub in process for tests: SQLite in
// a temporary directory, HTTPS with the hub's own CA on 127.0.0.1, the real
// handlers. Tests talk to it over the network like any client.
package hubtest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/hubtest/clock"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/token"
)

// Clock is a settable clock for the hub under test.
type Clock = clock.Clock

// NewClock returns a clock set to t.
func NewClock(t time.Time) *Clock { return clock.New(t) }

// Hub is a running hub under test.
type Hub struct {
	*hub.Server
	URL     string // https://localhost:PORT (the hub listens on 127.0.0.1)
	DataDir string
	Clock   *Clock // nil unless Options.Clock was set
	Client  *http.Client
	// RootFile is the CA file clients trust for the hub's HTTPS
	// certificate: DataDir/ca.pem, or Options.TLSRootFile.
	RootFile string
	// SCIMToken is a valid token of scope scim.
	SCIMToken  string
	adminToken string
	stop       func()
}

// Options tunes Start.
type Options struct {
	Clock        *Clock // inject time; default the real clock
	MaxBodyBytes int64
	Logger       *slog.Logger
	// SchedulerInterval defaults to one hour in tests: call
	// Engine().RunDue to apply effective dates deterministically.
	SchedulerInterval time.Duration
	// DataDir reuses a data directory (a restarted hub: pass the DataDir
	// of a Hub that was stopped with Stop); default a fresh temporary one.
	DataDir string
	// ShiftGrace and SessionWarnings are hub.Config's.
	ShiftGrace      time.Duration
	SessionWarnings []time.Duration
	// FIDOMetadataRoot and FIDOMetadataPoll are hub.Config's.
	FIDOMetadataRoot string
	FIDOMetadataPoll time.Duration
	// TLSCertFile and TLSKeyFile are hub.Config's: an operator's HTTPS
	// certificate, for a localhost public URL. TLSRootFile is then the CA
	// the hub's test clients trust (default the hub's DATA/ca.pem).
	TLSCertFile, TLSKeyFile, TLSRootFile string
	// AuditWatch is hub.Config's.
	AuditWatch time.Duration
}

// Start runs a hub until the test ends.
func Start(t testing.TB, opts Options) *Hub {
	t.Helper()
	dir := opts.DataDir
	if dir == "" {
		dir = t.TempDir()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	cfg := hub.Config{
		DataDir: dir, Listen: ln.Addr().String(), PublicURL: "https://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port),
		Logger: opts.Logger, MaxBodyBytes: opts.MaxBodyBytes, SchedulerInterval: opts.SchedulerInterval,
		ShiftGrace: opts.ShiftGrace, SessionWarnings: opts.SessionWarnings,
		FIDOMetadataRoot: opts.FIDOMetadataRoot, FIDOMetadataPoll: opts.FIDOMetadataPoll,
		TLSCertFile: opts.TLSCertFile, TLSKeyFile: opts.TLSKeyFile, AuditWatch: opts.AuditWatch,
	}
	// Benchmarks measure the hub as serve runs it; tests skip the 64 MiB.
	if _, ok := t.(*testing.B); ok {
		cfg.FillWAL = true
	}
	if cfg.SchedulerInterval == 0 {
		cfg.SchedulerInterval = time.Hour
	}
	if opts.Clock != nil {
		cfg.Now = opts.Clock.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := hub.New(ctx, cfg)
	if err != nil {
		cancel()
		ln.Close()
		t.Fatalf("start hub: %v", err)
	}
	addrc := make(chan net.Addr, 1)
	errc := make(chan error, 1)
	go func() { errc <- s.ServeListener(ctx, ln, func(a net.Addr) { addrc <- a }) }()
	var addr net.Addr
	select {
	case addr = <-addrc:
	case err := <-errc:
		cancel()
		t.Fatalf("serve hub: %v", err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-errc; err != nil {
				t.Errorf("hub shutdown: %v", err)
			}
			s.Close()
		})
	}
	t.Cleanup(stop)
	h := &Hub{Server: s, URL: "https://localhost:" + strconv.Itoa(addr.(*net.TCPAddr).Port), DataDir: dir, Clock: opts.Clock, stop: stop,
		RootFile: opts.TLSRootFile}
	if h.RootFile == "" {
		h.RootFile = filepath.Join(dir, "ca.pem")
	}
	h.Client = h.NewClient(t)
	h.SCIMToken = h.Token(t, "test-idp", store.ScopeSCIM)
	return h
}

// Stop shuts the hub down and closes its store, as a process exit would;
// Start with Options.DataDir set to h.DataDir starts it again. Safe to call
// more than once.
func (h *Hub) Stop() { h.stop() }

// NewClient returns an HTTPS client that trusts only the hub's CA (or
// Options.TLSRootFile).
func (h *Hub) NewClient(t testing.TB) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(h.RootFile)
	if err != nil {
		t.Fatalf("read hub CA: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("hub ca.pem holds no certificate")
	}
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool},
		MaxIdleConnsPerHost: 256, // load tests run up to 128 clients: no TLS handshake churn
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// Token stores a new token and returns its plaintext.
func (h *Hub) Token(t testing.TB, name, scope string) string {
	t.Helper()
	plain, tok, err := token.New(name, scope, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Store().CreateToken(context.Background(), tok); err != nil {
		t.Fatalf("store token: %v", err)
	}
	return plain
}

// Response is a decoded HTTP response.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a generic map (nil when it is not an object).
func (r Response) JSON() map[string]any {
	var m map[string]any
	json.Unmarshal(r.Body, &m)
	return m
}

// Do sends a SCIM request with the hub's SCIM token; body may be a string,
// []byte, or a value to marshal. Extra headers come in pairs.
func (h *Hub) Do(t testing.TB, method, path string, body any, headers ...string) Response {
	t.Helper()
	return h.DoToken(t, h.SCIMToken, method, path, body, headers...)
}

// DoToken is Do with an explicit bearer token ("" sends none).
func (h *Hub) DoToken(t testing.TB, tok, method, path string, body any, headers ...string) Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, h.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := h.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}
