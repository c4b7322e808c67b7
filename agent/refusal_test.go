package agent

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs"
	"github.com/shiftgate/shiftgate/certs/certstest"
	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// refusingHub is a hub device channel over real mutual TLS on 127.0.0.1
// that refuses every device certificate at the handshake while refuse is
// set, as the hub does for a disabled device (its verifyDevice failing in
// VerifyConnection). Accepted channels get a welcome and are read until
// they close; drop closes them.
type refusingHub struct {
	url     string
	refuse  atomic.Bool
	accepts atomic.Int32 // TCP connections
	refused atomic.Int32 // handshakes refused by verifyDevice
	mu      sync.Mutex
	conns   []*websocket.Conn
}

func newRefusingHub(t *testing.T, pki *certstest.PKI) *refusingHub {
	t.Helper()
	h := &refusingHub{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.url = "https://" + ln.Addr().String()
	tlsLn := tls.NewListener(countingListener{ln, &h.accepts}, pki.ServerConfig(func(id string, _ *x509.Certificate) error {
		if h.refuse.Load() {
			h.refused.Add(1)
			return errors.New("device disabled")
		}
		return nil
	}))
	up := websocket.Upgrader{}
	var wg sync.WaitGroup
	srv := &http.Server{ErrorLog: log.New(io.Discard, "", 0), Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		wg.Add(1)
		defer wg.Done()
		defer ws.Close()
		hello, err := readEnv(ws)
		if err != nil {
			return
		}
		h.mu.Lock()
		h.conns = append(h.conns, ws)
		h.mu.Unlock()
		welcome(t, ws, hello, "", wire.Welcome{Site: "north"})
		for {
			if _, err := readEnv(ws); err != nil {
				return
			}
		}
	})}
	go srv.Serve(tlsLn)
	t.Cleanup(func() {
		srv.Close()
		h.drop()
		wg.Wait()
	})
	return h
}

// drop closes the channels open now, as the hub does when it disables a
// device.
func (h *refusingHub) drop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.conns {
		c.Close()
	}
	h.conns = nil
}

