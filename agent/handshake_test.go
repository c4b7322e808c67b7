package agent

import (
	"crypto/tls"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs/certstest"
)

// TestHandshakeTimeoutBoundsWholeOpen: HandshakeTimeout bounds the dial,
// TLS, WebSocket upgrade and hello/welcome together (agent/README.md,
// "Limits and timing"), not the dial and then the welcome again each: a
// hub that takes most of it to upgrade and most of it again to welcome is
// given up on, and the attempt is made again.
func TestHandshakeTimeoutBoundsWholeOpen(t *testing.T) {
	const (
		timeout = time.Second
		delay   = 700 * time.Millisecond // each step alone is within timeout, both are not
	)
	pki := certstest.New(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", pki.ServerConfig(nil))
	if err != nil {
		t.Fatal(err)
	}
	var hellos atomic.Int32
	up := websocket.Upgrader{}
	stopping := make(chan struct{})
	pause := func(d time.Duration) bool {
		select {
		case <-time.After(d):
			return true
		case <-stopping:
			return false
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc(wire.WSPath, func(w http.ResponseWriter, r *http.Request) {
		if !pause(delay) {
			return
		}
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		hello, err := readEnv(ws)
		if err != nil {
			return
		}
		hellos.Add(1)
		if !pause(delay) {
			return
		}
		welcome(t, ws, hello, "", wire.Welcome{Site: "north", ServerTime: time.Now()})
		for {
			if _, err := readEnv(ws); err != nil {
				return
			}
		}
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { close(stopping); srv.Close() })

	c := newTestClient(t, pki, "https://"+ln.Addr().String(), nil, func(cfg *ClientConfig) { cfg.HandshakeTimeout = timeout })
	h := newRecHandler("")
	runClient(t, c, h)
	deadline := time.After(waitLimit)
	for hellos.Load() < 2 {
		select {
		case w := <-h.connected:
			t.Fatalf("connected (%+v) after about %s, past the %s handshake timeout", w, 2*delay, timeout)
		case <-deadline:
			t.Fatal("timed out waiting for a second attempt")
		case <-time.After(10 * time.Millisecond):
		}
	}
}
