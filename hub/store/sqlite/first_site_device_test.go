package sqlite

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestFirstSiteDevice: a site's first kiosk is ListSiteDevices' first,
// whatever the spelling of the site's name it is asked by or its kiosks
// were enrolled with; a site without kiosks is ErrNotFound. It is found
// through devices_site, a row per spelling, never by a scan of the
// devices.
func TestFirstSiteDevice(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	ctx := t.Context()
	liveHub(t, db, 2000)
	for _, site := range []string{"north", "NoRtH", "zürich", "ZÜRICH", "south", "site-042"} {
		all, err := db.ListSiteDevices(ctx, []string{site})
		if err != nil || len(all) == 0 {
			t.Fatalf("ListSiteDevices(%q) = %d devices, %v; the fixture has some", site, len(all), err)
		}
		d, err := db.FirstSiteDevice(ctx, site)
		if err != nil || d.ID != all[0].ID || d.Site != all[0].Site {
			t.Errorf("FirstSiteDevice(%q) = %s at %q, %v; want %s at %q", site, d.ID, d.Site, err, all[0].ID, all[0].Site)
		}
	}
	if _, err := db.FirstSiteDevice(ctx, "west"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("FirstSiteDevice(west) = %v, want ErrNotFound", err)
	}

	var plans []string
	o := ops{read: planner{querier: db.reader, plans: &plans}, write: db.writeTx}
	if _, err := o.FirstSiteDevice(ctx, "north"); err != nil {
		t.Fatal(err)
	}
	plan := strings.Join(plans, "\n")
	if strings.Contains(plan, "error") {
		t.Fatalf("no plan:\n%s", plan)
	}
	for _, line := range plans {
		if strings.HasPrefix(line, "SCAN devices") || strings.HasPrefix(line, "SCAN d") {
			t.Errorf("a table scanned: %q in\n%s", line, plan)
		}
	}
	if !strings.Contains(plan, "SEARCH d USING COVERING INDEX devices_site (site=?)") {
		t.Errorf("the first kiosk of a spelling is not searched in devices_site:\n%s", plan)
	}
}