type countingListener struct {
	net.Listener
	n *atomic.Int32
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// refusalRec is a Handler that also records DeviceRefused.
type refusalRec struct {
	*recHandler
	refusals chan *DeviceRefusedError
}

func newRefusalRec() *refusalRec {
	return &refusalRec{recHandler: newRecHandler(""), refusals: make(chan *DeviceRefusedError, 64)}
}

func (h *refusalRec) DeviceRefused(err *DeviceRefusedError) { h.refusals <- err }

// DeviceRefused makes recHandler (client_test.go) a Handler; refusalRec
// records the refusals.
func (h *recHandler) DeviceRefused(*DeviceRefusedError) {}

// offsetClock is the real clock, read off by offset, recording AfterFunc
// delays.
type offsetClock struct {
	recClock
	offset time.Duration
}

func (c *offsetClock) Now() time.Time { return time.Now().Add(c.offset) }

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestClientDeviceRefused: a hub that refuses the kiosk's certificate at
// the TLS handshake (device disabled, unknown CA, certificate expired by
// the hub's clock) is recognised as such: the client reports it once with
// its reason, not at every attempt, backs off with RefusedBackoff, and
// connects as soon as the hub takes the kiosk again.
func TestClientDeviceRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		reason string
		setup  func(t *testing.T, pki *certstest.PKI, h *refusingHub) (*certs.Renewer, time.Duration)
	}{
		{name: "device disabled", reason: RefusalCertificate,
			setup: func(t *testing.T, pki *certstest.PKI, h *refusingHub) (*certs.Renewer, time.Duration) {
				h.refuse.Store(true)
				return pki.Renewer(t, "kiosk-1"), 0
			}},
		{name: "CA replaced", reason: RefusalUnknownCA,
			setup: func(t *testing.T, _ *certstest.PKI, _ *refusingHub) (*certs.Renewer, time.Duration) {
				return certstest.New(t).Renewer(t, "kiosk-1"), 0
			}},
		{name: "expired by the hub's clock", reason: RefusalExpired,
			setup: func(t *testing.T, pki *certstest.PKI, _ *refusingHub) (*certs.Renewer, time.Duration) {
				old := pki.DeviceAt(t, "kiosk-1", time.Hour, time.Now().Add(-48*time.Hour))
				r, err := certs.NewRenewer(old)
				if err != nil {
					t.Fatal(err)
				}
				return r, -72 * time.Hour // the kiosk's clock is behind: it still sees the certificate valid
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pki := certstest.New(t)
			h := newRefusingHub(t, pki)
			r, offset := tc.setup(t, pki, h)
			var logs lockedBuffer
			clock := &offsetClock{offset: offset}
			c := newTestClient(t, pki, h.url, r, func(cfg *ClientConfig) {
				cfg.Clock = clock
				cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil)) // info and up
				cfg.Backoff.Rand = func() float64 { return 0.5 }
				cfg.RefusedBackoff = Backoff{Base: 20 * time.Millisecond, Cap: 40 * time.Millisecond, Rand: func() float64 { return 0.5 }}
			})
			hd := newRefusalRec()
			stop := runClient(t, c, hd)
			waitFor(t, "five attempts", func() bool { return h.accepts.Load() >= 5 })
			stop()

			got := recv(t, hd.refusals, "the refusal")
			if got.Reason != tc.reason || got.Local {
				t.Errorf("refusal %+v, want reason %s from the hub", got, tc.reason)
			}
			if !strings.Contains(got.Hint(), "shiftgate-agent enroll") {
				t.Errorf("hint %q does not say to enroll again", got.Hint())
			}
			if n := len(hd.refusals); n != 0 {
				t.Errorf("%d more refusals reported after %d attempts, want the first only", n, h.accepts.Load())
			}
			if n := strings.Count(logs.String(), "level=ERROR msg=\"hub channel refused"); n != 1 {
				t.Errorf("refusal logged %d times, want once:\n%s", n, logs.String())
			}
			if strings.Contains(logs.String(), "level=WARN") {
				t.Errorf("attempts while refused logged warnings:\n%s", logs.String())
			}
			// Every wait came from RefusedBackoff (10, 20, 20 … ms with
			// Rand 0.5), none from Backoff (at most 4 ms here).
			clock.mu.Lock()
			delays := clock.delays
			clock.mu.Unlock()
			if len(delays) < 4 || delays[0] != 10*time.Millisecond || delays[1] != 20*time.Millisecond || delays[3] != 20*time.Millisecond {
				t.Errorf("reconnect delays %v, want 10ms, 20ms, 20ms … (RefusedBackoff)", delays)
			}
		})
	}
}

// TestClientRefusalReportedAgainAfterConnecting: a device enabled again
// connects at the next attempt; a refusal after that is news, reported
// again. A refusal that lasts is reported again after RefusedRepeat.
func TestClientRefusalReportedAgainAfterConnecting(t *testing.T) {
	pki := certstest.New(t)
	h := newRefusingHub(t, pki)
	h.refuse.Store(true)
	c := newTestClient(t, pki, h.url, nil, func(cfg *ClientConfig) {
		cfg.RefusedBackoff = Backoff{Base: 2 * time.Millisecond, Cap: 4 * time.Millisecond}
	})
	hd := newRefusalRec()
	runClient(t, c, hd)
	recv(t, hd.refusals, "the first refusal")
	n := h.refused.Load()
	waitFor(t, "more attempts", func() bool { return h.refused.Load() >= n+3 })

	h.refuse.Store(false) // enabled again
	recv(t, hd.connected, "the connection once enabled")
	if len(hd.refusals) != 0 {
		t.Fatalf("refusal reported again before the kiosk connected")
	}
	h.refuse.Store(true) // disabled again: the hub cuts the channel off
	h.drop()
	if got := recv(t, hd.refusals, "the second refusal"); got.Reason != RefusalCertificate {
		t.Errorf("second refusal %+v", got)
	}

	t.Run("repeated after RefusedRepeat", func(t *testing.T) {
		h := newRefusingHub(t, pki)
		h.refuse.Store(true)
		c := newTestClient(t, pki, h.url, nil, func(cfg *ClientConfig) {
			cfg.RefusedBackoff = Backoff{Base: 2 * time.Millisecond, Cap: 4 * time.Millisecond}
			cfg.RefusedRepeat = time.Nanosecond
		})
		hd := newRefusalRec()
		runClient(t, c, hd)
		for i := range 3 {
			recv(t, hd.refusals, fmt.Sprintf("refusal %d", i+1))
		}
	})
}

