package console

import (
	"errors"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestViewSiteReadsOneKiosk: an admin's view of a site that is not
// registered learns that the site exists, and how it is spelt, from its
// first kiosk alone (store.FirstSiteDevice), not by reading every kiosk
// of it: the page, each fetch of its live block and its back-link ask,
// and a large site's every kiosk was read each time. The site is still
// spelt as its first kiosk spells it, and a site with no kiosk is still
// errNoSite.
func TestViewSiteReadsOneKiosk(t *testing.T) {
	r := newSelfRace(t)
	rc := &siteReads{Store: r.st.Store}
	r.c.st = rc
	ctx := t.Context()
	now := time.Now().UTC()
	for i, site := range []string{"DOCKS", "Docks", "docks", "DOCKS"} {
		id := string(rune('a' + i))
		// The first created is the second made, spelt "Docks".
		created := now.Add(time.Duration(i) * time.Minute)
		if i == 1 {
			created = now.Add(-time.Hour)
		}
		if _, err := rc.CreateDevice(ctx, store.Device{ID: "dev-" + id, Name: "kiosk-" + id, Site: site, Profile: "generic-x86",
			State: store.DeviceActive, Created: created, Modified: created}); err != nil {
			t.Fatal(err)
		}
	}
	ada := r.account(t, "ada", store.ConsoleAdmin)

	rc.reset()
	site, err := r.c.viewSite(ctx, ada, " dOcKs ")
	if err != nil || site != "Docks" {
		t.Errorf("viewSite(dOcKs) = %q, %v; want Docks, as its first kiosk spells it", site, err)
	}
	if _, err := r.c.viewSite(ctx, ada, "wharf"); !errors.Is(err, errNoSite) {
		t.Errorf("viewSite(wharf) = %v, want errNoSite", err)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.siteKiosks != 0 || rc.allKiosks != 0 {
		t.Errorf("viewSite read every kiosk of the site %d times and of the hub %d times, want never", rc.siteKiosks, rc.allKiosks)
	}
}
