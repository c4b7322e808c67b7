package push

import (
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// A kiosk's message with bytes that are not UTF-8 is answered as malformed
// and never reaches the handler: encoding/json would have read U+FFFD in
// their place, a login for "k\xff1" as one for "k\uFFFD1". The channel
// stays open.
func TestFrameNotUTF8IsMalformed(t *testing.T) {
	e := newTestEnv(t, nil)
	ws, _ := e.connect(t, "kiosk-1")
	for _, frame := range []string{
		"{\"v\":1,\"type\":\"echo\",\"id\":\"u1\",\"data\":{\"user\":\"k\xff1\"}}", // Encode's layout: the fast path
		"{ \"v\":1, \"type\":\"echo\", \"id\":\"u2\", \"data\":\"\xc3\" }",
	} {
		writeRaw(t, ws, []byte(frame))
		env := readEnv(t, ws)
		var werr wire.Error
		if env.Type != wire.TypeError || env.Unmarshal(&werr) != nil || werr.Code != wire.ErrBadMessage {
			t.Fatalf("frame %q answered with %+v, want an error %s", frame, env, wire.ErrBadMessage)
		}
		if env.Re == "" {
			t.Errorf("frame %q: the error does not name the frame's ID", frame)
		}
		none(t, e.rec.requests, 50*time.Millisecond, "a request from a frame that is not UTF-8")
	}
	writeEnv(t, ws, "echo", "ok", "", "Zoë")
	if env := readEnv(t, ws); env.Type != "echo.reply" || env.Re != "ok" || string(env.Data) != `"Zoë"` {
		t.Fatalf("after the malformed frames got %+v, want echo.reply", env)
	}
}
