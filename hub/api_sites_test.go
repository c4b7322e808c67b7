package hub_test

import (
	"cmp"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// TestSitesAPI: PUT /api/v1/sites/{name} registers a site with its time
// zone (201) and then changes it (200), each time moving the end of a user
// of the site sent as a calendar day to 24:00 of that day in the site's
// zone; the live session at the site's kiosk that now outlasts the day is
// shortened and its kiosk told at once. A bad zone, a missing one, a
// misnamed or repeated field are 400 and change nothing; GET lists the
// sites; only admins may use either.
func TestSitesAPI(t *testing.T) {
	h, clock, now := startClocked(t, hubtest.Options{})
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	day, endIn := dayAfter(now, 1)
	uid := createUser(t, h, "ana", `{"sites":["north"],"endDate":"`+day+`"}`)
	createGroup(t, h, "Nurse", uid)
	if u := user(t, h, uid); !u.EndDate.Equal(endIn(time.UTC)) {
		t.Fatalf("before north is registered: end %s, want %s (UTC)", u.EndDate, endIn(time.UTC))
	}
	type site struct {
		Name             string    `json:"name"`
		TimeZone         string    `json:"timeZone"`
		Created          time.Time `json:"created"`
		PreviousTimeZone *string   `json:"previousTimeZone"`
		UsersRedated     int       `json:"usersRedated"`
		SessionsEnded    int       `json:"sessionsEnded"`
	}
	put := func(name string, body any, status int) site {
		t.Helper()
		r := h.API(t, "PUT", "/api/v1/sites/"+name, body)
		if r.Status != status {
			t.Fatalf("PUT %s %v: %d %s, want %d", name, body, r.Status, r.Body, status)
		}
		var s site
		if err := json.Unmarshal(r.Body, &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	list := func() []site {
		t.Helper()
		r := h.API(t, "GET", "/api/v1/sites", nil)
		var out struct{ Sites []site }
		if r.Status != http.StatusOK || json.Unmarshal(r.Body, &out) != nil || out.Sites == nil {
			t.Fatalf("GET /api/v1/sites: %d %s", r.Status, r.Body)
		}
		return out.Sites
	}
	if got := list(); len(got) != 0 {
		t.Fatalf("sites before any was registered: %+v", got)
	}

	got := put("north", map[string]string{"timeZone": "America/Los_Angeles"}, http.StatusCreated)
	if got.Name != "north" || got.TimeZone != "America/Los_Angeles" || !got.Created.Equal(now) || got.PreviousTimeZone != nil || got.UsersRedated != 1 {
		t.Errorf("created %+v; want north in America/Los_Angeles, created now, one user redated", got)
	}
	if u := user(t, h, uid); !u.EndDate.Equal(endIn(la)) {
		t.Errorf("after north was registered in Los Angeles: end %s, want %s", u.EndDate, endIn(la))
	}

	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	badge := registerBadge(t, h, k, "ana")
	moveTo(clock, endIn(tokyo).Add(-time.Hour))
	g := grant(t, first(tap(t, k, badge)))
	if !g.ExpiresAt.After(endIn(tokyo)) {
		t.Fatalf("session expires %s, want after %s, the end of the day in Tokyo", g.ExpiresAt, endIn(tokyo))
	}

	got = put("NORTH", map[string]string{"timeZone": "Asia/Tokyo"}, http.StatusOK)
	if got.Name != "north" || got.TimeZone != "Asia/Tokyo" || got.PreviousTimeZone == nil || *got.PreviousTimeZone != "America/Los_Angeles" || got.UsersRedated != 1 || got.SessionsEnded != 0 {
		t.Errorf("updated %+v; want north from America/Los_Angeles to Asia/Tokyo, one user redated", got)
	}
	expectExtend(t, k, g.SessionID, endIn(tokyo), wire.ReasonExpired)
	if u := user(t, h, uid); !u.EndDate.Equal(endIn(tokyo)) {
		t.Errorf("after north moved to Tokyo: end %s, want %s", u.EndDate, endIn(tokyo))
	}
	if n := count(t, h, "site.update", "site:north"); n != 1 {
		t.Errorf("%d site.update records, want 1", n)
	}

	for _, tc := range []struct {
		name string
		site string // escaped for the path; "" for north
		body string
		want string // in the error
	}{
		{"a zone that is not an IANA name", "", `{"timeZone": "Asia/Tokio"}`, "such as Europe/Berlin"},
		{"the host's zone", "", `{"timeZone": "Local"}`, "such as Europe/Berlin"},
		{"no zone", "", `{}`, "such as Europe/Berlin"},
		{"an empty zone", "", `{"timeZone": " "}`, "such as Europe/Berlin"},
		{"a misnamed field", "", `{"timezone_name": "UTC"}`, "timezone_name"},
		{"a repeated field", "", `{"timeZone": "UTC", "TIMEZONE": "Asia/Tokyo"}`, "twice"},
		{"a control character", "", `{"timeZone": "UTC\n"}`, "control"},
		{"a right-to-left override", "", `{"timeZone": "UTC\u202e"}`, "invisible formatting character"},
		{"a zero-width space in the site's name", "nor%E2%80%8Bth", `{"timeZone": "UTC"}`, "invisible formatting character"},
		{"not JSON", "", `timeZone=UTC`, "JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			site := cmp.Or(tc.site, "north")
			r := h.API(t, "PUT", "/api/v1/sites/"+site, tc.body)
			var e struct{ Error string }
			json.Unmarshal(r.Body, &e)
			if r.Status != http.StatusBadRequest || !strings.Contains(e.Error, tc.want) {
				t.Errorf("%d %s, want 400 saying %q", r.Status, r.Body, tc.want)
			}
		})
	}
	if r := h.API(t, "PUT", "/api/v1/sites/north", `{"timeZone": "`+strings.Repeat("x", 70<<10)+`"}`); r.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("a body over the limit: %d, want 413", r.Status)
	}
	if n := count(t, h, "site.update", "site:north"); n != 1 {
		t.Errorf("refused requests wrote %d site.update records", n-1)
	}

	put("East", map[string]string{"timeZone": "Europe/Berlin"}, http.StatusCreated)
	sites := list()
	if len(sites) != 2 || sites[0].Name != "East" || sites[0].TimeZone != "Europe/Berlin" ||
		sites[1].Name != "north" || sites[1].TimeZone != "Asia/Tokyo" || !sites[1].Created.Equal(now) {
		t.Errorf("GET /api/v1/sites: %+v; want East (Europe/Berlin) and north (Asia/Tokyo) by name", sites)
	}

	for _, tc := range []struct {
		name, token string
	}{
		{"no token", ""},
		{"a SCIM token", h.SCIMToken},
	} {
		for _, req := range [][2]string{{"GET", "/api/v1/sites"}, {"PUT", "/api/v1/sites/north"}} {
			if r := h.DoToken(t, tc.token, req[0], req[1], `{"timeZone": "UTC"}`); r.Status != http.StatusUnauthorized {
				t.Errorf("%s with %s: %d, want 401", req[0], tc.name, r.Status)
			}
		}
	}
	if sites := list(); sites[1].TimeZone != "Asia/Tokyo" {
		t.Errorf("north after refused requests: %+v", sites[1])
	}
}
