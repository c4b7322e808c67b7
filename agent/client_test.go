package agent

import (
	"context"
	"crypto"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs"
	"github.com/shiftgate/shiftgate/certs/certstest"
)

// wsServer is a scripted hub device channel over real mutual TLS on
// 127.0.0.1.
type wsServer struct {
	t      *testing.T
	url    string
	script func(n int, ws *websocket.Conn, hello wire.Envelope)

	mu      sync.Mutex
	n       int
	hellos  []wire.Hello
	devices []string
	conns   []*websocket.Conn
	srv     *http.Server
	wg      sync.WaitGroup
}

func newWSServer(t *testing.T, pki *certstest.PKI, script func(n int, ws *websocket.Conn, hello wire.Envelope)) *wsServer {
	t.Helper()
	s := &wsServer{t: t, script: script}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", pki.ServerConfig(nil))
	if err != nil {
		t.Fatal(err)
	}
	s.url = "https://" + ln.Addr().String()
	up := websocket.Upgrader{}
	mux := http.NewServeMux()
	mux.HandleFunc(wire.WSPath, func(w http.ResponseWriter, r *http.Request) {
		id, err := certs.RequireDeviceCert(r.TLS)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		s.wg.Add(1)
		defer s.wg.Done()
		defer ws.Close()
		hello, err := readEnv(ws)
		if err != nil || hello.Type != wire.TypeHello {
			t.Errorf("first message: %+v, %v", hello, err)
			return
		}
		var h wire.Hello
		_ = hello.Unmarshal(&h)
		s.mu.Lock()
		s.n++
		n := s.n
		s.hellos = append(s.hellos, h)
		s.devices = append(s.devices, id)
		s.conns = append(s.conns, ws)
		s.mu.Unlock()
		s.script(n, ws, hello)
	})
	s.srv = &http.Server{Handler: mux, ErrorLog: nil}
	go s.srv.Serve(ln)
	t.Cleanup(s.close)
	return s
}

func (s *wsServer) close() {
	s.srv.Close()
	s.mu.Lock()
	for _, c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func readEnv(ws *websocket.Conn) (wire.Envelope, error) {
	_, data, err := ws.ReadMessage()
	if err != nil {
		return wire.Envelope{}, err
	}
	return wire.Decode(data)
}

func sendEnv(t *testing.T, ws *websocket.Conn, typ, id, re string, data any) {
	e, err := wire.New(typ, id, re, data)
	if err != nil {
		t.Error(err)
		return
	}
	b, _ := json.Marshal(e)
	_ = ws.WriteMessage(websocket.TextMessage, b)
}

func welcome(t *testing.T, ws *websocket.Conn, hello wire.Envelope, id string, w wire.Welcome) {
	if w.DeviceID == "" {
		w.DeviceID = "kiosk-1"
	}
	sendEnv(t, ws, wire.TypeWelcome, id, hello.ID, w)
}

// recHandler records what a Client reports.
type recHandler struct {
	live      string
	connected chan wire.Welcome
	pushes    chan wire.Envelope
	late      chan wire.Envelope
	mu        sync.Mutex
	disc      int
}

func newRecHandler(live string) *recHandler {
	return &recHandler{live: live, connected: make(chan wire.Welcome, 16), pushes: make(chan wire.Envelope, 16), late: make(chan wire.Envelope, 16)}
}

func (h *recHandler) HelloSessions() wire.Hello {
	return wire.Hello{LiveSession: h.live}
}
func (h *recHandler) LateAnswer(e wire.Envelope) { h.late <- e }
func (h *recHandler) Connected(w wire.Welcome)   { h.connected <- w }
func (h *recHandler) Push(e wire.Envelope)       { h.pushes <- e }
func (h *recHandler) Disconnected(error)         { h.mu.Lock(); h.disc++; h.mu.Unlock() }
func (h *recHandler) disconnects() int           { h.mu.Lock(); defer h.mu.Unlock(); return h.disc }

// recClock is the real clock, recording the AfterFunc delays.
type recClock struct {
	mu     sync.Mutex
	delays []time.Duration
}

func (c *recClock) Now() time.Time { return time.Now() }
func (c *recClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	c.delays = append(c.delays, d)
	c.mu.Unlock()
	return time.AfterFunc(d, f)
}

func (c *recClock) short() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []time.Duration
	for _, d := range c.delays {
		if d < time.Second {
			out = append(out, d)
		}
	}
	return out
}

