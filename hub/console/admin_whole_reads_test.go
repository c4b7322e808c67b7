package console

import (
	"context"
	"fmt"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shiftgate/shiftgate/hub/store"
)

// kioskReads is adminReads counting the kiosks read one at a time too.
type kioskReads struct {
	*adminReads
	kiosks int // GetDevice calls
}

func (s *kioskReads) GetDevice(ctx context.Context, id string) (store.Device, error) {
	s.mu.Lock()
	s.kiosks++
	s.mu.Unlock()
	return s.Store.GetDevice(ctx, id)
}

// siteSpellingsHub stores kiosks at sites spelt in several cases, each
// spelling's first kiosk created in another order than the spellings'
// names sort in, and registers a site no kiosk is at.
func siteSpellingsHub(t *testing.T, st store.Store) {
	t.Helper()
	ctx := t.Context()
	base := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	if _, err := st.CreateSite(ctx, store.Site{ID: "west", Name: "West", TimeZone: "UTC", Created: base}); err != nil {
		t.Fatal(err)
	}
	// "North" is registered as "north" (newSelfRace): the registered
	// spelling is kept.
	sites := []string{"ZÜRICH", "east", "south", "North", "EAST", "South", "Zürich", "north", "site-7", "SITE-7", ""}
	for i := range 40 {
		site := sites[i%len(sites)]
		state := store.DeviceActive
		if i%9 == 4 {
			state = store.DeviceDisabled
		}
		created := base.Add(time.Duration(i) * time.Minute)
		if _, err := st.CreateDevice(ctx, store.Device{ID: fmt.Sprintf("dev-%02d", 40-i), Name: fmt.Sprintf("kiosk-%02d", i),
			Site: site, Profile: "generic-x86", State: state, Created: created, Modified: created}); err != nil {
			t.Fatal(err)
		}
	}
}

// wholeSites is an admin's list of sites as the console built it before
// it read the kiosks' sites a spelling at a time: from every kiosk of the
// hub.
func wholeSites(t *testing.T, st store.Store) []string {
	t.Helper()
	seen := map[string]string{}
	sites, err := st.ListSites(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sites {
		seen[strings.ToLower(s.Name)] = s.Name
	}
	ds, err := st.ListDevices(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if _, ok := seen[strings.ToLower(d.Site)]; !ok {
			seen[strings.ToLower(d.Site)] = d.Site
		}
	}
	var out []string
	for _, s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// TestAdminSitesReadSpellings: an admin's list of sites (the Reviews and
// site pages' forms, the Kiosks page and its code form) reads the
// spellings of the kiosks' sites, never every kiosk of the hub, which at
// 10,000 kiosks was 10,000 rows on each load for a few hundred names. The
// list is the one the whole read made: the registered spelling of a
// registered site, else the spelling of the site's first kiosk. The
// Kiosks page reads every kiosk once, for the list it shows, and not
// again for its sites.
func TestAdminSitesReadSpellings(t *testing.T) {
	r := newSelfRace(t)
	rc := &adminReads{Store: r.st.Store}
	r.c.st = rc
	siteSpellingsHub(t, rc)
	ada := r.account(t, "ada", store.ConsoleAdmin)

	want := wholeSites(t, r.st.Store)
	if diff := cmp.Diff([]string{"", "West", "ZÜRICH", "east", "north", "site-7", "south"}, want); diff != "" {
		t.Fatalf("the fixture's sites (-want +got):\n%s", diff)
	}
	rc.reset()
	got, err := r.c.visibleSites(t.Context(), ada)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the admin's sites (-read whole +read by spelling):\n%s", diff)
	}
	if rc.allKiosks != 0 {
		t.Errorf("the admin's sites read every kiosk %d times, want never", rc.allKiosks)
	}

	rc.reset()
	d, err := r.c.devicesData(t.Context(), ada)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, d.Sites); diff != "" {
		t.Errorf("the Kiosks page's sites (-read whole +read by spelling):\n%s", diff)
	}
	if len(d.Devices) != 40 {
		t.Errorf("the Kiosks page lists %d kiosks, want all 40", len(d.Devices))
	}
	if rc.allKiosks != 1 {
		t.Errorf("the Kiosks page read every kiosk %d times, want once, for its list", rc.allKiosks)
	}
}

