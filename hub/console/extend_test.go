package console_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/console"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestExtendShiftAtSupervisedSitesOnly: a supervisor of north extends a
// worker of north and south at north only. Naming south, or a site the
// supervisor does not supervise, is 403 and changes nothing, and so is
// the JSON API with the supervisor's session. At north the worker's north
// session gets the later end and the south one keeps the shift's; with no
// site named the extension goes to the one site of the worker's the
// supervisor may act on. An admin may extend at any of the worker's
// sites, but must name one for a worker of several, and one the worker
// works at.
func TestExtendShiftAtSupervisedSitesOnly(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	ctx := t.Context()
	w := makeWorld(t, h)
	now := time.Now().UTC()
	shiftEnd := now.Add(time.Hour)
	both, err := h.Engine().CreateUser(ctx, lifecycleActor, store.User{ID: "user-both", UserName: "both.worker", Active: true, Sites: []string{"north", "south"},
		Shifts: []store.Shift{{Start: now.Add(-time.Hour), End: shiftEnd}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Engine().CreateGroup(ctx, lifecycleActor, store.Group{ID: "g-nurse", DisplayName: "Nurse", Members: []string{both.ID}}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []store.Device{w.northKiosk, w.southKiosk} {
		if _, err := h.Store().CreateSession(ctx, store.Session{ID: "both-" + d.Site, UserID: both.ID, DeviceID: d.ID, Role: "Nurse", Started: now, Expires: shiftEnd}); err != nil {
			t.Fatal(err)
		}
	}
	admin := bootstrapAdmin(t, h)
	sup := admin.supervisor("sam", "north")
	extend := func(c *client, site ...string) resp {
		t.Helper()
		f := url.Values{"user": {both.UserName}, "until": {"2h"}, "reason": {"late handover"}}
		if len(site) > 0 {
			f.Set("site", site[0])
		}
		return c.post("/console/site/extensions", f)
	}
	extensions := func() []store.ShiftExtension {
		t.Helper()
		xs, err := h.Store().ListShiftExtensions(ctx, both.ID)
		if err != nil {
			t.Fatal(err)
		}
		return xs
	}
	expires := func(id string) time.Time {
		t.Helper()
		s, err := h.Store().GetSession(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return s.Expires
	}

	before := auditCount(t, h)
	for _, site := range []string{"south", "SOUTH", "west"} {
		if r := extend(sup, site); r.Status != http.StatusForbidden {
			t.Errorf("supervisor of north extends at %s: %d, want 403", site, r.Status)
		}
	}
	for _, site := range []string{"south", "north"} {
		r := sup.do("POST", "/api/v1/users/"+both.UserName+"/extend", map[string]any{"site": site, "until": now.Add(2 * time.Hour), "reason": "x"}, console.CSRFHeader, sup.csrf)
		if r.Status != http.StatusForbidden {
			t.Errorf("supervisor on the API extends at %s: %d %s, want 403", site, r.Status, r.Body)
		}
	}
	if n := auditCount(t, h); n != before || len(extensions()) != 0 {
		t.Fatalf("refused extensions wrote %d audit records and stored %v", n-before, extensions())
	}
	if !expires("both-south").Equal(shiftEnd) || !expires("both-north").Equal(shiftEnd) {
		t.Fatal("a refused extension moved a session")
	}

	if r := extend(sup, "north"); r.Status != http.StatusSeeOther {
		t.Fatalf("supervisor of north extends at north: %d %s", r.Status, r.Body)
	}
	xs := extensions()
	if len(xs) != 1 || xs[0].Site != "north" || xs[0].Approver != "console:sam" {
		t.Fatalf("extensions = %+v, want one at north approved by console:sam", xs)
	}
	if got := expires("both-north"); !got.Equal(xs[0].End) {
		t.Errorf("north session expires %s, want the extension's end %s", got, xs[0].End)
	}
	if got := expires("both-south"); !got.Equal(shiftEnd) {
		t.Errorf("south session expires %s, want the shift's end %s", got, shiftEnd)
	}
	recs, _ := h.Store().SearchAudit(ctx, store.AuditSearch{Action: "shift.extend"})
	if len(recs) != 1 || !strings.Contains(string(recs[0].Detail), `"site":"north"`) {
		t.Errorf("audit of the extension: %+v, want it to name site north", recs)
	}
	// No site named: the worker's one site the supervisor acts on.
	if r := extend(sup); r.Status != http.StatusSeeOther {
		t.Fatalf("supervisor extends without naming a site: %d %s", r.Status, r.Body)
	}
	if xs := extensions(); len(xs) != 2 || xs[1].Site != "north" {
		t.Errorf("extensions = %+v, want the second at north", xs)
	}

	// An admin names one of the worker's sites.
	for _, tc := range []struct {
		site []string
		msg  string
	}{
		{nil, "choose the site where the extension counts: both.worker works at north, south"},
		{[]string{"west"}, `does not work at site "west"`},
	} {
		r := extend(admin, tc.site...)
		if msg := html.UnescapeString(r.Body); r.Status != http.StatusBadRequest || !strings.Contains(msg, tc.msg) {
			t.Errorf("admin extends at %v: %d, want 400 saying %q", tc.site, r.Status, tc.msg)
		}
	}
	if r := extend(admin, "south"); r.Status != http.StatusSeeOther {
		t.Fatalf("admin extends at south: %d %s", r.Status, r.Body)
	}
	if xs := extensions(); len(xs) != 3 || xs[2].Site != "south" || !expires("both-south").Equal(xs[2].End) {
		t.Errorf("after the admin's extension at south: %+v, south session expires %s", xs, expires("both-south"))
	}

	// The form offers the supervisor's sites.
	if page := sup.get("/console/site/"); !strings.Contains(page.Body, `<select id="extend-site" name="site"`) || !strings.Contains(page.Body, `<option value="north">`) {
		t.Errorf("site page has no site choice for the extension")
	}
}
