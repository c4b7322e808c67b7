package push

import (
	"slices"
	"testing"
)

// TestConnectedIDs: ConnectedIDs lists the devices Connected reports, each
// once, and forgets one whose channel ended.
func TestConnectedIDs(t *testing.T) {
	e := newTestEnv(t, nil)
	if ids := e.hub.ConnectedIDs(); len(ids) != 0 {
		t.Errorf("ConnectedIDs before any channel = %q, want none", ids)
	}
	one, _ := e.connect(t, "kiosk-1")
	e.connect(t, "kiosk-2")
	if ids := e.hub.ConnectedIDs(); !slices.Equal(slices.Sorted(slices.Values(ids)), []string{"kiosk-1", "kiosk-2"}) {
		t.Errorf("ConnectedIDs = %q, want kiosk-1 and kiosk-2", ids)
	}
	one.Close()
	if id := recv(t, e.rec.disconnected, "kiosk-1's disconnect"); id != "kiosk-1" {
		t.Fatalf("Disconnected(%q), want kiosk-1", id)
	}
	if ids := e.hub.ConnectedIDs(); !slices.Equal(ids, []string{"kiosk-2"}) {
		t.Errorf("ConnectedIDs after kiosk-1 left = %q, want kiosk-2", ids)
	}
}
