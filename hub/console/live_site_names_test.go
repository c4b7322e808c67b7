package console

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestAdminSiteViewOfQuietSites: an admin's view of one site (?site=) is
// the site's view, not a 404, for a registered site with no kiosk yet
// and for a site whose kiosks are all disabled: both are sites the
// admin's site list offers.
func TestAdminSiteViewOfQuietSites(t *testing.T) {
	ctx := t.Context()
	r := newSelfRace(t)
	now := time.Now().UTC()
	if _, err := r.st.CreateSite(ctx, store.Site{ID: "site-new", Name: "Harbour", TimeZone: "UTC", Created: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.st.CreateDevice(ctx, store.Device{ID: "dev-old", Name: "old-1", Site: "Closed Depot", Profile: "generic-x86",
		State: store.DeviceDisabled, Created: now, Modified: now}); err != nil {
		t.Fatal(err)
	}
	ada := r.account(t, "ada", store.ConsoleAdmin)
	for _, site := range []string{"harbour", "closed depot"} {
		w := httptest.NewRecorder()
		err := r.c.siteLive(w, httptest.NewRequest("GET", "/console/site/live?"+url.Values{"site": {site}}.Encode(), nil), ada)
		if err != nil {
			t.Errorf("admin, ?site=%s: %v, want the site's view", site, err)
			continue
		}
		if !strings.Contains(w.Body.String(), "Nobody is signed in") {
			t.Errorf("admin, ?site=%s: %s", site, w.Body.String())
		}
	}
}

// TestAdminLiveSiteNamedAsFirstKiosk: a site enrolled in two spellings
// and not among those whose kiosks the capped block lists is named, in
// the block's site links, as its first kiosk in use (by folded name)
// spells it, as the whole read named it: also when the kiosks' names are
// not ASCII, which SQLite's NOCASE does not fold.
func TestAdminLiveSiteNamedAsFirstKiosk(t *testing.T) {
	ctx := t.Context()
	r := newSelfRace(t)
	liveKiosks(t, r, r.st.Store, liveCap+1, "aaa")
	now := time.Now().UTC()
	for i, k := range []struct{ name, site string }{{"Ärz", "Zeta"}, {"ärb", "Zeta"}, {"ärc", "zeta"}} {
		id := "dev-z" + string(rune('0'+i))
		if _, err := r.st.CreateDevice(ctx, store.Device{ID: id, Name: k.name, Site: k.site, Profile: "generic-x86",
			State: store.DeviceActive, Created: now, Modified: now}); err != nil {
			t.Fatal(err)
		}
		if _, err := r.st.CreateSession(ctx, store.Session{ID: "s-" + id, UserID: "u-aaa-0-0", DeviceID: id, Role: "Picker",
			Started: now, Expires: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	ada := r.account(t, "ada", store.ConsoleAdmin)
	want := wholeLive(t, r.c, r.st.Store)
	got, err := r.c.live(ctx, ada)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want.Sites, got.Sites); diff != "" {
		t.Errorf("the sites linked (-whole read +read capped):\n%s", diff)
	}
}
