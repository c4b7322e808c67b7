package console_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/console"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestAuditOlderRecordsLink: the audit page's "Older records" link keeps
// the filters and carries the record number to page from, so following it
// shows the next page, not the first one again.
func TestAuditOlderRecordsLink(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	admin := bootstrapAdmin(t, h)
	log := auditLog(t, h)
	err := h.Store().InTx(t.Context(), func(tx store.Ops) error {
		for i := range 150 {
			if _, err := log.Append(t.Context(), tx, audit.Entry{Actor: "test", System: "test", Action: "test.filler", Subject: "n:" + strconv.Itoa(i)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	first := admin.get("/console/audit?action=test.filler")
	m := regexp.MustCompile(`<a href="([^"]*)"[^>]*>Older records</a>`).FindStringSubmatch(first.Body)
	if first.Status != 200 || m == nil {
		t.Fatalf("first page: %d, no link to older records", first.Status)
	}
	u, err := url.Parse(html.UnescapeString(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	before, err := strconv.ParseInt(q.Get("before"), 10, 64)
	if u.Path != "/console/audit" || q.Get("action") != "test.filler" || err != nil || before < 2 {
		t.Fatalf("older link %q: want /console/audit with action=test.filler and a record number in before", m[1])
	}
	next := admin.get(u.RequestURI())
	if next.Status != 200 || regexp.MustCompile(`<td>`+strconv.FormatInt(before, 10)+`</td>`).MatchString(next.Body) {
		t.Errorf("older page: %d; shows record %d again", next.Status, before)
	}
	if !regexp.MustCompile(`<td>` + strconv.FormatInt(before-1, 10) + `</td>`).MatchString(next.Body) {
		t.Errorf("older page lacks record %d", before-1)
	}
}

// TestNoCookieDoesNotSignOut: a request without the session cookie, as a
// browser sends a navigation from another site (the cookie is
// SameSite=Strict), is sent to sign-in without a Set-Cookie that would
// delete the browser's session; a request with a stale cookie still gets
// it cleared.
func TestNoCookieDoesNotSignOut(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	admin := bootstrapAdmin(t, h)
	plain := h.NewClient(t)
	plain.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	get := func(cookie string) *http.Response {
		t.Helper()
		req, err := http.NewRequest("GET", h.URL+"/console/users", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: console.CookieName, Value: cookie})
		}
		res, err := plain.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	if res := get(""); res.StatusCode != http.StatusSeeOther || len(res.Cookies()) != 0 {
		t.Errorf("cookieless navigation: %d, Set-Cookie %v; want a redirect that leaves the cookie alone", res.StatusCode, res.Cookies())
	}
	res := get("c3RhbGU")
	if cs := res.Cookies(); res.StatusCode != http.StatusSeeOther || len(cs) != 1 || cs[0].Name != console.CookieName || cs[0].MaxAge >= 0 {
		t.Errorf("stale cookie: %d, Set-Cookie %v; want it cleared", res.StatusCode, cs)
	}
	if r := admin.get("/console/users"); r.Status != 200 {
		t.Errorf("admin after the navigations: %d", r.Status)
	}
}

// TestSupervisorCannotEnrollPrivilegedUser: a supervisor may not arm a
// badge enrollment for a worker of its site who holds a privileged role,
// by group or by a running grant: the badge would sign the supervisor in
// with powers it cannot grant. A worker without one is not refused (the
// offline kiosk answers 409), and an admin is not refused.
func TestSupervisorCannotEnrollPrivilegedUser(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	w := makeWorld(t, h)
	ctx := t.Context()
	for _, u := range []store.User{
		{ID: "u-lead", UserName: "north.lead", Sites: []string{"north"}},
		{ID: "u-cover", UserName: "north.cover", Sites: []string{"north"}},
	} {
		u.Active, u.DisplayName = true, u.UserName
		if _, err := h.Engine().CreateUser(ctx, lifecycleActor, u); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.Engine().CreateGroup(ctx, lifecycleActor, store.Group{ID: "g-sup", DisplayName: "Supervisor", Members: []string{"u-lead"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Engine().GrantAccess(ctx, lifecycleActor, store.Grant{UserID: "u-cover", Role: "supervisor", Site: "north", Reason: "cover", End: time.Now().Add(4 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if !h.Engine().Rules().Rule("Supervisor").Privileged {
		t.Fatal("the default policy does not mark Supervisor privileged")
	}
	admin := bootstrapAdmin(t, h)
	sup := admin.supervisor("sam", "north")
	enroll := func(c *client, user string) int {
		t.Helper()
		return c.post("/console/site/enrollments", url.Values{"user": {user}, "device": {w.northKiosk.ID}}).Status
	}
	for _, user := range []string{"north.lead", "north.cover"} {
		if got := enroll(sup, user); got != http.StatusForbidden {
			t.Errorf("supervisor enrolls privileged %s: %d, want 403", user, got)
		}
	}
	if recs, _ := h.Store().SearchAudit(ctx, store.AuditSearch{Action: "credential.enroll_authorized"}); len(recs) != 0 {
		t.Errorf("refused enrollments were authorized: %+v", recs)
	}
	if got := enroll(sup, w.northUser.UserName); got != http.StatusConflict {
		t.Errorf("supervisor enrolls %s at the offline kiosk: %d, want 409", w.northUser.UserName, got)
	}
	if got := enroll(admin, "north.lead"); got != http.StatusConflict {
		t.Errorf("admin enrolls north.lead at the offline kiosk: %d, want 409", got)
	}
}
