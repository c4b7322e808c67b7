package console_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// siteRowText returns the text of the row of site on the Site time zones
// page, or "" if the page has none.
func siteRowText(t *testing.T, body, site string) string {
	t.Helper()
	_, row, ok := strings.Cut(body, `<tr class="site" data-site="`+site+`">`)
	if !ok {
		return ""
	}
	row, _, _ = strings.Cut(row, "</tr>")
	return html.UnescapeString(row)
}

// TestSitesPageSetsZone: an admin sees the kiosks' sites without a record
// as UTC, registers one with its zone through the form (the store has it,
// the users with calendar days there are redated, the confirmation says
// so, the page lists it), changes it, and is refused without the CSRF
// token.
func TestSitesPageSetsZone(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	ctx := t.Context()
	makeWorld(t, h)
	// A worker of north with a last day sent as a calendar day: its end
	// moves when north gets a zone.
	end := time.Now().UTC().AddDate(0, 1, 0).Format(store.DayLayout)
	if _, err := h.Engine().CreateUser(ctx, lifecycleActor, store.User{ID: "user-days", UserName: "days.worker", Active: true, Sites: []string{"north"}, EndDay: end}); err != nil {
		t.Fatal(err)
	}
	admin := bootstrapAdmin(t, h)

	page := admin.get("/console/sites")
	if page.Status != http.StatusOK || !strings.Contains(page.Body, `href="/console/sites" aria-current="page"`) {
		t.Fatalf("GET /console/sites: %d, or no current nav link: %s", page.Status, page.Body)
	}
	for _, site := range []string{"north", "south"} {
		if row := siteRowText(t, page.Body, site); !strings.Contains(row, "UTC (not registered)") {
			t.Errorf("row of %s before registering: %q, want UTC (not registered)", site, row)
		}
	}

	before := auditCount(t, h)
	if r := admin.do("POST", "/console/sites", url.Values{"name": {"north"}, "time_zone": {"Europe/Berlin"}}); r.Status != http.StatusForbidden {
		t.Errorf("POST without the CSRF token: %d, want 403", r.Status)
	}
	if _, err := h.Store().GetSiteByName(ctx, "north"); err == nil {
		t.Fatal("north was registered by a form without the CSRF token")
	}

	r := admin.post("/console/sites", url.Values{"name": {"north"}, "time_zone": {"Europe/Berlin"}})
	body := html.UnescapeString(r.Body)
	if r.Status != http.StatusOK || !strings.Contains(body, "Site north registered: it reads times in Europe/Berlin (until now UTC). 1 user redated; 0 live sessions ended.") {
		t.Fatalf("register north: %d, want 200 with what moved: %s", r.Status, body)
	}
	s, err := h.Store().GetSiteByName(ctx, "north")
	if err != nil || s.TimeZone != "Europe/Berlin" {
		t.Fatalf("north in the store: %+v, %v; want Europe/Berlin", s, err)
	}
	if n := auditCount(t, h); n != before+2 { // site.create, and the redated user's update
		t.Errorf("registering north wrote %d audit records, want 2", n-before)
	}
	page = admin.get("/console/sites")
	if row := siteRowText(t, page.Body, "north"); !strings.Contains(row, "<td>Europe/Berlin</td>") || strings.Contains(row, "not registered") {
		t.Errorf("row of north after registering: %q, want Europe/Berlin", row)
	}
	if row := siteRowText(t, page.Body, "south"); !strings.Contains(row, "UTC (not registered)") {
		t.Errorf("row of south: %q, want UTC (not registered)", row)
	}

	r = admin.post("/console/sites", url.Values{"name": {"NORTH"}, "time_zone": {"America/New_York"}})
	if body := html.UnescapeString(r.Body); r.Status != http.StatusOK || !strings.Contains(body, "Site north now reads times in America/New_York (it was Europe/Berlin). 1 user redated") {
		t.Errorf("change north's zone: %d, want 200 with what moved: %s", r.Status, body)
	}
	if s, err := h.Store().GetSiteByName(ctx, "north"); err != nil || s.TimeZone != "America/New_York" {
		t.Errorf("north after the change: %+v, %v; want America/New_York", s, err)
	}
}

