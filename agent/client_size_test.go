package agent

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs/certstest"
)

// TestClientRefusesOversizeFrames: a request or reply larger than
// wire.MaxMessageBytes fails at once with wire.ErrTooLarge instead of
// being sent: the hub's read limit would close the channel on it (and
// with it every other request in flight). The channel stays up.
func TestClientRefusesOversizeFrames(t *testing.T) {
	pki := certstest.New(t)
	got := make(chan wire.Envelope, 8)
	srv := newWSServer(t, pki, func(n int, ws *websocket.Conn, hello wire.Envelope) {
		ws.SetReadLimit(wire.MaxMessageBytes) // as the hub does
		welcome(t, ws, hello, "", wire.Welcome{ServerTime: time.Now()})
		for {
			e, err := readEnv(ws)
			if err != nil {
				return
			}
			got <- e
			if e.ID != "" {
				sendEnv(t, ws, wire.TypeAck, "", e.ID, nil)
			}
		}
	})
	c := newTestClient(t, pki, srv.url, nil, nil)
	h := newRecHandler("")
	runClient(t, c, h)
	recv(t, h.connected, "welcome")

	big := wire.Login{Credential: json.RawMessage(`"` + strings.Repeat("x", wire.MaxMessageBytes) + `"`)}
	start := time.Now()
	if _, err := c.Request(t.Context(), wire.TypeLogin, big); !errors.Is(err, wire.ErrTooLarge) {
		t.Errorf("oversize request: %v, want wire.ErrTooLarge", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("oversize request failed after %v, want at once", d)
	}
	if err := c.Reply(t.Context(), "p1", wire.TypeError, wire.Error{Code: wire.ErrBadMessage, Message: strings.Repeat("x", wire.MaxMessageBytes)}); !errors.Is(err, wire.ErrTooLarge) {
		t.Errorf("oversize reply: %v, want wire.ErrTooLarge", err)
	}

	ans, err := c.Request(t.Context(), wire.TypeChallengeRequest, nil)
	if err != nil || ans.Type != wire.TypeAck {
		t.Fatalf("request after the oversize ones: %+v, %v", ans, err)
	}
	if e := recv(t, got, "request"); e.Type != wire.TypeChallengeRequest {
		t.Errorf("the hub got %s first, want only the challenge.request", e.Type)
	}
	if n := h.disconnects(); n != 0 {
		t.Errorf("%d disconnects, want 0", n)
	}
}