// TestClientExpiredCertificateNotDialed: a certificate that has expired by
// the kiosk's clock is reported as a refusal without contacting the hub.
func TestClientExpiredCertificateNotDialed(t *testing.T) {
	pki := certstest.New(t)
	h := newRefusingHub(t, pki)
	old := pki.DeviceAt(t, "kiosk-1", time.Hour, time.Now().Add(-48*time.Hour))
	r, err := certs.NewRenewer(old)
	if err != nil {
		t.Fatal(err)
	}
	clock := &recClock{}
	c := newTestClient(t, pki, h.url, r, func(cfg *ClientConfig) {
		cfg.Clock = clock
		cfg.RefusedBackoff = Backoff{Base: 2 * time.Millisecond, Cap: 4 * time.Millisecond}
	})
	hd := newRefusalRec()
	stop := runClient(t, c, hd)
	got := recv(t, hd.refusals, "the refusal")
	waitFor(t, "more attempts", func() bool { clock.mu.Lock(); defer clock.mu.Unlock(); return len(clock.delays) >= 4 })
	stop()
	if got.Reason != RefusalExpired || !got.Local || !got.NotAfter.Equal(old.Leaf.NotAfter) {
		t.Errorf("refusal %+v, want %s, local, at %s", got, RefusalExpired, old.Leaf.NotAfter)
	}
	if !strings.Contains(got.Error(), "expired") {
		t.Errorf("error %q does not say the certificate expired", got.Error())
	}
	if n := h.accepts.Load(); n != 0 {
		t.Errorf("the hub was dialed %d times with an expired certificate", n)
	}
	if len(hd.refusals) != 0 {
		t.Error("the refusal was reported more than once")
	}
}

// fakeAlert stands in for crypto/tls's unexported alert type (a uint8)
// for the alerts Go's server never sends by itself.
type fakeAlert uint8

func (a fakeAlert) Error() string { return fmt.Sprintf("tls: alert %d", uint8(a)) }

// TestRefusalClassification: which failed dials are refusals.
func TestRefusalClassification(t *testing.T) {
	remote := func(code uint8) error { return &net.OpError{Op: "remote error", Err: fakeAlert(code)} }
	for _, tc := range []struct {
		name string
		err  error
		resp *http.Response
		want string // "" for not a refusal
	}{
		{"bad_certificate", remote(42), nil, RefusalCertificate},
		{"unsupported_certificate", remote(43), nil, RefusalCertificate},
		{"certificate_revoked", fmt.Errorf("dial: %w", remote(44)), nil, RefusalRevoked},
		{"certificate_expired", remote(45), nil, RefusalExpired},
		{"certificate_unknown", remote(46), nil, RefusalCertificate},
		{"unknown_ca", remote(48), nil, RefusalUnknownCA},
		{"handshake_failure", remote(40), nil, ""},
		{"our own alert", &net.OpError{Op: "local error", Err: fakeAlert(42)}, nil, ""},
		{"connection refused", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, nil, ""},
		{"HTTP 403", websocket.ErrBadHandshake, &http.Response{StatusCode: http.StatusForbidden}, RefusalCertificate},
		{"HTTP 502", websocket.ErrBadHandshake, &http.Response{StatusCode: http.StatusBadGateway}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := refusal(tc.err, tc.resp)
			switch {
			case tc.want == "" && got != nil:
				t.Errorf("refusal = %+v, want none", got)
			case tc.want != "" && (got == nil || got.Reason != tc.want):
				t.Errorf("refusal = %+v, want reason %s", got, tc.want)
			case got != nil && !errors.Is(got, tc.err):
				t.Errorf("refusal %v does not wrap %v", got, tc.err)
			}
		})
	}
}