// TestSitesPageBadZone: a zone that is not an IANA name, or none, is 400
// with what to give, the form keeps what was typed, and nothing is
// stored.
func TestSitesPageBadZone(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	admin := bootstrapAdmin(t, h)
	before := auditCount(t, h)
	for _, tc := range []struct{ zone, msg string }{
		{"Mars/Olympus_Mons", `time zone "Mars/Olympus_Mons" is not an IANA time zone name such as Europe/Berlin`},
		{"Local", `time zone "Local" is the hub host's`},
		{"", "give the site's time zone"},
	} {
		r := admin.post("/console/sites", url.Values{"name": {"north"}, "time_zone": {tc.zone}})
		body := html.UnescapeString(r.Body)
		if r.Status != http.StatusBadRequest || !strings.Contains(body, tc.msg) {
			t.Errorf("zone %q: %d, want 400 saying %q: %s", tc.zone, r.Status, tc.msg, body)
		}
		if !strings.Contains(body, `id="site-name" name="name" value="north"`) {
			t.Errorf("zone %q: the form does not keep the site typed", tc.zone)
		}
	}
	if sites, err := h.Store().ListSites(t.Context()); err != nil || len(sites) != 0 {
		t.Errorf("sites after bad zones: %+v, %v; want none", sites, err)
	}
	if n := auditCount(t, h); n != before {
		t.Errorf("bad zones wrote %d audit records", n-before)
	}
}

// TestSitesPageIsForAdmins: a supervisor, even of the site, gets 403 for
// the page and the form, and changes nothing.
func TestSitesPageIsForAdmins(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	admin := bootstrapAdmin(t, h)
	sup := admin.supervisor("sam", "north")
	if r := sup.get("/console/sites"); r.Status != http.StatusForbidden {
		t.Errorf("supervisor GET: %d, want 403", r.Status)
	}
	before := auditCount(t, h)
	if r := sup.post("/console/sites", url.Values{"name": {"north"}, "time_zone": {"Europe/Berlin"}}); r.Status != http.StatusForbidden {
		t.Errorf("supervisor POST: %d, want 403", r.Status)
	}
	if sites, err := h.Store().ListSites(t.Context()); err != nil || len(sites) != 0 {
		t.Errorf("sites after the supervisor's POST: %+v, %v; want none", sites, err)
	}
	if n := auditCount(t, h); n != before {
		t.Errorf("the supervisor's POST wrote %d audit records", n-before)
	}
	if strings.Contains(sup.get("/console/site/").Body, `href="/console/sites"`) {
		t.Error("a supervisor's nav links to the Site time zones page")
	}
}

// TestSitePageZoneHints: the grant and extension forms name, for each of
// the supervisor's sites, the zone typed times are read in: the
// registered one, or UTC for a site without a record.
func TestSitePageZoneHints(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	if _, err := h.Engine().CreateSite(t.Context(), lifecycleActor, store.Site{Name: "north", TimeZone: "Europe/Berlin"}); err != nil {
		t.Fatal(err)
	}
	admin := bootstrapAdmin(t, h)
	sup := admin.supervisor("sam", "north", "south")
	page := sup.get("/console/site/")
	if page.Status != http.StatusOK {
		t.Fatalf("site page: %d %s", page.Status, page.Body)
	}
	body := html.UnescapeString(page.Body)
	for _, form := range []string{`<select id="extend-site"`, `<select id="grant-site"`} {
		_, sel, ok := strings.Cut(body, form)
		sel, _, _ = strings.Cut(sel, "</select>")
		if !ok {
			t.Errorf("no %s> on the site page", form)
			continue
		}
		for _, want := range []string{
			`<option value="north">north — times in Europe/Berlin</option>`,
			`<option value="south">south — times in UTC (site not registered)</option>`,
		} {
			if !strings.Contains(sel, want) {
				t.Errorf("%s>: no %s in %s", form, want, sel)
			}
		}
	}
}
