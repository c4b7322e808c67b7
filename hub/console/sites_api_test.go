package console_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub/console"
	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// TestSitesAPIIsForAdmins: with a console session, an admin may list
// sites and set a site's time zone over the JSON API (with the CSRF
// header); a supervisor, even of that site, gets 403 for both and changes
// nothing.
func TestSitesAPIIsForAdmins(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	admin := bootstrapAdmin(t, h)
	sup := admin.supervisor("sam", "north")

	before := auditCount(t, h)
	if r := sup.do("PUT", "/api/v1/sites/north", map[string]string{"timeZone": "Europe/Berlin"}, console.CSRFHeader, sup.csrf); r.Status != http.StatusForbidden {
		t.Errorf("supervisor PUT: %d %s, want 403", r.Status, r.Body)
	}
	if r := sup.do("GET", "/api/v1/sites", nil); r.Status != http.StatusForbidden {
		t.Errorf("supervisor GET: %d %s, want 403", r.Status, r.Body)
	}
	if n := auditCount(t, h); n != before {
		t.Errorf("the supervisor's requests wrote %d audit records", n-before)
	}
	if sites, err := h.Store().ListSites(t.Context()); err != nil || len(sites) != 0 {
		t.Fatalf("sites after the supervisor's PUT: %+v, %v; want none", sites, err)
	}

	if r := admin.do("PUT", "/api/v1/sites/north", map[string]string{"timeZone": "Europe/Berlin"}); r.Status != http.StatusForbidden {
		t.Errorf("admin PUT without the CSRF header: %d %s, want 403", r.Status, r.Body)
	}
	if r := admin.do("PUT", "/api/v1/sites/north", map[string]string{"timeZone": "Europe/Berlin"}, console.CSRFHeader, admin.csrf); r.Status != http.StatusCreated {
		t.Fatalf("admin PUT: %d %s, want 201", r.Status, r.Body)
	}
	if r := admin.do("GET", "/api/v1/sites", nil); r.Status != http.StatusOK || !strings.Contains(r.Body, `"timeZone":"Europe/Berlin"`) {
		t.Errorf("admin GET: %d %s, want north in Europe/Berlin", r.Status, r.Body)
	}
	s, err := h.Store().GetSiteByName(t.Context(), "north")
	if err != nil || s.TimeZone != "Europe/Berlin" {
		t.Errorf("north: %+v, %v; want Europe/Berlin", s, err)
	}
}
