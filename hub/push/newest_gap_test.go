package push

import (
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// TestOlderConnectionPausedWhileNewerEnds: the late hello on a connection
// the kiosk gave up is counted off its handshake finding no newer
// connection registered, and its goroutine is then held up (descheduled
// under load) before it takes the channel. Meanwhile the kiosk's new
// connection registers, is welcomed and ends (a second blip). The given-up
// connection must still not end up as the channel: a session.revoke
// pushed to it would be read by nobody until the kiosk reconnects. Before,
// the check and the swap were two sections under two locks, and in
// between the newer connection could come and go unseen by both.
func TestOlderConnectionPausedWhileNewerEnds(t *testing.T) {
	e := newTestEnv(t, nil)
	var first atomic.Bool
	// paused reports whether the newer connection can register while
	// the given-up one is held up between its check and its swap.
	paused, resume := make(chan bool, 1), make(chan struct{})
	e.hub.mu.Lock()
	e.hub.registering = func(*conn) {
		if !first.CompareAndSwap(false, true) {
			return // the newer connection
		}
		// Hold the given-up connection here for as long as the newer
		// one takes to come and go, if that can happen meanwhile (it
		// cannot while the hub's lock is held over the swap).
		open := e.hub.mu.TryLock()
		if open {
			e.hub.mu.Unlock()
		}
		paused <- open
		if open {
			<-resume
		}
	}
	e.hub.mu.Unlock()

	givenUp, _, err := e.dial(t, "kiosk-1")
	if err != nil {
		t.Fatal(err)
	}
	writeEnv(t, givenUp, wire.TypeHello, "h-old", "", wire.Hello{Profile: "old"})
	recv(t, paused, "the given-up connection's registration")
	newer, _ := e.connect(t, "kiosk-1")
	newer.Close()
	if id := recv(t, e.rec.disconnected, "the newer connection's disconnect"); id != "kiosk-1" {
		t.Fatalf("Disconnected(%q), want kiosk-1", id)
	}
	close(resume)

	// Whatever the given-up connection got before, it ends as replaced.
	_ = givenUp.SetReadDeadline(time.Now().Add(2 * time.Second))
	var got []string
	for {
		env, err := readEnvErr(givenUp)
		if err == nil {
			got = append(got, env.Type)
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation || ce.Text != replacedClose {
			t.Fatalf("the given-up connection got %q then %v, want it closed as replaced", got, err)
		}
		break
	}
	if e.hub.Connected("kiosk-1") || e.hub.Count() != 0 {
		t.Errorf("Connected = %v, Count = %d; want false, 0 (the given-up connection is not the channel)", e.hub.Connected("kiosk-1"), e.hub.Count())
	}
	if _, err := e.hub.Push("kiosk-1", wire.TypeSessionRevoke, wire.SessionRevoke{SessionID: "s-1", Reason: wire.ReasonForced}); !errors.Is(err, ErrOffline) {
		t.Errorf("push with only the given-up connection left: %v, want ErrOffline", err)
	}
	if n := e.hub.handshakingDevices(); n != 0 {
		t.Errorf("the hub keeps %d devices' handshakes with none under way, want none", n)
	}
}

// readEnvErr reads one envelope from ws, or returns the read's error.
func readEnvErr(ws *websocket.Conn) (wire.Envelope, error) {
	_, b, err := ws.ReadMessage()
	if err != nil {
		return wire.Envelope{}, err
	}
	var env wire.Envelope
	if err := json.Unmarshal(b, &env); err != nil {
		return wire.Envelope{}, err
	}
	return env, nil
}