// TestDashboardReadsWhatItShows: the dashboard counts the kiosks online
// and enabled, and names the kiosks of the teardowns it lists, without
// reading every kiosk of the hub on each load: the counts in one read
// with the open channels (CountDevices), a name per kiosk listed. What it
// shows is what the whole read showed: disabled kiosks, even connected
// ones, are not counted, and a kiosk listed twice has its name each time.
func TestDashboardReadsWhatItShows(t *testing.T) {
	ctx := t.Context()
	r := newSelfRace(t)
	rc := &kioskReads{adminReads: &adminReads{Store: r.st.Store}}
	r.c.st = rc
	siteSpellingsHub(t, rc)
	connected := map[string]bool{"ghost": true}
	for i := 1; i <= 40; i += 3 {
		connected[fmt.Sprintf("dev-%02d", i)] = true
	}
	r.c.cfg.KioskOnline = func(id string) bool { return connected[id] }
	r.c.cfg.KioskConnected = func() []string {
		var ids []string
		for id := range connected {
			ids = append(ids, id)
		}
		return ids
	}
	// 30 teardowns on 12 kiosks, newest last, with revocations of no
	// session in between; the dashboard lists the latest 20.
	now := time.Now().UTC()
	for i := range 40 {
		rv := store.Revocation{UserID: r.bob.ID, DeviceID: fmt.Sprintf("dev-%02d", 1+i%12), Reason: "forced", Created: now.Add(time.Duration(i) * time.Second)}
		if i%4 != 3 {
			rv.SessionID = fmt.Sprintf("s-%d", i)
		}
		if _, err := rc.AddRevocation(ctx, rv); err != nil {
			t.Fatal(err)
		}
	}
	ada := r.account(t, "ada", store.ConsoleAdmin)

	// What the dashboard showed, from every kiosk of the hub.
	devices, err := r.st.ListDevices(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	var online, active int
	for _, dv := range devices {
		names[dv.ID] = dv.Name
		if dv.State == store.DeviceActive {
			active++
			if connected[dv.ID] {
				online++
			}
		}
	}
	revs, err := r.st.RecentRevocations(ctx, 200)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, rv := range revs {
		if rv.SessionID != "" && len(want) < 20 {
			want = append(want, "bob "+names[rv.DeviceID])
		}
	}
	if online == 0 || online == active || active == len(devices) || len(want) != 20 {
		t.Fatalf("the fixture: %d of %d kiosks online, %d enabled, %d teardowns listed", online, len(devices), active, len(want))
	}

	rc.reset()
	w := httptest.NewRecorder()
	if err := r.c.dashboard(w, httptest.NewRequest("GET", "/console/", nil), ada); err != nil {
		t.Fatal(err)
	}
	body := w.Body.String()
	if s := fmt.Sprintf(`<dd id="kiosks-online">%d of %d</dd>`, online, active); !strings.Contains(body, s) {
		t.Errorf("the dashboard does not say %q", s)
	}
	var got []string
	for _, m := range regexp.MustCompile(`</time></td><td>([^<]*)</td><td>([^<]*)</td>`).FindAllStringSubmatch(body, -1) {
		got = append(got, m[1]+" "+m[2])
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the teardowns (-read whole +read listed):\n%s", diff)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.allKiosks != 0 {
		t.Errorf("the dashboard read every kiosk %d times, want never", rc.allKiosks)
	}
	if rc.kiosks > 12 {
		t.Errorf("the dashboard read %d kiosks one at a time, want at most the 12 it lists", rc.kiosks)
	}
}
