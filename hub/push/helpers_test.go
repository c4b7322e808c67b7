package push

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs/certstest"
)

// ackEvent is one Handler.Acked call.
type ackEvent struct {
	device string
	push   Push
	at     time.Time
}

// recorder is a Handler that records every call on buffered channels and
// answers requests by type:
//
//	echo   → echo.reply with the same data
//	sleep  → echo.reply after sleeping data milliseconds
//	fail   → a plain error (wire.ErrInternal)
//	safe   → a SafeError with wire.ErrState
//	panic  → a panic
//	quiet  → no reply
//	other  → ErrUnknownType
type recorder struct {
	hello   func(ctx context.Context, deviceID string, h wire.Hello) (wire.Welcome, error)
	request func(ctx context.Context, deviceID string, env wire.Envelope) (wire.Envelope, error)

	hellos       chan wire.Hello
	requests     chan wire.Envelope
	acks         chan ackEvent
	disconnected chan string
}

func newRecorder() *recorder {
	return &recorder{
		hellos:       make(chan wire.Hello, 2048),
		requests:     make(chan wire.Envelope, 2048),
		acks:         make(chan ackEvent, 2048),
		disconnected: make(chan string, 2048),
	}
}

func (r *recorder) Hello(ctx context.Context, deviceID string, h wire.Hello) (wire.Welcome, error) {
	send(r.hellos, h)
	if r.hello != nil {
		return r.hello(ctx, deviceID, h)
	}
	return wire.Welcome{DeviceID: deviceID, DeviceName: "kiosk " + deviceID, Site: "site-1"}, nil
}

func (r *recorder) Request(ctx context.Context, deviceID string, env wire.Envelope) (wire.Envelope, error) {
	send(r.requests, env)
	if r.request != nil {
		return r.request(ctx, deviceID, env)
	}
	return defaultRequest(ctx, env)
}

func defaultRequest(ctx context.Context, env wire.Envelope) (wire.Envelope, error) {
	switch env.Type {
	case "echo":
		return wire.Envelope{Type: "echo.reply", Data: env.Data}, nil
	case "sleep":
		var ms int
		_ = json.Unmarshal(env.Data, &ms)
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-ctx.Done():
			return wire.Envelope{}, ctx.Err()
		}
		return wire.Envelope{Type: "echo.reply", Data: env.Data}, nil
	case "fail":
		return wire.Envelope{}, errors.New("database on fire")
	case "safe":
		return wire.Envelope{}, &SafeError{Code: wire.ErrState, Message: "not now", Err: errors.New("detail")}
	case "panic":
		panic("handler bug")
	case "quiet":
		return wire.Envelope{}, nil
	}
	return wire.Envelope{}, fmt.Errorf("request %q: %w", env.Type, ErrUnknownType)
}

func (r *recorder) Acked(deviceID string, p Push, at time.Time) {
	send(r.acks, ackEvent{deviceID, p, at})
}

func (r *recorder) Disconnected(deviceID string) { send(r.disconnected, deviceID) }

func send[T any](ch chan T, v T) {
	select {
	case ch <- v:
	default:
		panic("recorder channel full")
	}
}

