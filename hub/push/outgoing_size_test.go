package push

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// TestOversizeOutgoing: the hub sends no frame larger than
// wire.MaxMessageBytes, which the agent's read limit answers by closing
// the channel (and a pending enrollment pushed again at every hello would
// make that a reconnect loop). A push that large fails and a reply that
// large becomes an internal error; the channel stays up.
func TestOversizeOutgoing(t *testing.T) {
	big := json.RawMessage(`"` + strings.Repeat("x", wire.MaxMessageBytes) + `"`)
	e := newTestEnv(t, nil)
	e.rec.request = func(ctx context.Context, _ string, env wire.Envelope) (wire.Envelope, error) {
		if env.Type == "big" {
			return wire.Envelope{Type: "big.reply", Data: big}, nil
		}
		return defaultRequest(ctx, env)
	}
	ws, _ := e.connect(t, "kiosk-1")
	ws.SetReadLimit(wire.MaxMessageBytes) // as the agent does

	if _, err := e.hub.Push("kiosk-1", wire.TypeEnrollStart, big); !errors.Is(err, wire.ErrTooLarge) {
		t.Errorf("oversize push: %v, want wire.ErrTooLarge", err)
	}
	var rerr error
	var sent = make(chan Push, 1)
	e.hub.PushMany([]Outgoing{{DeviceID: "kiosk-1", Type: wire.TypeEnrollStart, Data: big}}, func(_ int, p Push, err error) {
		rerr = err
		sent <- p
	})
	recv(t, sent, "PushMany outcome")
	if !errors.Is(rerr, wire.ErrTooLarge) {
		t.Errorf("oversize PushMany: %v, want wire.ErrTooLarge", rerr)
	}

	writeEnv(t, ws, "big", "b1", "", nil)
	if got := readError(t, ws, "b1"); got.Code != wire.ErrInternal {
		t.Errorf("oversize reply answered with %+v, want %s", got, wire.ErrInternal)
	}
	writeEnv(t, ws, "echo", "e1", "", "still here")
	if env := readEnv(t, ws); env.Type != "echo.reply" || env.Re != "e1" {
		t.Errorf("got %+v, want echo.reply", env)
	}
	if !e.hub.Connected("kiosk-1") {
		t.Error("the channel was dropped")
	}
}

// TestLongRequestIDIsNotEchoedPastTheLimit: a request whose ID is so long
// that the reply echoing it would pass wire.MaxMessageBytes is answered
// with an error that does not echo it, and the channel stays up (the
// agent's read limit would close the channel at a frame that large).
func TestLongRequestIDIsNotEchoedPastTheLimit(t *testing.T) {
	e := newTestEnv(t, nil)
	ws, _ := e.connect(t, "kiosk-1")
	ws.SetReadLimit(wire.MaxMessageBytes) // as the agent does
	id := strings.Repeat("i", wire.MaxMessageBytes-100)
	writeEnv(t, ws, "echo", id, "", strings.Repeat("d", 60))
	if got := readEnv(t, ws); got.Type != wire.TypeError || got.Re != "" {
		t.Errorf("got %s re %d bytes; want an error answering no ID", got.Type, len(got.Re))
	}
	writeEnv(t, ws, "echo", "e1", "", "still here")
	if env := readEnv(t, ws); env.Type != "echo.reply" || env.Re != "e1" {
		t.Errorf("got %+v, want echo.reply", env)
	}
}
