package push

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// TestOlderConnectionNeverReplacesNewer: a kiosk that reconnects (a
// network blip, an agent restart) may have two connections to the hub for
// a moment, the one it gave up and the new one. Whichever of their hellos
// is taken up last, the connection the hub accepted last is the device's
// channel: the older one is closed as replaced, without a welcome, and a
// revocation pushed after both hellos reaches the newer one. Before, the
// connection whose hello was admitted last replaced the other, so a late
// hello on the connection the kiosk had given up took the channel from
// the live one, and a session.revoke went to a dead connection.
func TestOlderConnectionNeverReplacesNewer(t *testing.T) {
	for _, tc := range []struct {
		name string
		// older is said on the older connection, after it was accepted
		// and before the newer one was.
		older func(t *testing.T, ws *websocket.Conn)
		// newer is said on the older connection once the newer one was
		// welcomed.
		newer func(t *testing.T, ws *websocket.Conn)
	}{{
		// The kiosk gave up on its connection before its hello got
		// through; the hello arrives after the new connection's.
		name:  "hello said later",
		older: func(*testing.T, *websocket.Conn) {},
		newer: func(t *testing.T, ws *websocket.Conn) {
			writeEnv(t, ws, wire.TypeHello, "h-old", "", wire.Hello{Profile: "old"})
		},
	}, {
		// The older hello came first, but its admission check (a slow
		// store read) ended after the newer one's.
		name: "admitted later",
		older: func(t *testing.T, ws *websocket.Conn) {
			writeEnv(t, ws, wire.TypeHello, "h-old", "", wire.Hello{Profile: "old"})
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			admitting, release := make(chan struct{}), make(chan struct{})
			e := newTestEnv(t, withAdmit(func(ctx context.Context, _ string, h wire.Hello) error {
				if h.Profile != "old" {
					return nil
				}
				close(admitting)
				select {
				case <-release:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			}))
			older, _, err := e.dial(t, "kiosk-1")
			if err != nil {
				t.Fatal(err)
			}
			tc.older(t, older)
			newer, _ := e.connect(t, "kiosk-1")
			if tc.newer != nil {
				tc.newer(t, older)
			}
			recv(t, admitting, "the older hello's admission check")
			close(release)

			_ = older.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, b, err := older.ReadMessage()
			var ce *websocket.CloseError
			if err == nil || !errors.As(err, &ce) {
				t.Fatalf("the older connection got %s (err %v), want it closed as replaced", b, err)
			}
			if ce.Code != websocket.ClosePolicyViolation || ce.Text != replacedClose {
				t.Errorf("the older connection closed with %d %q, want %d %q", ce.Code, ce.Text, websocket.ClosePolicyViolation, replacedClose)
			}

			p, err := e.hub.Push("kiosk-1", wire.TypeSessionRevoke, wire.SessionRevoke{SessionID: "s-1", Reason: wire.ReasonForced})
			if err != nil {
				t.Fatalf("push after both hellos: %v", err)
			}
			if env := readEnv(t, newer); env.ID != p.ID || env.Type != wire.TypeSessionRevoke {
				t.Fatalf("the newer connection got %+v, want the push", env)
			}
			writeEnv(t, newer, wire.TypeAck, "", p.ID, nil)
			if a := recv(t, e.rec.acks, "ack"); a.push.ID != p.ID {
				t.Errorf("acked %s, want %s", a.push.ID, p.ID)
			}
			if !e.hub.Connected("kiosk-1") || e.hub.Count() != 1 {
				t.Errorf("Connected = %v, Count = %d; want true, 1", e.hub.Connected("kiosk-1"), e.hub.Count())
			}
			none(t, e.rec.hellos, 20*time.Millisecond, "Hello call for the older connection")
			none(t, e.rec.disconnected, 20*time.Millisecond, "Disconnected call")

			newer.Close()
			if id := recv(t, e.rec.disconnected, "disconnect"); id != "kiosk-1" {
				t.Errorf("Disconnected(%q), want kiosk-1", id)
			}
		})
	}
}
