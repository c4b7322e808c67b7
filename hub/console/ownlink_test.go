package console_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestAdminOwnLinkNeedsAccountPage: an admin's session left open in a
// browser (signed in long ago, still within the idle timeout) must not be
// enough to add a passkey to the admin's account: the account page asks
// for a sign-in within 10 minutes and sends a 5-minute link to this
// browser only. The Accounts page's New link for the admin's own account,
// which has passkeys, would give a 72-hour link shown on the page to
// whoever is at the keyboard; it is refused like a link for any other
// account that has passkeys, and the page offers Your account instead.
func TestAdminOwnLinkNeedsAccountPage(t *testing.T) {
	clock := hubtest.NewClock(time.Now())
	h := hubtest.Start(t, hubtest.Options{Clock: clock})
	admin := bootstrapAdmin(t, h)
	me := account(t, h, "ada@example.org")

	// A session signed in 20 minutes ago and active since.
	for range 2 {
		clock.Advance(10 * time.Minute)
		if r := admin.get("/console/dashboard"); r.Status != http.StatusOK {
			t.Fatalf("dashboard: %d", r.Status)
		}
	}
	if r := admin.post("/console/me/passkeys", nil); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/console/signin") {
		t.Fatalf("add a passkey 20 minutes after sign-in: %d %q, want a redirect to sign in again", r.Status, r.location())
	}

	before := len(auditOf(t, h, me.ID, "console.invite"))
	r := admin.post("/console/accounts/"+me.ID+"/invite", nil)
	if r.Status != http.StatusConflict || !strings.Contains(r.Body, "Add a passkey") {
		t.Errorf("new link for the admin's own account: %d, want 409 pointing to the account page", r.Status)
	}
	if inviteToken.MatchString(r.Body) {
		t.Fatal("a session signed in 20 minutes ago got a link that adds a passkey to its account")
	}
	if n := len(auditOf(t, h, me.ID, "console.invite")); n != before {
		t.Errorf("the refusal wrote %d console.invite records", n-before)
	}

	page := admin.get("/console/accounts").Body
	if strings.Contains(page, `action="/console/accounts/`+me.ID+`/invite"`) {
		t.Errorf("the accounts page offers a new link for the admin's own account:\n%s", page)
	}
	if !strings.Contains(page, `href="/console/me#pk-h"`) {
		t.Errorf("the accounts page does not send the admin to their account page for a passkey:\n%s", page)
	}

	// Signed in again, the account page gives the short link.
	again := newClient(t, h, admin.badge)
	if r := again.signin(); r.Status != http.StatusOK {
		t.Fatal(r.Body)
	}
	again.addPasskey()
	// Other accounts are as before: a link without passkeys, Replace
	// passkeys with.
	admin.invite("lee", store.ConsoleSupervisor, "north")
	again.reinvite(account(t, h, "lee").ID, nil)
}
