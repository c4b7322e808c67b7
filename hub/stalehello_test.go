package hub_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/enroll"
	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// TestStaleHelloKeepsTheKiosksChannel: a hello the hub refuses (here one
// on a connection opened with the certificate a renewal replaced, said
// after that certificate's grace ended) does not cut off the channel the
// kiosk has with its newest certificate: the refusal comes before the
// connection would replace it (push.Admitter). Whoever holds an old key
// of a kiosk cannot keep knocking the kiosk off its channel.
func TestStaleHelloKeepsTheKiosksChannel(t *testing.T) {
	h, clock, _ := startPinning(t, hubtest.Options{SchedulerInterval: time.Hour}) // no pass cuts anything meanwhile
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	// The kiosk's channel, which speaks for its newest certificate since
	// it renewed over it. (A channel opened with the newest one would end
	// the replaced one's grace at once: TestPrevCertRetiredOnNewest.)
	k.Renew()
	current := k.Conn

	// A connection with the replaced certificate, taken by the handshake
	// a minute before its grace ends; its hello comes after.
	clock.Advance(enroll.ReplacedCertGrace - time.Minute)
	u, _ := url.Parse(h.URL)
	u.Scheme, u.Path = "wss", wire.WSPath
	d := websocket.Dialer{TLSClientConfig: k.TLS, HandshakeTimeout: 5 * time.Second}
	stale, _, err := d.DialContext(context.Background(), u.String(), nil)
	if err != nil {
		t.Fatalf("the handshake within the grace: %v", err)
	}
	t.Cleanup(func() { stale.Close() })
	clock.Advance(2 * time.Minute)
	k.Conn = stale
	id := k.Send(wire.TypeHello, wire.Hello{AgentVersion: "test", Profile: "generic-x86"})
	if env := k.Recv(5 * time.Second); env.Re != id || env.Type != wire.TypeError {
		t.Fatalf("hello after the grace ended: got %s %s, want an error", env.Type, env.Data)
	}

	// The kiosk's channel is still up and answers.
	k.Conn = current
	k.Call(wire.TypeChallengeRequest, nil, wire.TypeChallenge, nil)
}
