package console_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

var liveBackField = regexp.MustCompile(`<input type="hidden" name="back" value="([^"]*)">`)

// aeSession puts a kiosk of site "A&E" (a name with a character that
// means something in a URL's query) in use, and returns it with its
// session.
func aeSession(t *testing.T, h *hubtest.Hub) (store.Device, store.Session) {
	t.Helper()
	ctx, now := t.Context(), time.Now().UTC()
	d, err := h.Store().CreateDevice(ctx, store.Device{ID: "dev-ae", Name: "ae-1", Site: "A&E", Profile: "generic-x86", State: store.DeviceActive, Created: now, Modified: now})
	if err != nil {
		t.Fatal(err)
	}
	u, err := h.Engine().CreateUser(ctx, lifecycleActor, store.User{ID: "user-ae", UserName: "ae.worker", Active: true, Sites: []string{"A&E"}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := h.Store().CreateSession(ctx, store.Session{ID: "sess-ae", UserID: u.ID, DeviceID: d.ID, Role: "Nurse", Started: now, Expires: now.Add(8 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return d, s
}

// TestSiteViewSignoutStaysInView: Sign out and Clear kiosk in the site
// page's view of one site (?site=) return to that view, not to every site
// the supervisor has: a supervisor of many sites kept losing the one it
// watched. The site is query-escaped ("A&E" is not site "A"); a back that
// is not one of the viewer's sites' views, or not a console page, returns
// to the site page.
func TestSiteViewSignoutStaysInView(t *testing.T) {
	h, w, admin := adminWorld(t)
	ae, aeSess := aeSession(t, h)
	sup := admin.supervisor("sam", "north", "A&E")
	view := "/console/site/?" + url.Values{"site": {"A&E"}}.Encode()

	page := sup.get(view)
	if page.Status != http.StatusOK {
		t.Fatalf("A&E's view: %d %s", page.Status, page.Body)
	}
	backs := liveBackField.FindAllStringSubmatch(page.Body, -1)
	if len(backs) != 2 { // Sign out and Clear kiosk of ae-1
		t.Fatalf("A&E's view has %d back fields, want 2:\n%s", len(backs), page.Body)
	}
	back := html.UnescapeString(backs[0][1])
	if u, err := url.Parse(back); err != nil || u.Path != "/console/site/" || u.Query().Get("site") != "A&E" {
		t.Fatalf("the view's forms return to %q, want A&E's view", back)
	}

	if r := sup.post("/console/site/sessions/"+aeSess.ID+"/signout", url.Values{"back": {back}}); r.Status != http.StatusSeeOther ||
		r.location() != "/console/site/?site=A%26E&ok=session-ended" {
		t.Errorf("sign out in A&E's view: %d to %q, want A&E's view", r.Status, r.location())
	}
	if r := sup.post("/console/site/devices/"+ae.ID+"/signout", url.Values{"back": {back}}); r.Status != http.StatusSeeOther ||
		r.location() != "/console/site/?site=A%26E&ok=kiosk-cleared" {
		t.Errorf("clear kiosk in A&E's view: %d to %q, want A&E's view", r.Status, r.location())
	}
	if p := sup.get("/console/site/?site=A%26E&ok=kiosk-cleared"); p.Status != http.StatusOK || !strings.Contains(p.Body, "at A&amp;E") {
		t.Errorf("the view returned to: %d, not A&E's:\n%s", p.Status, p.Body)
	}

	// Any other back: the site page, or a view of the viewer's site
	// built anew (the site as the account spells it, nothing else of the
	// form's text).
	signout := "/console/site/sessions/" + w.northSession.ID + "/signout"
	for _, tc := range []struct{ name, back, want string }{
		{"another's site", "/console/site/?site=south", "/console/site/"},
		{"no such site", "/console/site/?site=nowhere", "/console/site/"},
		{"two sites", "/console/site/?site=north&site=A%26E", "/console/site/"},
		{"other host", "https://evil.example/console/site/?site=north", "/console/site/"},
		{"scheme-relative", "//evil.example/console/site/?site=north", "/console/site/"},
		{"other page", "/console/users/?site=north", "/console/site/"},
		{"its own case", "/console/site/?site=NORTH", "/console/site/?site=north"},
		{"more in the query", "/console/site/?site=north&next=//evil.example", "/console/site/?site=north"},
	} {
		r := sup.post(signout, url.Values{"back": {tc.back}})
		loc, _, _ := strings.Cut(r.location(), "ok=")
		if r.Status != http.StatusSeeOther || strings.TrimRight(loc, "?&") != tc.want {
			t.Errorf("%s: back %q: %d to %q, want %q", tc.name, tc.back, r.Status, r.location(), tc.want)
		}
	}
}

// TestSiteViewUnknownSite: the view of a site that does not exist, or
// that is not the supervisor's, is a 404 saying so, with the same words
// for both (a supervisor cannot find out other sites' names), on the
// page, its live block and its live-update stream. An admin's mistyped
// site is a 404 too, not an empty view that reads as nobody signed in.
func TestSiteViewUnknownSite(t *testing.T) {
	_, _, admin := adminWorld(t)
	sup := admin.supervisor("sam", "north")
	var first string
	for _, site := range []string{"south", "nowhere"} {
		for _, path := range []string{"/console/site/", "/console/site/live", "/console/site/events"} {
			r := sup.do("GET", path+"?site="+site, nil, "Sec-Fetch-Site", "same-origin")
			if r.Status != http.StatusNotFound || !strings.Contains(r.Body, "no such site") || strings.Contains(r.Body, "north-1") {
				t.Errorf("supervisor of north, %s?site=%s: %d %s; want 404 saying there is no such site", path, site, r.Status, r.Body)
			}
			if path == "/console/site/" {
				if first == "" {
					first = r.Body
				} else if r.Body != first {
					t.Errorf("the answers for another's site and no site differ:\n%s\n%s", first, r.Body)
				}
			}
		}
	}
	if r := admin.get("/console/site/?site=nowhere"); r.Status != http.StatusNotFound {
		t.Errorf("admin, a site that does not exist: %d, want 404", r.Status)
	}
	for _, site := range []string{"south", "SOUTH"} {
		if r := admin.get("/console/site/?site=" + site); r.Status != http.StatusOK || !strings.Contains(r.Body, "south-1") {
			t.Errorf("admin, %s: %d, want its view", site, r.Status)
		}
	}
	if r := sup.get("/console/site/?site=North"); r.Status != http.StatusOK || !strings.Contains(r.Body, "north-1") {
		t.Errorf("supervisor, its own site: %d, want its view", r.Status)
	}
}
