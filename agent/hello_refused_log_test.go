package agent

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs/certstest"
)

// TestHelloRefusalSaidOnce: a hello the hub answers with an error is
// logged as the hub's refusal once, with its code and message: before,
// the line stuttered "hub refused hello: hub refused hello: internal: …",
// the *RemoteError saying it and the wrapping again.
func TestHelloRefusalSaidOnce(t *testing.T) {
	pki := certstest.New(t)
	second := make(chan struct{})
	srv := newWSServer(t, pki, func(n int, ws *websocket.Conn, hello wire.Envelope) {
		if n == 2 {
			close(second) // the client has logged the first refusal
		}
		sendEnv(t, ws, wire.TypeError, "", hello.ID, wire.Error{Code: wire.ErrInternal, Message: "internal error"})
		_, _ = readEnv(ws) // until the client hangs up
	})
	logs := &lockedBuffer{}
	c := newTestClient(t, pki, srv.url, nil, func(cfg *ClientConfig) {
		cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	stop := runClient(t, c, newRecHandler(""))
	recv(t, second, "the hello after the refused one")
	stop()

	var line string
	for l := range strings.Lines(logs.String()) {
		if strings.Contains(l, "hub channel down") {
			line = l
			break
		}
	}
	const want = `err="hub refused hello: internal: internal error"`
	if !strings.Contains(line, want) {
		t.Errorf("the refused hello is logged as\n%s\nwant it with %s\nlog:\n%s", line, want, logs)
	}
}
