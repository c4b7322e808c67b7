package push

import (
	"context"
	"sync"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// cachingHandler keeps, as the hub's channel does with the kiosk's record,
// something for each device from its Hello until its Disconnected: the
// profile of the hello that opened its channel. disconnecting, if set,
// runs in Disconnected before the entry is dropped.
type cachingHandler struct {
	*recorder
	mu            sync.Mutex
	cached        map[string]string
	disconnecting func(deviceID string)
}

func (h *cachingHandler) Hello(ctx context.Context, deviceID string, hello wire.Hello) (wire.Welcome, error) {
	h.mu.Lock()
	h.cached[deviceID] = hello.Profile
	h.mu.Unlock()
	return h.recorder.Hello(ctx, deviceID, hello)
}

func (h *cachingHandler) Disconnected(deviceID string) {
	if h.disconnecting != nil {
		h.disconnecting(deviceID)
	}
	h.mu.Lock()
	delete(h.cached, deviceID)
	h.mu.Unlock()
	h.recorder.Disconnected(deviceID)
}

// TestDisconnectedBeforeNewerHello: when a device's channel ends and the
// kiosk is back at once, the handler hears of the end before the newer
// connection's Hello, never after it: told after, it drops what it keeps
// for the device while the newer channel is open (the hub's cached kiosk
// record, then read from the store at each login). Before, Disconnected
// was called after the registry's lock was let go, and the newer
// connection could register and say its Hello in between.
func TestDisconnectedBeforeNewerHello(t *testing.T) {
	h := &cachingHandler{cached: make(map[string]string)}
	e := newTestEnv(t, func(cfg *Config, _ *timing) {
		h.recorder = cfg.Handler.(*recorder)
		cfg.Handler = h
	})
	hello := func(ws *websocket.Conn, profile string) {
		t.Helper()
		writeEnv(t, ws, wire.TypeHello, "h-"+profile, "", wire.Hello{AgentVersion: "test", Profile: profile})
		if env := readEnv(t, ws); env.Type != wire.TypeWelcome {
			t.Fatalf("after the %s hello got %+v, want welcome", profile, env)
		}
		recv(t, e.rec.hellos, "the "+profile+" hello")
	}
	old, _, err := e.dial(t, "kiosk-1")
	if err != nil {
		t.Fatal(err)
	}
	hello(old, "old")

	// open reports whether the newer connection can register while the
	// handler is being told that the old one ended.
	open, resume := make(chan bool, 1), make(chan struct{})
	h.disconnecting = func(string) {
		o := e.hub.mu.TryLock()
		if o {
			e.hub.mu.Unlock()
		}
		open <- o
		if o {
			<-resume
		}
	}
	old.Close()
	if recv(t, open, "the old channel's Disconnected") {
		// The newer connection registers and is welcomed while the
		// handler has yet to hear that the old one ended.
		newer, _, err := e.dial(t, "kiosk-1")
		if err != nil {
			t.Fatal(err)
		}
		hello(newer, "new")
		close(resume)
		recv(t, e.rec.disconnected, "the old channel's Disconnected")
	} else {
		recv(t, e.rec.disconnected, "the old channel's Disconnected")
		newer, _, err := e.dial(t, "kiosk-1")
		if err != nil {
			t.Fatal(err)
		}
		hello(newer, "new")
	}

	h.mu.Lock()
	got, ok := h.cached["kiosk-1"]
	h.mu.Unlock()
	if !ok || got != "new" {
		t.Errorf("the handler keeps %q (%v) for the kiosk with its newer channel open, want the newer hello's %q", got, ok, "new")
	}
	if !e.hub.Connected("kiosk-1") {
		t.Error("the newer channel is not connected")
	}
}
