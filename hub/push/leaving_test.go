package push

import (
	"slices"
	"testing"
)

// leavingEvent is one Leaver.Leaving call, with what the registry said of
// the device at that moment.
type leavingEvent struct {
	device    string
	connected bool // Connected(device)
	listed    bool // device among ConnectedIDs()
}

// leaving is the recorder told of channels ending (Leaver).
type leaving struct {
	*recorder
	hub    func() *Hub
	events chan leavingEvent
}

func (l leaving) Leaving(deviceID string) {
	h := l.hub()
	send(l.events, leavingEvent{deviceID, h.Connected(deviceID), slices.Contains(h.ConnectedIDs(), deviceID)})
}

// TestLeavingBeforeTheRegistryForgets: a Handler that is a Leaver is told
// that a channel ends while Connected and ConnectedIDs still report it,
// and before Disconnected. The hub marks there when it last saw the
// kiosk: told after the channel left the registry, a scrape in between
// found the kiosk neither connected nor recently seen, and counted it
// away since a stored time maybe days old.
func TestLeavingBeforeTheRegistryForgets(t *testing.T) {
	var e *testEnv
	events := make(chan leavingEvent, 16)
	e = newTestEnv(t, func(c *Config, _ *timing) {
		c.Handler = leaving{recorder: c.Handler.(*recorder), hub: func() *Hub { return e.hub }, events: events}
	})
	ws, _ := e.connect(t, "kiosk-1")
	ws.Close()
	ev := recv(t, events, "Leaving")
	if ev != (leavingEvent{"kiosk-1", true, true}) {
		t.Errorf("Leaving saw %+v, want kiosk-1 still connected and listed", ev)
	}
	if id := recv(t, e.rec.disconnected, "Disconnected"); id != "kiosk-1" {
		t.Errorf("Disconnected(%q), want kiosk-1", id)
	}
	if e.hub.Connected("kiosk-1") || len(e.hub.ConnectedIDs()) != 0 {
		t.Errorf("after Disconnected the registry still holds kiosk-1: %q", e.hub.ConnectedIDs())
	}
}
