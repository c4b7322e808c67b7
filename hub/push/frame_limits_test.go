package push

import (
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// The read limit counts a whole message, not each of its frames: a kiosk
// that sends a message larger than wire.MaxMessageBytes in continuation
// frames of 1 KiB each, every one far below the limit, is closed with 1009
// (message too big) as for one large frame, and nothing reaches the
// handler. The hub carries on.
func TestOversizeFragmentedMessage(t *testing.T) {
	e := newTestEnv(t, nil)
	ws, _ := e.connect(t, "kiosk-1")
	_ = ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	w, err := ws.NextWriter(websocket.TextMessage)
	if err != nil {
		t.Fatal(err)
	}
	// The dialer's 1 KiB write buffer makes each write below a frame of
	// its own; the hub may close the channel before the last of them.
	chunk := []byte(strings.Repeat("x", 1<<10))
	_, _ = w.Write([]byte(`{"v":1,"type":"echo","id":"big","data":"`))
	for range wire.MaxMessageBytes/len(chunk) + 2 {
		if _, err := w.Write(chunk); err != nil {
			break
		}
	}
	_, _ = w.Write([]byte(`"}`))
	_ = w.Close()
	if code, _ := readClose(t, ws); code != websocket.CloseMessageTooBig && code != -1 {
		t.Errorf("close code %d, want %d", code, websocket.CloseMessageTooBig)
	}
	recv(t, e.rec.disconnected, "disconnect")
	none(t, e.rec.requests, 20*time.Millisecond, "request")

	ws2, _ := e.connect(t, "kiosk-2")
	writeEnv(t, ws2, "echo", "e1", "", "still here")
	if env := readEnv(t, ws2); env.Type != "echo.reply" || env.Re != "e1" {
		t.Errorf("got %+v, want echo.reply", env)
	}
}

// The hub never negotiates permessage-deflate, even with a kiosk that
// offers it: a compressed 64 KiB message could inflate far past the read
// limit before it is counted. A frame that claims compression anyway
// (RSV1) is a protocol error: the channel is closed with 1002 and nothing
// reaches the handler.
func TestCompressionNeverNegotiated(t *testing.T) {
	e := newTestEnv(t, nil)
	d := websocket.Dialer{
		TLSClientConfig:   e.pki.ClientConfig(t, "kiosk-1"),
		HandshakeTimeout:  5 * time.Second,
		EnableCompression: true,
	}
	ws, resp, err := d.Dial(e.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	if ext := resp.Header.Get("Sec-WebSocket-Extensions"); ext != "" {
		t.Fatalf("the hub negotiated extensions %q, want none", ext)
	}
	writeEnv(t, ws, wire.TypeHello, "h1", "", wire.Hello{AgentVersion: "test"})
	if env := readEnv(t, ws); env.Type != wire.TypeWelcome {
		t.Fatalf("after hello got %+v, want welcome", env)
	}
	recv(t, e.rec.hellos, "hello")

	// A masked text frame with FIN and RSV1 set, written past gorilla,
	// which would not set RSV1 without the extension.
	payload := []byte(`{"v":1,"type":"echo","id":"z1","data":"x"}`)
	mask := [4]byte{1, 2, 3, 4}
	frame := append([]byte{0x80 | 0x40 | websocket.TextMessage, 0x80 | byte(len(payload))}, mask[:]...)
	for i, b := range payload {
		frame = append(frame, b^mask[i%4])
	}
	_ = ws.UnderlyingConn().SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := ws.UnderlyingConn().Write(frame); err != nil {
		t.Fatal(err)
	}
	if code, _ := readClose(t, ws); code != websocket.CloseProtocolError && code != -1 {
		t.Errorf("close code %d, want %d", code, websocket.CloseProtocolError)
	}
	recv(t, e.rec.disconnected, "disconnect")
	none(t, e.rec.requests, 20*time.Millisecond, "request")
}