// TestAgentDeviceRefusedByHub: against the real hub, a kiosk an admin
// disables is cut off, and the Agent says once that the hub refuses it —
// device.refused with reason and hint — while it keeps trying.
func TestAgentDeviceRefusedByHub(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	r := h.API(t, http.MethodPost, "/api/v1/devices/codes", map[string]string{"name": "north-1", "site": "north"})
	if r.Status != http.StatusCreated {
		t.Fatalf("device code: %d %s", r.Status, r.Body)
	}
	code, _ := r.JSON()["code"].(string)
	state := filepath.Join(t.TempDir(), "state")
	if _, err := Enroll(t.Context(), EnrollConfig{HubURL: h.URL, CAFile: filepath.Join(h.DataDir, "ca.pem"),
		Code: code, StateDir: state, Profile: "generic-x86"}); err != nil {
		t.Fatalf("enroll: %v", err)
	}
	src, err := ParseAuthenticator("soft:"+t.TempDir(), authSoftOpts())
	if err != nil {
		t.Fatal(err)
	}
	ev := newRecorder()
	var attempts atomic.Int32
	clock := countingClock{n: &attempts}
	cfg := Config{StateDir: state, Authenticators: src, Events: ev, Clock: clock}
	c, err := ClientFromStateDir(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.cfg.Backoff = Backoff{Base: time.Millisecond, Cap: 4 * time.Millisecond}
	c.cfg.RefusedBackoff = Backoff{Base: 5 * time.Millisecond, Cap: 10 * time.Millisecond}
	cfg.Hub = c
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	runAgent(t, a)
	ev.expect(t, EventConnected)

	if r := h.API(t, http.MethodPost, "/api/v1/devices/north-1/disable", nil); r.Status != http.StatusOK {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	ev.expect(t, EventDisconnected)
	got := ev.expect(t, EventDeviceRefused)[0]
	if got.Reason != RefusalCertificate || !strings.Contains(got.Hint, "disabled") || !strings.Contains(got.Hint, "shiftgate-agent enroll") {
		t.Errorf("device.refused %+v, want reason %s and a hint to enroll again", got, RefusalCertificate)
	}
	n := attempts.Load()
	waitFor(t, "more attempts", func() bool { return attempts.Load() >= n+5 })
	ev.none(t)
	if s := a.State(); s != Locked {
		t.Errorf("state %s, want Locked", s)
	}
}

// countingClock is the system clock, counting AfterFunc calls (reconnect
// waits, among others).
type countingClock struct{ n *atomic.Int32 }

func (c countingClock) Now() time.Time { return time.Now() }
func (c countingClock) AfterFunc(d time.Duration, f func()) Timer {
	c.n.Add(1)
	return time.AfterFunc(d, f)
}

// TestDeviceRefusedEventJSON: the event's stdout form.
func TestDeviceRefusedEventJSON(t *testing.T) {
	at := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	NewJSONLines(&buf).Emit(Event{Event: EventDeviceRefused, Time: at, Reason: RefusalCertificate, Hint: "ask an admin"})
	want := `{"event":"device.refused","time":"2026-03-02T08:00:00.000Z","reason":"certificate_refused","hint":"ask an admin"}` + "\n"
	if buf.String() != want {
		t.Errorf("got  %s\nwant %s", buf.String(), want)
	}
}

// lockedBuffer is a bytes.Buffer safe for concurrent writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
