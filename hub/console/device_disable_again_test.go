package console_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestDisableDisabledKiosk: the kiosk's Disable button pressed again (a
// second tab, a double submit, another admin) on a kiosk disabled
// already is no error page and does nothing again: no second
// device.disable record, no change to its record; the devices page says
// it was disabled already.
func TestDisableDisabledKiosk(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	w := makeWorld(t, h)
	admin := bootstrapAdmin(t, h)
	path := "/console/devices/" + w.northKiosk.ID + "/disable"
	if r := admin.post(path, nil); r.Status != http.StatusSeeOther || !strings.HasSuffix(r.location(), "ok=device-disabled") {
		t.Fatalf("disable: %d to %q", r.Status, r.location())
	}
	before, err := h.Store().GetDevice(t.Context(), w.northKiosk.ID)
	if err != nil {
		t.Fatal(err)
	}
	r := admin.post(path, nil)
	if r.Status != http.StatusSeeOther || !strings.HasSuffix(r.location(), "ok=device-unchanged") {
		t.Fatalf("disable again: %d to %q %s, want the devices page saying it was disabled already", r.Status, r.location(), r.Body)
	}
	if page := admin.get(r.location()); !strings.Contains(page.Body, "The kiosk was disabled already; nothing was changed.") {
		t.Errorf("the devices page does not say the kiosk was disabled already")
	}
	recs, err := h.Store().ListAudit(t.Context(), store.AuditQuery{Action: "device.disable", Subject: "device:" + w.northKiosk.ID})
	if err != nil || len(recs) != 1 {
		t.Errorf("%d device.disable records (%v), want 1", len(recs), err)
	}
	after, err := h.Store().GetDevice(t.Context(), w.northKiosk.ID)
	if err != nil || after.Version != before.Version || !after.Modified.Equal(before.Modified) {
		t.Errorf("kiosk record after disabling again: %+v (%v); was %+v", after, err, before)
	}
}