func newTestClient(t *testing.T, pki *certstest.PKI, url string, r *certs.Renewer, mod func(*ClientConfig)) *Client {
	t.Helper()
	if r == nil {
		r = pki.Renewer(t, "kiosk-1")
	}
	cfg := ClientConfig{HubURL: url, CAPool: pki.CAPool(), Renewer: r, Profile: "ward-tablet", AgentVersion: "test",
		Backoff: Backoff{Base: time.Millisecond, Cap: 4 * time.Millisecond}, RequestTimeout: 2 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// runClient runs c until the returned stop is called; stop waits for Run
// and checks that no goroutine was left behind.
func runClient(t *testing.T, c *Client, h Handler) (stop func()) {
	t.Helper()
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, h) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(waitLimit):
				t.Fatal("Client.Run did not return")
			}
			deadline := time.Now().Add(2 * time.Second)
			for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if n := runtime.NumGoroutine(); n > before {
				buf := make([]byte, 1<<16)
				t.Errorf("goroutines: %d after, %d before\n%s", n, before, buf[:runtime.Stack(buf, true)])
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitLimit):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}

func TestClientHelloRequestPushAck(t *testing.T) {
	pki := certstest.New(t)
	acks := make(chan wire.Envelope, 4)
	srv := newWSServer(t, pki, func(n int, ws *websocket.Conn, hello wire.Envelope) {
		welcome(t, ws, hello, "", wire.Welcome{Site: "north", ServerTime: time.Now()})
		for {
			e, err := readEnv(ws)
			if err != nil {
				return
			}
			switch e.Type {
			case wire.TypeChallengeRequest:
				sendEnv(t, ws, wire.TypeChallenge, "", e.ID, wire.Challenge{Options: requestOptions("c1"), Origin: testOrigin})
				sendEnv(t, ws, wire.TypeSessionRevoke, "p1", "", wire.SessionRevoke{SessionID: "s9", Reason: wire.ReasonForced})
			case wire.TypeLogin:
				sendEnv(t, ws, wire.TypeError, "", e.ID, wire.Error{Code: wire.ErrState, Message: "no challenge"})
			case wire.TypeAck:
				acks <- e
			}
		}
	})
	c := newTestClient(t, pki, srv.url, nil, nil)
	if _, err := c.Request(t.Context(), wire.TypeChallengeRequest, nil); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("Request before Run: %v", err)
	}
	h := newRecHandler("s9")
	stop := runClient(t, c, h)
	w := recv(t, h.connected, "welcome")
	if w.DeviceID != "kiosk-1" || w.Site != "north" {
		t.Errorf("welcome %+v", w)
	}
	srv.mu.Lock()
	if got := srv.hellos[0]; got.LiveSession != "s9" || got.Profile != "ward-tablet" || got.AgentVersion != "test" {
		t.Errorf("hello %+v", got)
	}
	if srv.devices[0] != "kiosk-1" {
		t.Errorf("device %q", srv.devices[0])
	}
	srv.mu.Unlock()

	ans, err := c.Request(t.Context(), wire.TypeChallengeRequest, nil)
	if err != nil || ans.Type != wire.TypeChallenge {
		t.Fatalf("challenge: %+v, %v", ans, err)
	}
	push := recv(t, h.pushes, "push")
	if push.Type != wire.TypeSessionRevoke || push.ID != "p1" {
		t.Errorf("push %+v", push)
	}
	if err := c.Reply(t.Context(), push.ID, wire.TypeAck, nil); err != nil {
		t.Fatal(err)
	}
	if ack := recv(t, acks, "ack"); ack.Re != "p1" {
		t.Errorf("ack %+v", ack)
	}

	_, err = c.Request(t.Context(), wire.TypeLogin, wire.Login{Credential: json.RawMessage(`{}`)})
	var re *RemoteError
	if !errors.As(err, &re) || re.Code != wire.ErrState {
		t.Errorf("login error %v", err)
	}
	stop()
	if _, err := c.Request(t.Context(), wire.TypeChallengeRequest, nil); !errors.Is(err, ErrNotConnected) {
		t.Errorf("Request after Run: %v", err)
	}
}

