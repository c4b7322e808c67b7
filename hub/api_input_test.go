package hub_test

import (
	"database/sql"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestAPICampaignNameHidden: an access review's name is a name like a
// kiosk's or a site's: it is shown in the console's review list, to every
// reviewer, and in the audit trail and evidence exports. One with a
// control character or an invisible formatting character (a right-to-left
// override, a zero-width space) is refused (400, saying so) and no
// campaign is started, as for the other names the API stores.
func TestAPICampaignNameHidden(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	due := time.Now().AddDate(0, 1, 0).UTC().Format(time.DateOnly)
	for _, name := range []string{"Q4 \u202enorth", "Q4\u200bnorth", "Q4\x1b[2Jnorth"} {
		r := h.API(t, "POST", "/api/v1/reviews", map[string]string{"name": name, "due": due})
		if msg, _ := r.JSON()["error"].(string); r.Status != http.StatusBadRequest || !strings.Contains(msg, "invisible formatting character") {
			t.Errorf("start a campaign named %q: %d %s, want 400 naming the hidden character", name, r.Status, r.Body)
		}
	}
	m := wantAPI(t, h.API(t, "GET", "/api/v1/reviews", nil), http.StatusOK)
	if cs, _ := m["campaigns"].([]any); len(cs) != 0 {
		t.Errorf("campaigns after the refused starts: %v", cs)
	}
	// A plain name still starts one.
	wantAPI(t, h.API(t, "POST", "/api/v1/reviews", map[string]string{"name": "Q4 north", "due": due}), http.StatusCreated)
}

// TestAPITimeWithoutOffset: a grant's end or an extension's until sent
// without its UTC offset (a local time, the most common mistake of a
// script) is a 400 that quotes the value and shows what an RFC 3339 time
// looks like, as PUT /shifts answers, not Go's parse error with its
// reference layout ("2006-01-02T15:04:05Z07:00"), which reads like a
// date to send.
func TestAPITimeWithoutOffset(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	createUser(t, h, "jo", `{"sites":["north"]}`)
	for _, tc := range []struct{ path, body string }{
		{"/api/v1/grants", `{"user":"jo","role":"Nurse","site":"north","reason":"cover","end":"2026-12-01T18:00:00"}`},
		{"/api/v1/grants", `{"user":"jo","role":"Nurse","site":"north","reason":"cover","start":"2026-12-01 06:00","end":"2026-12-01T18:00:00Z"}`},
		{"/api/v1/users/jo/extend", `{"site":"north","until":"2026-12-01T18:00:00","reason":"cover"}`},
	} {
		r := h.API(t, "POST", tc.path, tc.body)
		msg, _ := r.JSON()["error"].(string)
		if r.Status != http.StatusBadRequest || !strings.Contains(msg, "RFC 3339") || !strings.Contains(msg, "2026-12-01") ||
			strings.Contains(msg, "2006-01-02") {
			t.Errorf("POST %s %s: %d %s, want 400 quoting the time and saying it needs its UTC offset", tc.path, tc.body, r.Status, r.Body)
		}
	}
}

// TestAPIGrantUnknownSiteMessage: a grant at a site the hub does not know
// is a 400 whose message names the site as sent, without an empty site
// in front of it ("grant Nurse at : …").
func TestAPIGrantUnknownSiteMessage(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	createUser(t, h, "jo", `{"sites":["north"]}`)
	end := time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339)
	r := h.API(t, "POST", "/api/v1/grants", map[string]string{"user": "jo", "role": "Nurse", "site": "south", "reason": "cover", "end": end})
	msg, _ := r.JSON()["error"].(string)
	if r.Status != http.StatusBadRequest || !strings.Contains(msg, `"south"`) || strings.Contains(msg, "at :") {
		t.Errorf("grant at an unknown site: %d %s, want 400 naming the site", r.Status, r.Body)
	}
}

// TestAPIEmptyBody: a call sent without its body (a script that forgot
// it, or a proxy that dropped it) or with a body cut off is a 400 that
// says so, on the calls decoded by the API and by access reviews alike,
// not Go's "EOF" or "unexpected EOF".
func TestAPIEmptyBody(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	for _, tc := range []struct{ method, path, body, want string }{
		{"POST", "/api/v1/grants", "", "empty"},
		{"POST", "/api/v1/enrollments", " \n", "empty"},
		{"PUT", "/api/v1/sites/north", "", "empty"},
		{"PUT", "/api/v1/users/jo/shifts", "", "empty"},
		{"POST", "/api/v1/reviews", "", "empty"},
		{"POST", "/api/v1/grants", `{"user":"jo"`, "ends before"},
		{"POST", "/api/v1/reviews", `{"name":"q"`, "ends before"},
	} {
		r := h.API(t, tc.method, tc.path, tc.body)
		msg, _ := r.JSON()["error"].(string)
		if r.Status != http.StatusBadRequest || !strings.Contains(msg, tc.want) || strings.Contains(msg, "EOF") {
			t.Errorf("%s %s with body %q: %d %s, want 400 saying the body is %s", tc.method, tc.path, tc.body, r.Status, r.Body, tc.want)
		}
	}
}