// recv waits for the next value on ch.
func recv[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// none checks that nothing arrives on ch for d.
func none[T any](t testing.TB, ch <-chan T, d time.Duration, what string) {
	t.Helper()
	select {
	case v := <-ch:
		t.Fatalf("unexpected %s: %+v", what, v)
	case <-time.After(d):
	}
}

// testEnv is a hub serving the device channel over mutual TLS on
// 127.0.0.1.
type testEnv struct {
	pki *certstest.PKI
	hub *Hub
	rec *recorder
	url string // wss://127.0.0.1:PORT/agent/v1/ws
}

// newTestEnv starts a hub. tweak, if not nil, adjusts the config and the
// hub's timings before it serves. The cleanup closes everything and fails
// the test if goroutines are left behind.
func newTestEnv(t testing.TB, tweak func(*Config, *timing)) *testEnv {
	t.Helper()
	checkGoroutines(t)
	rec := newRecorder()
	cfg := Config{Handler: rec}
	tm := timing{}
	if tweak != nil {
		tweak(&cfg, &tm)
	}
	h := New(cfg)
	if tm.ping != 0 {
		h.timing.ping = tm.ping
	}
	if tm.pongWait != 0 {
		h.timing.pongWait = tm.pongWait
	}
	if tm.writeWait != 0 {
		h.timing.writeWait = tm.writeWait
	}
	if tm.hello != 0 {
		h.timing.hello = tm.hello
	}
	pki := certstest.New(t)
	mux := http.NewServeMux()
	mux.Handle(wire.WSPath, h)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ErrorLog: nil}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(tls.NewListener(ln, pki.ServerConfig(nil)))
	}()
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("close hub: %v", err)
		}
		_ = srv.Close()
		<-served
	})
	return &testEnv{pki: pki, hub: h, rec: rec, url: "wss://" + ln.Addr().String() + wire.WSPath}
}

// checkGoroutines fails t if, after its cleanups, more goroutines run than
// before it started.
func checkGoroutines(t testing.TB) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("goroutine leak: %d before, %d after\n%s", before, n, buf)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// dial opens a channel as deviceID (no client certificate when empty).
func (e *testEnv) dial(t testing.TB, deviceID string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	d := websocket.Dialer{
		TLSClientConfig:  e.pki.ClientConfig(t, deviceID),
		HandshakeTimeout: 5 * time.Second,
		ReadBufferSize:   1024,
		WriteBufferSize:  1024,
	}
	ws, resp, err := d.Dial(e.url, nil)
	if err == nil {
		t.Cleanup(func() { ws.Close() })
	}
	return ws, resp, err
}

// connect dials as deviceID, says hello and returns the channel and the
// welcome envelope.
func (e *testEnv) connect(t testing.TB, deviceID string) (*websocket.Conn, wire.Envelope) {
	t.Helper()
	ws, _, err := e.dial(t, deviceID)
	if err != nil {
		t.Fatalf("dial %s: %v", deviceID, err)
	}
	writeEnv(t, ws, "hello", "h-"+deviceID, "", wire.Hello{AgentVersion: "test", Profile: "generic"})
	env := readEnv(t, ws)
	if env.Type != wire.TypeWelcome || env.Re != "h-"+deviceID {
		t.Fatalf("after hello got %+v, want welcome", env)
	}
	recv(t, e.rec.hellos, "hello")
	return ws, env
}

func writeEnv(t testing.TB, ws *websocket.Conn, typ, id, re string, data any) {
	t.Helper()
	env, err := wire.New(typ, id, re, data)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	writeRaw(t, ws, b)
}

func writeRaw(t testing.TB, ws *websocket.Conn, frame []byte) {
	t.Helper()
	_ = ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := ws.WriteMessage(websocket.TextMessage, frame); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// readEnv reads one envelope (5 s at most).
func readEnv(t testing.TB, ws *websocket.Conn) wire.Envelope {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, b, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	env, err := wire.Decode(b)
	if err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
	return env
}

// readError reads an error message answering re.
func readError(t testing.TB, ws *websocket.Conn, re string) wire.Error {
	t.Helper()
	env := readEnv(t, ws)
	if env.Type != wire.TypeError || env.Re != re {
		t.Fatalf("got %+v, want an error answering %q", env, re)
	}
	var e wire.Error
	if err := env.Unmarshal(&e); err != nil {
		t.Fatal(err)
	}
	return e
}

// readClose reads until the channel closes and returns the close code and
// text (-1 when the connection ended without a close frame).
func readClose(t testing.TB, ws *websocket.Conn) (int, string) {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, b, err := ws.ReadMessage()
		if err == nil {
			t.Logf("message before close: %s", b)
			continue
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code, ce.Text
		}
		if strings.Contains(err.Error(), "timeout") {
			t.Fatalf("no close within 5 s: %v", err)
		}
		return -1, err.Error()
	}
}