func TestClientWelcomeRevoke(t *testing.T) {
	pki := certstest.New(t)
	acks := make(chan wire.Envelope, 1)
	srv := newWSServer(t, pki, func(n int, ws *websocket.Conn, hello wire.Envelope) {
		welcome(t, ws, hello, "w1", wire.Welcome{Revoke: &wire.SessionRevoke{SessionID: "s9", Reason: wire.ReasonDeprovisioned}})
		for {
			e, err := readEnv(ws)
			if err != nil {
				return
			}
			if e.Type == wire.TypeAck {
				acks <- e
			}
		}
	})
	c := newTestClient(t, pki, srv.url, nil, nil)
	h := newRecHandler("s9")
	runClient(t, c, h)
	recv(t, h.connected, "welcome")
	push := recv(t, h.pushes, "revoke from welcome")
	var r wire.SessionRevoke
	if err := push.Unmarshal(&r); err != nil || push.Type != wire.TypeSessionRevoke || push.ID != "w1" || r.SessionID != "s9" || r.Reason != wire.ReasonDeprovisioned {
		t.Fatalf("push %+v (%+v, %v)", push, r, err)
	}
	if err := c.Reply(t.Context(), push.ID, wire.TypeAck, nil); err != nil {
		t.Fatal(err)
	}
	if ack := recv(t, acks, "ack"); ack.Re != "w1" {
		t.Errorf("ack %+v", ack)
	}
}

func TestClientReconnectsWithBackoff(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stable time.Duration
		want   []time.Duration
	}{
		{name: "unstable connections back off", stable: time.Hour, want: []time.Duration{500 * time.Microsecond, time.Millisecond}},
		{name: "stable connections reset", stable: time.Nanosecond, want: []time.Duration{500 * time.Microsecond, 500 * time.Microsecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pki := certstest.New(t)
			srv := newWSServer(t, pki, func(n int, ws *websocket.Conn, hello wire.Envelope) {
				welcome(t, ws, hello, "", wire.Welcome{})
				if n <= 2 {
					return // the server drops the channel
				}
				for {
					if _, err := readEnv(ws); err != nil {
						return
					}
				}
			})
			clock := &recClock{}
			c := newTestClient(t, pki, srv.url, nil, func(cfg *ClientConfig) {
				cfg.Clock = clock
				cfg.StableAfter = tc.stable
				cfg.Backoff.Rand = func() float64 { return 0.5 }
			})
			h := newRecHandler("")
			stop := runClient(t, c, h)
			for i := range 3 {
				recv(t, h.connected, "connection "+string(rune('1'+i)))
			}
			stop()
			if got := clock.short(); !slices.Equal(got, tc.want) {
				t.Errorf("backoff delays %v, want %v", got, tc.want)
			}
			if n := h.disconnects(); n != 3 {
				t.Errorf("%d disconnects, want 3 (two drops and the stop)", n)
			}
		})
	}
}

func TestClientRenewsCertificate(t *testing.T) {
	pki := certstest.New(t)
	// Two thirds of its life gone: due for renewal, still valid.
	old := pki.DeviceAt(t, "kiosk-1", 3*time.Hour, time.Now().Add(-150*time.Minute))
	dir := t.TempDir()
	if err := writeKeyPair(dir, old.PrivateKey.(crypto.Signer), old.Certificate[0]); err != nil {
		t.Fatal(err)
	}
	r, err := certs.NewRenewer(old)
	if err != nil {
		t.Fatal(err)
	}
	srv := newWSServer(t, pki, func(n int, ws *websocket.Conn, hello wire.Envelope) {
		welcome(t, ws, hello, "", wire.Welcome{})
		for {
			e, err := readEnv(ws)
			if err != nil {
				return
			}
			if e.Type == wire.TypeCertRenew {
				var req wire.CertRenew
				_ = e.Unmarshal(&req)
				der, err := pki.CA.SignDeviceCSR(req.CSR, "kiosk-1", 24*time.Hour, time.Now())
				if err != nil {
					sendEnv(t, ws, wire.TypeError, "", e.ID, wire.Error{Code: wire.ErrBadMessage, Message: err.Error()})
					continue
				}
				sendEnv(t, ws, wire.TypeCert, "", e.ID, wire.Cert{Cert: der})
			}
		}
	})
	c := newTestClient(t, pki, srv.url, r, func(cfg *ClientConfig) { cfg.StateDir = dir })
	h := newRecHandler("")
	runClient(t, c, h)
	recv(t, h.connected, "welcome")
	deadline := time.Now().Add(waitLimit)
	for r.Current().Leaf.NotAfter.Equal(old.Leaf.NotAfter) {
		if time.Now().After(deadline) {
			t.Fatal("certificate not renewed")
		}
		time.Sleep(2 * time.Millisecond)
	}
	onDisk, err := loadKeyPair(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !onDisk.Leaf.Equal(r.Current().Leaf) {
		t.Error("the renewed certificate on disk differs from the one in use")
	}
	fi, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v, %v", fi.Mode(), err)
	}
}