// TestAPIRevokeGrantNotFound: revoking a grant that is unknown, or over
// or revoked already (a script run twice), is a 404 that says which, in
// the API's words, not the engine's ("revoke grant X: revoke grant X:
// not found"); an ID far longer than a grant's (a UUID) is not echoed
// whole.
func TestAPIRevokeGrantNotFound(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	createUser(t, h, "jo", `{"sites":["north"]}`)
	wantAPI(t, h.API(t, "PUT", "/api/v1/sites/north", map[string]string{"timeZone": "UTC"}), http.StatusCreated)
	end := time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339)
	g := wantAPI(t, h.API(t, "POST", "/api/v1/grants", map[string]string{"user": "jo", "role": "Nurse", "site": "north", "reason": "cover", "end": end}), http.StatusCreated)
	id, _ := g["id"].(string)
	wantAPI(t, h.API(t, "POST", "/api/v1/grants/"+id+"/revoke", nil), http.StatusOK)

	long := strings.Repeat("x", 4000)
	for _, gid := range []string{id, "f00d", long} {
		r := h.API(t, "POST", "/api/v1/grants/"+gid+"/revoke", nil)
		msg, _ := r.JSON()["error"].(string)
		if r.Status != http.StatusNotFound || !strings.Contains(msg, "revoked already") || strings.Count(msg, "revoke grant") > 0 || strings.Contains(msg, long) {
			t.Errorf("revoke grant %.40s: %d %.300s, want 404 saying it is over, revoked or unknown", gid, r.Status, r.Body)
		}
	}
}

// TestAPIUsersNamedAlikeBeforeFolding: a database from before userNames
// were compared under Unicode case folding may hold two users whose
// names differ in non-ASCII case only ("Zoë" and "ZOË"); they keep
// working (hub/README.md, SCIM). The calls that name a user in the path
// or the body find each under its own spelling: a force sign-out of
// either is not a 404 "no user" (nor a badge enrollment, nor a grant).
// A spelling that is neither's is a 409 naming both, not a 404.
func TestAPIUsersNamedAlikeBeforeFolding(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	zoe := createUser(t, h, "Zoë", `{"sites":["north"]}`)
	other := createUser(t, h, "zoe-legacy", `{"sites":["north"]}`)
	// The second user as a database from before folding holds it: the
	// store refuses to make it now.
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(h.DataDir, hub.DBFile)+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE users SET user_name = ?, user_name_key = ? WHERE id = ?`, "ZOË", store.FoldName("ZOË"), other); err != nil {
		t.Fatal(err)
	}
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")

	end := time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339)
	for _, tc := range []struct{ name, id string }{{"Zoë", zoe}, {"ZOË", other}} {
		wantAPI(t, h.API(t, "POST", "/api/v1/users/"+tc.name+"/signout", nil), http.StatusOK)
		m := wantAPI(t, h.API(t, "GET", "/api/v1/users/"+tc.name+"/shifts", nil), http.StatusOK)
		if m["user"] != tc.name {
			t.Errorf("GET /users/%s/shifts answered for %v", tc.name, m["user"])
		}
		g := wantAPI(t, h.API(t, "POST", "/api/v1/grants", map[string]string{"user": tc.name, "role": "Nurse", "site": "north", "reason": "cover", "end": end}), http.StatusCreated)
		gs, err := h.Store().ListGrants(t.Context(), tc.id)
		if err != nil || len(gs) != 1 || gs[0].ID != g["id"] {
			t.Errorf("grant to %s: stored for its user %+v (%v), want grant %v", tc.name, gs, err, g["id"])
		}
		wantAPI(t, h.API(t, "POST", "/api/v1/enrollments", map[string]string{"user": tc.name, "device": "north-1"}), http.StatusAccepted)
		k.Recv(5 * time.Second) // the enroll.start
	}

	r := h.API(t, "POST", "/api/v1/users/zoë/signout", nil)
	msg, _ := r.JSON()["error"].(string)
	if r.Status != http.StatusConflict || !strings.Contains(msg, `"Zoë"`) || !strings.Contains(msg, `"ZOË"`) {
		t.Errorf("sign out zoë, the name of neither exactly: %d %s, want 409 naming both", r.Status, r.Body)
	}
}
