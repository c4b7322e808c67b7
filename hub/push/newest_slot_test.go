package push

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// TestOlderConnectionGivesBackItsSlot: a hello on a connection older than
// the device's channel holds one of the hub's hello slots through its
// admission, and is then closed as replaced without reaching Hello. It
// must give that slot back, and leave nothing behind as a connection
// still in its handshake: with one slot, a slot kept would refuse every
// later hello as busy (a hub in a reconnect storm would lose one slot per
// late hello). The device's channel and the count stay as they were.
func TestOlderConnectionGivesBackItsSlot(t *testing.T) {
	admitting, release := make(chan struct{}), make(chan struct{})
	admit := withAdmit(func(ctx context.Context, _ string, h wire.Hello) error {
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
	})
	e := newTestEnv(t, func(c *Config, tm *timing) {
		admit(c, tm)
		c.MaxHellos, c.HelloWait = 1, time.Second
	})
	older, _, err := e.dial(t, "kiosk-1")
	if err != nil {
		t.Fatal(err)
	}
	e.connect(t, "kiosk-1")
	writeEnv(t, older, wire.TypeHello, "h-old", "", wire.Hello{Profile: "old"})
	recv(t, admitting, "the older hello's admission check")
	close(release)
	_ = older.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, b, err := older.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation || ce.Text != replacedClose {
		t.Fatalf("the older connection got %s (%v), want it closed as replaced", b, err)
	}

	// Hellos one after another: each needs the one slot.
	for range 3 {
		e.connect(t, "kiosk-2")
	}
	if n := e.hub.BusyHellos(); n != 0 {
		t.Errorf("%d hellos refused as busy, want none", n)
	}
	if !e.hub.Connected("kiosk-1") || e.hub.Count() != 2 {
		t.Errorf("Connected(kiosk-1) = %v, Count = %d; want true, 2", e.hub.Connected("kiosk-1"), e.hub.Count())
	}
	e.hub.mu.Lock()
	hs := len(e.hub.hsConn)
	e.hub.mu.Unlock()
	if hs != 0 {
		t.Errorf("%d connections left as in their handshake, want none", hs)
	}
}
