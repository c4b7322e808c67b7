package console_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3" // users named alike, as a file from before names were folded holds them

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestSiteFormsUsersNamedAlikeBeforeFolding: a database from before
// userNames were compared under Unicode case folding may hold users whose
// names differ in non-ASCII case only; they keep working (hub/README.md).
// Here "Zoë.Öst" and "ZOË.ÖST" work at north, "zoë.öst" at south. The
// site forms (grant, extend, enroll) find each under its exact spelling,
// for an admin and for a supervisor, rather than answering "no user".
// A spelling that is none of theirs is a 409 listing them: all three for
// an admin, only those at a supervisor's sites for the supervisor, and
// for a supervisor with one of them in scope, that one (as if it were
// the only one: nothing outside its scope shows). A supervisor naming
// exactly a user of another site gets the 403 of no user at all.
func TestSiteFormsUsersNamedAlikeBeforeFolding(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	ctx := t.Context()
	now := time.Now().UTC()
	k := h.EnrollKiosk(t, "north-1", "north")
	h.EnrollKiosk(t, "south-1", "south")
	if _, err := h.Engine().CreateGroup(ctx, lifecycleActor, store.Group{ID: "g-nurse", DisplayName: "Nurse"}); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(h.DataDir, hub.DBFile)+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const upper, lower, title = "ZOË.ÖST", "zoë.öst", "Zoë.Öst"
	id := map[string]string{}
	for i, u := range []struct{ name, site string }{{title, "north"}, {upper, "north"}, {lower, "south"}} {
		// Each is made under a name of its own, then renamed as the old
		// database holds it: the store refuses such a name now.
		made, err := h.Engine().CreateUser(ctx, lifecycleActor, store.User{ID: fmt.Sprintf("user-zoe-%d", i),
			UserName: fmt.Sprintf("zoe-%d", i), Active: true, Sites: []string{u.site},
			Shifts: []store.Shift{{Start: now.Add(-time.Hour), End: now.Add(time.Hour)}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `UPDATE users SET user_name = ?, user_name_key = ? WHERE id = ?`, u.name, store.FoldName(u.name), made.ID); err != nil {
			t.Fatal(err)
		}
		id[u.name] = made.ID
	}
	if us, _, err := h.Store().ListUsers(ctx, store.UserQuery{UserName: lower}); err != nil || len(us) != 3 {
		t.Fatalf("users named %s up to case: %d, %v; want 3", lower, len(us), err)
	}

	admin := bootstrapAdmin(t, h)
	sam := admin.supervisor("sam", "north")
	sue := admin.supervisor("sue", "south")
	grants := map[string]int{}
	for _, tc := range []struct {
		who      string
		c        *client
		name     string
		site     string
		status   int
		user     string   // whose grant is stored on success
		msg      string   // in the refusal
		listed   []string // quoted in a 409
		unlisted []string // not in the refusal
	}{
		{who: "admin", c: admin, name: title, site: "north", status: http.StatusSeeOther, user: title},
		{who: "admin", c: admin, name: upper, site: "north", status: http.StatusSeeOther, user: upper},
		{who: "admin", c: admin, name: lower, site: "south", status: http.StatusSeeOther, user: lower},
		{who: "admin", c: admin, name: "ZOË.öst", site: "north", status: http.StatusConflict, msg: "3 users have the name", listed: []string{title, upper, lower}},
		{who: "sam", c: sam, name: title, site: "north", status: http.StatusSeeOther, user: title},
		{who: "sam", c: sam, name: upper, site: "north", status: http.StatusSeeOther, user: upper},
		{who: "sam", c: sam, name: "ZOË.öst", site: "north", status: http.StatusConflict, msg: "2 users have the name", listed: []string{title, upper}, unlisted: []string{lower}},
		{who: "sam", c: sam, name: lower, site: "north", status: http.StatusForbidden, msg: "no user " + lower + " at your sites", unlisted: []string{title, upper}},
		{who: "sue", c: sue, name: "ZOË.öst", site: "south", status: http.StatusSeeOther, user: lower},
		{who: "sue", c: sue, name: title, site: "south", status: http.StatusForbidden, msg: "no user " + title + " at your sites", unlisted: []string{upper, lower}},
	} {
		r := tc.c.post("/console/site/grants", url.Values{"user": {tc.name}, "role": {"Nurse"}, "site": {tc.site}, "until": {"2h"}, "reason": {"cover"}})
		if r.Status != tc.status {
			t.Errorf("%s grants %s: %d %s, want %d", tc.who, tc.name, r.Status, r.Body, tc.status)
		}
		if tc.user != "" {
			grants[tc.user]++
		}
		body := html.UnescapeString(r.Body)
		if tc.msg != "" && !strings.Contains(body, tc.msg) {
			t.Errorf("%s grants %s: %s, want %q", tc.who, tc.name, body, tc.msg)
		}
		for _, n := range tc.listed {
			if !strings.Contains(body, `"`+n+`"`) {
				t.Errorf("%s grants %s: %s, want it to list %q", tc.who, tc.name, body, n)
			}
		}
		for _, n := range tc.unlisted {
			if strings.Contains(body, n) {
				t.Errorf("%s grants %s: %s names %q, a user the viewer may not see or did not name", tc.who, tc.name, body, n)
			}
		}
		for n, uid := range id {
			if gs, err := h.Store().ListGrants(ctx, uid); err != nil || len(gs) != grants[n] {
				t.Fatalf("after %s grants %s: %d grants of %s (%v), want %d", tc.who, tc.name, len(gs), n, err, grants[n])
			}
		}
	}

	// Shift extensions, by the same rule.
	for _, tc := range []struct {
		c      *client
		name   string
		site   string
		status int
		user   string
	}{
		{admin, upper, "north", http.StatusSeeOther, upper},
		{sam, title, "north", http.StatusSeeOther, title},
		{sam, "ZOË.öst", "north", http.StatusConflict, ""},
		{sue, "ZOË.öst", "south", http.StatusSeeOther, lower},
	} {
		before := map[string]int{}
		for n, uid := range id {
			xs, err := h.Store().ListShiftExtensions(ctx, uid)
			if err != nil {
				t.Fatal(err)
			}
			before[n] = len(xs)
		}
		r := tc.c.post("/console/site/extensions", url.Values{"user": {tc.name}, "site": {tc.site}, "until": {"2h"}, "reason": {"late handover"}})
		if r.Status != tc.status {
			t.Errorf("extend %s at %s: %d %s, want %d", tc.name, tc.site, r.Status, r.Body, tc.status)
		}
		for n, uid := range id {
			xs, _ := h.Store().ListShiftExtensions(ctx, uid)
			want := before[n]
			if n == tc.user {
				want++
			}
			if len(xs) != want {
				t.Errorf("extend %s at %s: %s has %d extensions, want %d", tc.name, tc.site, n, len(xs), want)
			}
		}
	}

	// A badge enrollment is armed for the user named, and audited as
	// theirs.
	k.Dial("")
	for _, tc := range []struct {
		c    *client
		name string
	}{{admin, upper}, {sam, title}, {admin, title}, {sam, upper}} {
		if r := tc.c.post("/console/site/enrollments", url.Values{"user": {tc.name}, "device": {k.ID}}); r.Status != http.StatusSeeOther {
			t.Fatalf("enroll %s: %d %s", tc.name, r.Status, r.Body)
		}
		env := k.Recv(5 * time.Second)
		var es wire.EnrollStart
		if err := json.Unmarshal(env.Data, &es); env.Type != wire.TypeEnrollStart || err != nil || es.User != tc.name {
			t.Errorf("enroll %s: the kiosk got %s for %q (%v)", tc.name, env.Type, es.User, err)
		}
		recs, err := h.Store().SearchAudit(ctx, store.AuditSearch{Action: "credential.enroll_authorized"})
		if err != nil || len(recs) == 0 {
			t.Fatalf("audit of the enrollment of %s: %v", tc.name, err)
		}
		if recs[0].Subject != "user:"+id[tc.name] { // newest first
			t.Errorf("enrollment of %s audited for %s, want user:%s", tc.name, recs[0].Subject, id[tc.name])
		}
	}
	if r := sam.post("/console/site/enrollments", url.Values{"user": {"ZOË.öst"}, "device": {k.ID}}); r.Status != http.StatusConflict {
		t.Errorf("sam enrolls ZOË.öst: %d %s, want 409", r.Status, r.Body)
	}
}
