package agent

import (
	"context"
	"crypto/tls"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs/certstest"
)

// A stop (the agent's SIGTERM, the end of Run's ctx) while the hub has
// not answered ends Run at once: the upgrade's answer and the welcome are
// read with the handshake's deadline alone, and a hub that is busy or hung
// would otherwise hold the stop for up to HandshakeTimeout (an hour here,
// so that only the stop can end the wait).
func TestClientStopsWhileHubDoesNotAnswer(t *testing.T) {
	for _, tc := range []struct {
		name string
		hub  func(t *testing.T, pki *certstest.PKI, reached chan<- struct{}) (url string)
	}{
		{name: "no welcome", hub: func(t *testing.T, pki *certstest.PKI, reached chan<- struct{}) string {
			return newWSServer(t, pki, func(_ int, ws *websocket.Conn, _ wire.Envelope) {
				reached <- struct{}{}
				for { // no welcome; until the client goes
					if _, err := readEnv(ws); err != nil {
						return
					}
				}
			}).url
		}},
		{name: "no upgrade", hub: func(t *testing.T, pki *certstest.PKI, reached chan<- struct{}) string {
			ln, err := tls.Listen("tcp", "127.0.0.1:0", pki.ServerConfig(nil))
			if err != nil {
				t.Fatal(err)
			}
			srv := &http.Server{Handler: http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				reached <- struct{}{}
				<-r.Context().Done() // no answer; until the client goes
			})}
			go srv.Serve(ln)
			t.Cleanup(func() { srv.Close() })
			return "https://" + ln.Addr().String()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pki := certstest.New(t)
			reached := make(chan struct{}, 1)
			url := tc.hub(t, pki, reached)
			c := newTestClient(t, pki, url, nil, func(cfg *ClientConfig) { cfg.HandshakeTimeout = time.Hour })
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- c.Run(ctx, newRecHandler("")) }()
			recv(t, reached, "the hub reached")
			cancel()
			if err := recv(t, done, "Run's end after the stop"); err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
}

// The connection the stop closes is the one dialed: a hub that answers is
// dialed, greeted and kept as before, and a stop then ends the channel
// with a close frame (1001, going away), not by cutting the connection.
func TestClientStopAfterWelcomeSendsClose(t *testing.T) {
	pki := certstest.New(t)
	closed := make(chan int, 1)
	srv := newWSServer(t, pki, func(_ int, ws *websocket.Conn, hello wire.Envelope) {
		welcome(t, ws, hello, "", wire.Welcome{})
		for {
			if _, err := readEnv(ws); err != nil {
				code := -1
				if ce, ok := err.(*websocket.CloseError); ok {
					code = ce.Code
				}
				closed <- code
				return
			}
		}
	})
	c := newTestClient(t, pki, srv.url, nil, nil)
	h := newRecHandler("")
	stop := runClient(t, c, h)
	recv(t, h.connected, "the connection")
	stop()
	if code := recv(t, closed, "the channel's end"); code != websocket.CloseGoingAway {
		t.Errorf("close code %d, want %d (going away)", code, websocket.CloseGoingAway)
	}
}
