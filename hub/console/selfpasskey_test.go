package console_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// addPasskey asks for a link to add a passkey to c's own account and
// returns its token, failing t unless the console sends the browser to
// the registration page with it.
func (c *client) addPasskey() string {
	c.t.Helper()
	r := c.post("/console/me/passkeys", nil)
	tok, ok := strings.CutPrefix(r.location(), "/console/register#")
	if r.Status != http.StatusSeeOther || !ok || tok == "" {
		c.t.Fatalf("add a passkey: %d %q, want a redirect to /console/register#TOKEN", r.Status, r.location())
	}
	return tok
}

// TestAdminCannotAddPasskeyToOthers: a new link for an account that has
// passkeys would let whoever opens it, the admin who made it included,
// add a passkey and act as the owner unnoticed. Admins can only replace
// another account's passkeys (which the owner notices: theirs stop
// working); a link for an account without passkeys is still made.
func TestAdminCannotAddPasskeyToOthers(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	admin := bootstrapAdmin(t, h)
	admin.supervisor("sam", "north")
	sam := account(t, h, "sam")
	before := len(auditOf(t, h, sam.ID, "console.invite"))

	r := admin.post("/console/accounts/"+sam.ID+"/invite", nil)
	if r.Status != http.StatusConflict || !strings.Contains(r.Body, "its owner adds another on their account page") {
		t.Errorf("plain new link for an account with passkeys: %d %s, want 409", r.Status, r.Body)
	}
	if inviteToken.MatchString(r.Body) {
		t.Error("the refusal carries an invitation link")
	}
	if n := len(auditOf(t, h, sam.ID, "console.invite")); n != before {
		t.Errorf("a refused new link wrote %d console.invite records", n-before)
	}
	page := admin.get("/console/accounts").Body
	if !strings.Contains(page, "Replace passkeys") {
		t.Errorf("accounts page offers no Replace passkeys for sam:\n%s", page)
	}

	// Replacing works; so does a link for an account without passkeys.
	// The admin's own account has passkeys: its owner adds one on their
	// account page (ownlink_test.go).
	admin.reinvite(sam.ID, url.Values{"revoke": {"passkeys"}})
	admin.reinvite(sam.ID, nil) // sam has none now
	admin.invite("lee", store.ConsoleSupervisor, "north")
	lee := account(t, h, "lee")
	admin.reinvite(lee.ID, nil)
}

// TestOwnerAddsPasskey: the owner adds a passkey for a new device from
// their account page, after a recent sign-in; the link is theirs alone
// (sent to their own browser), short-lived and audited as self-made.
func TestOwnerAddsPasskey(t *testing.T) {
	clock := hubtest.NewClock(time.Now())
	h := hubtest.Start(t, hubtest.Options{Clock: clock})
	admin := bootstrapAdmin(t, h)
	laptop := admin.supervisor("sam", "north")
	sam := account(t, h, "sam")
	if page := laptop.get("/console/me").Body; !strings.Contains(page, `action="/console/me/passkeys"`) {
		t.Fatalf("account page has no Add a passkey form:\n%s", page)
	}

	phone := newClient(t, h, nil)
	if r := phone.register(laptop.addPasskey()); r.Status != http.StatusOK {
		t.Fatalf("register the phone's passkey: %d %s", r.Status, r.Body)
	}
	for name, c := range map[string]*client{"laptop": laptop, "phone": phone} {
		if r := newClient(t, h, c.badge).signin(); r.Status != http.StatusOK {
			t.Errorf("%s passkey signs in: %d, want 200", name, r.Status)
		}
	}
	self := false
	for _, rec := range auditOf(t, h, sam.ID, "console.invite") {
		var d struct{ Self bool }
		if json.Unmarshal(rec.Detail, &d) == nil && d.Self && rec.Actor == "console:sam" {
			self = true
		}
	}
	if !self {
		t.Error("no console.invite record by sam marked self")
	}

	// The link lasts minutes, not the invitation's days.
	late := laptop.addPasskey()
	clock.Advance(6 * time.Minute)
	if r := registerBegin(t, h, late); r.Status != http.StatusGone {
		t.Errorf("self link after 6 minutes: %d, want 410", r.Status)
	}

	// A sign-in older than 10 minutes (a browser left open) must sign in
	// again first: no link.
	clock.Advance(5 * time.Minute)
	n := len(auditOf(t, h, sam.ID, "console.invite"))
	r := laptop.post("/console/me/passkeys", nil)
	if r.Status != http.StatusSeeOther || r.location() != "/console/signin?next=/console/me" {
		t.Errorf("add a passkey 11 minutes after sign-in: %d %q, want a redirect to sign in again", r.Status, r.location())
	}
	if got := len(auditOf(t, h, sam.ID, "console.invite")); got != n {
		t.Errorf("a stale session made %d links", got-n)
	}
	again := newClient(t, h, laptop.badge)
	if r := again.signin(); r.Status != http.StatusOK {
		t.Fatal(r.Body)
	}
	again.addPasskey()
}

// TestAccountPageListsSessions: the account page lists the browsers
// signed in to the account (not ended, not timed out), marks this one,
// and signs another out at once (audited); this one, or another
// account's, cannot be ended there.
func TestAccountPageListsSessions(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	admin := bootstrapAdmin(t, h)
	laptop := admin.supervisor("sam", "north")
	phone := newClient(t, h, laptop.badge)
	if r := phone.signin(); r.Status != http.StatusOK {
		t.Fatal(r.Body)
	}
	sam := account(t, h, "sam")
	page := laptop.get("/console/me").Body
	ends := sessionEndRE.FindAllStringSubmatch(page, -1)
	if len(ends) != 1 || strings.Count(page, "this browser") != 1 {
		t.Fatalf("account page: %d sign-out forms and %d 'this browser', want 1 and 1:\n%s", len(ends), strings.Count(page, "this browser"), page)
	}
	// Another account cannot end sam's session; sam ends the phone's.
	if r := admin.post(ends[0][1], nil); r.Status != http.StatusNotFound {
		t.Errorf("admin ends sam's session from their own page: %d, want 404", r.Status)
	}
	if r := laptop.post(ends[0][1], nil); r.Status != http.StatusSeeOther || r.location() != "/console/me?ok=browser-signed-out" {
		t.Fatalf("end the phone's session: %d %q %s", r.Status, r.location(), r.Body)
	}
	if r := phone.get("/console/site/"); r.Status != http.StatusSeeOther {
		t.Errorf("the phone after it was signed out: %d, want a redirect to sign in", r.Status)
	}
	if r := laptop.get("/console/site/"); r.Status != http.StatusOK {
		t.Errorf("the laptop after ending the phone: %d, want 200", r.Status)
	}
	if n := len(auditOf(t, h, sam.ID, "console.session_end")); n != 1 {
		t.Errorf("%d console.session_end records, want 1", n)
	}
	if page := laptop.get("/console/me").Body; len(sessionEndRE.FindAllString(page, -1)) != 0 {
		t.Errorf("the ended session is still listed:\n%s", page)
	}
}

var sessionEndRE = regexp.MustCompile(`action="(/console/me/sessions/[0-9a-f]{16}/end)"`)
