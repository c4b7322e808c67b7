package push

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// TestOlderConnectionAfterNewerEnded: a kiosk reconnects, says hello on
// its new connection, and that connection ends too (a second blip) before
// the late hello on the connection it gave up first arrives. That hello
// gets no welcome and the connection is closed as replaced: a
// session.revoke pushed to it would be read by nobody until the kiosk
// reconnects, where with no channel it fails at once with ErrOffline
// (and the welcome of the kiosk's next hello carries the verdict). Before,
// the check looked only at the device's open channel, and with none the
// given-up connection took the channel. The kiosk's next connection, newer
// than both, is welcomed as ever, and once no connection of the device is
// in its handshake the hub keeps nothing of it.
func TestOlderConnectionAfterNewerEnded(t *testing.T) {
	e := newTestEnv(t, nil)
	givenUp, _, err := e.dial(t, "kiosk-1")
	if err != nil {
		t.Fatal(err)
	}
	newer, _ := e.connect(t, "kiosk-1")
	newer.Close()
	if id := recv(t, e.rec.disconnected, "the newer connection's disconnect"); id != "kiosk-1" {
		t.Fatalf("Disconnected(%q), want kiosk-1", id)
	}

	writeEnv(t, givenUp, wire.TypeHello, "h-old", "", wire.Hello{Profile: "old"})
	_ = givenUp.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, b, err := givenUp.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation || ce.Text != replacedClose {
		t.Fatalf("the late hello on the given-up connection: got %s (%v), want it closed as replaced", b, err)
	}
	none(t, e.rec.hellos, 20*time.Millisecond, "Hello call for the given-up connection")
	if e.hub.Connected("kiosk-1") || e.hub.Count() != 0 {
		t.Errorf("Connected = %v, Count = %d; want false, 0", e.hub.Connected("kiosk-1"), e.hub.Count())
	}
	if _, err := e.hub.Push("kiosk-1", wire.TypeSessionRevoke, wire.SessionRevoke{SessionID: "s-1", Reason: wire.ReasonForced}); !errors.Is(err, ErrOffline) {
		t.Errorf("push with only the given-up connection left: %v, want ErrOffline", err)
	}

	// The kiosk reconnects: its connection is the newest, and welcomed.
	again, _ := e.connect(t, "kiosk-1")
	p, err := e.hub.Push("kiosk-1", wire.TypeSessionRevoke, wire.SessionRevoke{SessionID: "s-1", Reason: wire.ReasonForced})
	if err != nil {
		t.Fatalf("push after the kiosk reconnected: %v", err)
	}
	if env := readEnv(t, again); env.ID != p.ID || env.Type != wire.TypeSessionRevoke {
		t.Fatalf("the kiosk's new connection got %+v, want the push", env)
	}
	none(t, e.rec.disconnected, 20*time.Millisecond, "Disconnected call")
	if n := e.hub.handshakingDevices(); n != 0 {
		t.Errorf("the hub keeps %d devices' handshakes with none under way, want none", n)
	}
}

// TestHandshakesForgotten: what the hub keeps of a device for its
// connections in their handshake goes when the last of them ends, however
// it ends (no hello, a refused hello, a welcome, older than the newest),
// so that it stays bounded by the connections being taken up, not by the
// kiosks ever seen.
func TestHandshakesForgotten(t *testing.T) {
	e := newTestEnv(t, func(_ *Config, tm *timing) { tm.hello = 200 * time.Millisecond })
	e.rec.hello = func(_ context.Context, deviceID string, h wire.Hello) (wire.Welcome, error) {
		if h.Profile == "refuse" {
			return wire.Welcome{}, errors.New("refused")
		}
		return wire.Welcome{DeviceID: deviceID}, nil
	}
	silent, _, err := e.dial(t, "kiosk-1") // never says hello
	if err != nil {
		t.Fatal(err)
	}
	refused, _, err := e.dial(t, "kiosk-2")
	if err != nil {
		t.Fatal(err)
	}
	writeEnv(t, refused, wire.TypeHello, "h-r", "", wire.Hello{Profile: "refuse"})
	older, _, err := e.dial(t, "kiosk-3")
	if err != nil {
		t.Fatal(err)
	}
	e.connect(t, "kiosk-3")
	writeEnv(t, older, wire.TypeHello, "h-old", "", wire.Hello{Profile: "old"})
	for _, ws := range []*websocket.Conn{silent, refused, older} {
		_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				break
			}
		}
	}
	e.connect(t, "kiosk-4")
	if n := e.hub.handshakingDevices(); n != 0 {
		t.Errorf("the hub keeps %d devices' handshakes with none under way, want none", n)
	}
}

// handshakingDevices returns how many devices the hub keeps a record of
// for their connections in their handshake.
func (h *Hub) handshakingDevices() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.handshaking)
}
