package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestSiteSignOutAndRevokeAgain: a supervisor's Sign out of a session,
// or Revoke of a grant, pressed again (a double submit, a second tab,
// another supervisor) on one ended already is no error page and does
// nothing again: back to the page the form came from (the dashboard for
// an admin), which says nothing was changed, with one revocation pushed
// and one grant.revoke record.
func TestSiteSignOutAndRevokeAgain(t *testing.T) {
	ctx := t.Context()
	h, w, admin := adminWorld(t)
	sup := admin.supervisor("sam", "south")

	path := "/console/site/sessions/" + w.southSession.ID + "/signout"
	if r := sup.post(path, url.Values{"back": {"/console/site/"}}); r.Status != http.StatusSeeOther || r.location() != "/console/site/?ok=session-ended" {
		t.Fatalf("sign out: %d to %q %s", r.Status, r.location(), r.Body)
	}
	r := sup.post(path, url.Values{"back": {"/console/site/"}})
	if r.Status != http.StatusSeeOther || r.location() != "/console/site/?ok=session-unchanged" {
		t.Fatalf("sign out again: %d to %q %s, want the site page saying it had ended", r.Status, r.location(), r.Body)
	}
	if page := sup.get(r.location()); !strings.Contains(page.Body, "The session had ended already; nothing was changed.") {
		t.Errorf("the site page does not say the session had ended already")
	}
	if r := admin.post(path, url.Values{"back": {"/console/dashboard"}}); r.Status != http.StatusSeeOther || r.location() != "/console/dashboard?ok=session-unchanged" {
		t.Errorf("admin signs the session out again from the dashboard: %d to %q, want the dashboard", r.Status, r.location())
	}
	if revs, err := h.Store().ListRevocations(ctx, store.RevocationQuery{SessionID: w.southSession.ID}); err != nil || len(revs) != 1 {
		t.Errorf("%d revocations of the session (%v), want 1", len(revs), err)
	}

	path = "/console/site/grants/" + w.southGrant.ID + "/revoke"
	if r := sup.post(path, nil); r.Status != http.StatusSeeOther || r.location() != "/console/site/?ok=grant-revoked" {
		t.Fatalf("revoke: %d to %q %s", r.Status, r.location(), r.Body)
	}
	r = sup.post(path, nil)
	if r.Status != http.StatusSeeOther || r.location() != "/console/site/?ok=grant-unchanged" {
		t.Fatalf("revoke again: %d to %q %s, want the site page saying it was revoked already", r.Status, r.location(), r.Body)
	}
	if page := sup.get(r.location()); !strings.Contains(page.Body, "The grant was over or revoked already; nothing was changed.") {
		t.Errorf("the site page does not say the grant was revoked already")
	}
	if n := actionCount(t, h, "grant.revoke"); n != 1 {
		t.Errorf("%d grant.revoke records, want 1", n)
	}

	// Another site's session and grant are still 403, ended or not.
	if r := sup.post("/console/site/sessions/"+w.northSession.ID+"/signout", nil); r.Status != http.StatusForbidden {
		t.Errorf("another site's session: %d, want 403", r.Status)
	}
}
