package console

import (
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// wholeSiteRows is the Site time zones page's list as the console built
// it before it read the kiosks' sites a spelling at a time: from every
// kiosk of the hub.
func wholeSiteRows(t *testing.T, c *Console) []siteRow {
	t.Helper()
	sites, err := c.st.ListSites(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	devices, err := c.st.ListDevices(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var reg, unreg []siteRow
	for _, s := range sites {
		seen[strings.ToLower(s.Name)] = true
		reg = append(reg, siteRow{Name: s.Name, TimeZone: s.TimeZone, Created: s.Created, Registered: true})
	}
	for _, d := range devices {
		if k := strings.ToLower(d.Site); d.Site != "" && !seen[k] {
			seen[k] = true
			unreg = append(unreg, siteRow{Name: d.Site})
		}
	}
	for _, rows := range [][]siteRow{reg, unreg} {
		sort.Slice(rows, func(i, j int) bool { return strings.ToLower(rows[i].Name) < strings.ToLower(rows[j].Name) })
	}
	return append(reg, unreg...)
}

// TestSitesPageReadsSpellings: the Site time zones page lists the
// kiosks' sites the hub has no record of from their spellings, never
// from every kiosk of the hub, which at 10,000 kiosks was 10,000 rows on
// each load for a few hundred names. The rows are the ones the whole
// read made: the registered sites with their zones, then each unknown
// site once, in the spelling of its first kiosk.
func TestSitesPageReadsSpellings(t *testing.T) {
	r := newSelfRace(t)
	rc := &adminReads{Store: r.st.Store}
	r.c.st = rc
	siteSpellingsHub(t, rc)

	want := wholeSiteRows(t, r.c)
	var names []string
	for _, row := range want {
		names = append(names, row.Name)
	}
	if diff := cmp.Diff([]string{"north", "West", "east", "site-7", "south", "ZÜRICH"}, names); diff != "" {
		t.Fatalf("the fixture's sites (-want +got):\n%s", diff)
	}
	rc.reset()
	got, err := r.c.siteRows(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the page's sites (-read whole +read by spelling):\n%s", diff)
	}
	if rc.allKiosks != 0 {
		t.Errorf("the page's sites read every kiosk %d times, want never", rc.allKiosks)
	}
}
