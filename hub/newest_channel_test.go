package hub_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// TestLateHelloOnAGivenUpConnection: a kiosk reconnects and, for a moment,
// has two connections to the hub: one it gave up before its hello got
// through, and the new one it says hello on. The given-up one's hello
// arrives last. It is closed as replaced, without a welcome, and a
// sign-out made after both hellos reaches the kiosk on the new one and is
// acknowledged there. Before, the late hello took the channel from the
// live connection: the revocation went to a connection nobody read.
func TestLateHelloOnAGivenUpConnection(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	k, g := signedIn(t, h, "ola", "Picker")

	u, _ := url.Parse(h.URL)
	u.Scheme, u.Path = "wss", wire.WSPath
	d := websocket.Dialer{TLSClientConfig: k.TLS, HandshakeTimeout: 5 * time.Second}
	givenUp, _, err := d.DialContext(context.Background(), u.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { givenUp.Close() })
	k.Dial(g.SessionID) // the kiosk's new channel
	live := k.Conn

	k.Conn = givenUp
	k.Send(wire.TypeHello, wire.Hello{AgentVersion: "test", Profile: "generic-x86", LiveSession: g.SessionID})
	_ = givenUp.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, b, err := givenUp.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation || !strings.Contains(ce.Text, "replaced") {
		t.Fatalf("the late hello on the given-up connection: got %s (%v), want it closed as replaced", b, err)
	}

	k.Conn = live
	if r := h.API(t, "POST", "/api/v1/users/ola/signout", nil); r.Status != 200 {
		t.Fatalf("signout: %d %s", r.Status, r.Body)
	}
	env := k.Recv(5 * time.Second)
	var rv wire.SessionRevoke
	if env.Type != wire.TypeSessionRevoke || env.Unmarshal(&rv) != nil || rv.SessionID != g.SessionID {
		t.Fatalf("the live channel got %s %s, want the session's revocation", env.Type, env.Data)
	}
	k.Ack(env)
	h.WaitAcked(t, g.SessionID)
}
