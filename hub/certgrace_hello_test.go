package hub_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/enroll"
	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// TestHelloRefusedAfterGraceEnd: the TLS handshake takes the certificate
// a renewal replaced within its grace, but the hello may come later (the
// peer chooses when). A hello that comes after the grace has ended is
// refused, as the handshake would refuse the certificate then: the
// channel gets no welcome, rather than one and a cut at the next pass.
// A hello within the grace is welcomed.
func TestHelloRefusedAfterGraceEnd(t *testing.T) {
	h, clock, _ := startPinning(t, hubtest.Options{SchedulerInterval: time.Hour}) // no pass cuts it meanwhile
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	k.Renew() // the answer is lost: the kiosk goes on with the replaced certificate
	clock.Advance(enroll.ReplacedCertGrace - time.Minute)

	u, _ := url.Parse(h.URL)
	u.Scheme, u.Path = "wss", wire.WSPath
	hello := wire.Hello{AgentVersion: "test", Profile: "generic-x86"}
	dial := func() {
		t.Helper()
		d := websocket.Dialer{TLSClientConfig: k.TLS, HandshakeTimeout: 5 * time.Second}
		conn, _, err := d.DialContext(context.Background(), u.String(), nil)
		if err != nil {
			t.Fatalf("the handshake within the grace: %v", err)
		}
		t.Cleanup(func() { conn.Close() })
		k.Conn = conn
	}

	dial()
	var w wire.Welcome
	k.Call(wire.TypeHello, hello, wire.TypeWelcome, &w) // within the grace

	dial() // the handshake a minute before the grace ends
	clock.Advance(2 * time.Minute)
	id := k.Send(wire.TypeHello, hello)
	env := k.Recv(5 * time.Second)
	if env.Re != id || env.Type != wire.TypeError {
		t.Fatalf("hello after the grace ended: got %s %s, want an error", env.Type, env.Data)
	}
	var e wire.Error
	if err := env.Unmarshal(&e); err != nil {
		t.Fatal(err)
	}
	if e.Code != wire.ErrState || !strings.Contains(e.Message, "replaced") {
		t.Errorf("hello refused with %+v, want %s saying the certificate was replaced", e, wire.ErrState)
	}
}
