package push

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// TestDisconnectChannel: DisconnectChannel closes the channel whose
// context it is given and no other: not the newer channel that replaced
// it (a check that ends after the kiosk reconnected must not cut its new
// channel), nor anything for a context of no channel.
func TestDisconnectChannel(t *testing.T) {
	e := newTestEnv(t, nil)
	ctxs := make(chan context.Context, 2)
	e.rec.hello = func(ctx context.Context, deviceID string, _ wire.Hello) (wire.Welcome, error) {
		ctxs <- ctx
		return wire.Welcome{DeviceID: deviceID}, nil
	}
	old, _ := e.connect(t, "kiosk-1")
	oldCtx := recv(t, ctxs, "the first channel's hello")
	ws, _ := e.connect(t, "kiosk-1")
	newCtx := recv(t, ctxs, "the second channel's hello")
	if code, _ := readClose(t, old); code != websocket.ClosePolicyViolation {
		t.Fatalf("the replaced channel closed with %d, want %d", code, websocket.ClosePolicyViolation)
	}

	e.hub.DisconnectChannel(oldCtx, "superseded")
	e.hub.DisconnectChannel(t.Context(), "superseded")
	other := New(Config{Handler: newRecorder()})
	defer other.Close()
	other.DisconnectChannel(newCtx, "superseded") // another hub's: not its channel
	writeEnv(t, ws, "echo", "e1", "", "x")
	if env := readEnv(t, ws); env.Type != "echo.reply" {
		t.Fatalf("the newer channel after DisconnectChannel of the replaced one, a foreign context and another hub: got %+v, want echo.reply", env)
	}

	e.hub.DisconnectChannel(newCtx, "superseded")
	if code, text := readClose(t, ws); code != websocket.ClosePolicyViolation || text != "superseded" {
		t.Errorf("close %d %q, want %d %q", code, text, websocket.ClosePolicyViolation, "superseded")
	}
	if id := recv(t, e.rec.disconnected, "disconnect"); id != "kiosk-1" {
		t.Errorf("Disconnected(%q), want kiosk-1", id)
	}
	if newCtx.Err() == nil {
		t.Error("the closed channel's context has not ended")
	}
	none(t, e.rec.disconnected, 50*time.Millisecond, "a second Disconnected")
}

// TestLongCloseReasonIsCutOnACharacter: a close reason longer than a
// close frame holds is cut on a character boundary. Cut mid-character,
// the frame is not UTF-8, and the kiosk's WebSocket library answers it as
// a protocol error instead of reading the close code and reason.
func TestLongCloseReasonIsCutOnACharacter(t *testing.T) {
	e := newTestEnv(t, nil)
	ctxs := make(chan context.Context, 1)
	e.rec.hello = func(ctx context.Context, deviceID string, _ wire.Hello) (wire.Welcome, error) {
		ctxs <- ctx
		return wire.Welcome{DeviceID: deviceID}, nil
	}
	ws, _ := e.connect(t, "kiosk-1")
	ctx := recv(t, ctxs, "the channel's hello")
	reason := strings.Repeat("x", 119) + "é and more" // é is bytes 120 and 121
	e.hub.DisconnectChannel(ctx, reason)
	code, text := readClose(t, ws)
	if code != websocket.ClosePolicyViolation || text != strings.Repeat("x", 119) {
		t.Errorf("close %d %q; want %d and the reason cut before the é", code, text, websocket.ClosePolicyViolation)
	}
}
