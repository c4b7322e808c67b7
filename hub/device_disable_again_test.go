package hub_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestAPIDisableDisabledKiosk: POST /api/v1/devices/{name}/disable on a
// kiosk disabled already is answered 200 with the kiosk as it stands
// (already_disabled, and the time of the disable that did it), and does
// nothing again: no second device.disable record (an auditor would read
// that the kiosk was disabled twice, the second time by whoever repeated
// the request), no change to its record, no revocation. The first
// disable's answer says when it happened.
func TestAPIDisableDisabledKiosk(t *testing.T) {
	h, clock, now := startClocked(t, hubtest.Options{})
	k, _ := signedIn(t, h, "ana", "Nurse")

	m := wantAPI(t, h.API(t, "POST", "/api/v1/devices/north-1/disable", nil), http.StatusOK)
	if m["status"] != "disabled" || m["already_disabled"] != false || m["disabled_at"] != now.Format(time.RFC3339) {
		t.Errorf("first disable answered %v, want disabled at %s, not already", m, now.Format(time.RFC3339))
	}
	before, err := h.Store().GetDevice(t.Context(), k.ID)
	if err != nil {
		t.Fatal(err)
	}
	revs, err := h.Store().ListRevocations(t.Context(), store.RevocationQuery{DeviceID: k.ID})
	if err != nil || len(revs) != 1 {
		t.Fatalf("revocations after the disable: %d (%v), want the session's one", len(revs), err)
	}

	clock.Advance(time.Hour)
	for _, name := range []string{"north-1", k.ID} { // by name, and by ID
		m = wantAPI(t, h.API(t, "POST", "/api/v1/devices/"+name+"/disable", nil), http.StatusOK)
		if m["status"] != "disabled" || m["already_disabled"] != true || m["disabled_at"] != now.Format(time.RFC3339) || m["device"] != "north-1" {
			t.Errorf("disable %s again answered %v, want already disabled at %s", name, m, now.Format(time.RFC3339))
		}
	}
	if n := count(t, h, "device.disable", "device:"+k.ID); n != 1 {
		t.Errorf("%d device.disable records, want 1", n)
	}
	after, err := h.Store().GetDevice(t.Context(), k.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.Version != before.Version || !after.Modified.Equal(before.Modified) || after.State != store.DeviceDisabled {
		t.Errorf("kiosk record after disabling again: version %d modified %s state %v; was version %d modified %s",
			after.Version, after.Modified, after.State, before.Version, before.Modified)
	}
	if revs, err := h.Store().ListRevocations(t.Context(), store.RevocationQuery{DeviceID: k.ID}); err != nil || len(revs) != 1 {
		t.Errorf("revocations after disabling again: %d (%v), want still 1", len(revs), err)
	}
}
