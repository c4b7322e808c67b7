package console_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestSignInDuringCeremonyFlood: clients that start sign-ins by the
// thousand and never finish them, each more than a client may hold open
// and together more than the hub keeps, neither refuse nor drop the
// sign-in of an admin at another address: not the one whose passkey prompt
// was open during the flood, not one started after it.
func TestSignInDuringCeremonyFlood(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	admin := bootstrapAdmin(t, h)
	ada := newClientFrom(t, h, admin.badge, "127.0.0.2")
	open := ada.jsonCall("/console/auth/login/begin", map[string]string{}, http.StatusOK)

	const addrs, each = 300, 20
	base := h.NewClient(t).Transport
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range addrs {
		hc := &http.Client{Transport: fromAddr(t, base, fmt.Sprintf("127.0.%d.%d", 1+i/250, 1+i%250))}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			for range each {
				req, err := http.NewRequest("POST", h.URL+"/console/auth/login/begin", strings.NewReader("{}"))
				if err != nil {
					t.Errorf("flood: %v", err)
					return
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Origin", h.URL)
				res, err := hc.Do(req)
				if err != nil {
					t.Errorf("flood: %v", err)
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusTooManyRequests {
					t.Errorf("flood: begin answered %d", res.StatusCode)
				}
			}
		})
	}
	wg.Wait()

	// A sign-in started after the flood works...
	if r := newClientFrom(t, h, admin.badge, "127.0.0.3").signin(); r.Status != http.StatusOK {
		t.Errorf("sign-in after the flood: %d %s, want 200", r.Status, r.Body)
	}
	// ...and so does the prompt that was open during it.
	cred, err := authenticator.Authenticate(t.Context(), ada.badge, h.URL, open["options"])
	if err != nil {
		t.Fatal(err)
	}
	var ceremony string
	json.Unmarshal(open["ceremony"], &ceremony)
	if r := ada.do("POST", "/console/auth/login/finish", map[string]any{"ceremony": ceremony, "credential": json.RawMessage(cred)}); r.Status != http.StatusOK {
		t.Errorf("sign-in begun before the flood: %d %s, want 200", r.Status, r.Body)
	}
}

// TestNewLinkVoidsEarlierLinks: a new invitation link for an account voids
// the links sent before it, unused or half used (a registration begun with
// one fails at its finish), even within the same clock tick, and leaves
// the account's passkeys alone unless the admin asks to revoke them.
func TestNewLinkVoidsEarlierLinks(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{Clock: hubtest.NewClock(time.Now())}) // standing still

	admin := bootstrapAdmin(t, h)
	first := admin.invite("sam", store.ConsoleSupervisor, "north")
	sam := account(t, h, "sam")

	// Whoever found the first link starts registering with it; then the
	// admin, told that the link leaked, sends a new one.
	thief := newClient(t, h, nil)
	begin := thief.jsonCall("/console/auth/register/begin", map[string]string{"token": first}, http.StatusOK)
	second := admin.reinvite(sam.ID, nil)
	cred, err := authenticator.Register(t.Context(), thief.badge, h.URL, begin["options"])
	if err != nil {
		t.Fatal(err)
	}
	var ceremony string
	json.Unmarshal(begin["ceremony"], &ceremony)
	if r := thief.do("POST", "/console/auth/register/finish", map[string]any{"token": first, "ceremony": ceremony, "credential": json.RawMessage(cred)}); r.Status != http.StatusGone {
		t.Errorf("registration finished with a superseded link: %d %s, want 410", r.Status, r.Body)
	}
	if r := newClient(t, h, nil).do("POST", "/console/auth/register/begin", map[string]string{"token": first}); r.Status != http.StatusGone {
		t.Errorf("superseded link: %d, want 410", r.Status)
	}
	if r := newClient(t, h, thief.badge).signin(); r.Status != http.StatusUnauthorized {
		t.Errorf("passkey from the superseded link signs in: %d, want 401", r.Status)
	}

	// The new link works; a passkey for another device is then the
	// owner's to add (TestOwnerAddsPasskey), which keeps the passkey
	// registered with the link.
	phone := newClient(t, h, nil)
	if r := phone.register(second); r.Status != http.StatusOK {
		t.Fatalf("new link: %d %s", r.Status, r.Body)
	}
	third := phone.addPasskey()
	if r := newClient(t, h, phone.badge).signin(); r.Status != http.StatusOK {
		t.Errorf("passkey after a plain new link: %d, want 200", r.Status)
	}
	if r := phone.get("/console/site/"); r.Status != http.StatusOK {
		t.Errorf("session after a plain new link: %d, want 200", r.Status)
	}
	if r := newClient(t, h, nil).register(third); r.Status != http.StatusOK {
		t.Errorf("third link: %d %s", r.Status, r.Body)
	}
	if got := actionsOf(t, h, "console.invite", "console.passkey_revoked"); got != "console.invite console.invite console.invite" {
		t.Errorf("audit actions: %s", got)
	}
}

// TestRevokePasskeys: for a lost or stolen passkey an admin revokes an
// account's passkeys, with a new link or alone: they stop signing in, the
// account's console sessions end at once, and the audit trail says so;
// the new link registers a passkey that works. Admins cannot revoke their
// own passkeys (another admin can), supervisors nobody's.
func TestRevokePasskeys(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	admin := bootstrapAdmin(t, h)
	samLaptop := admin.supervisor("sam", "north")
	samPhone := newClient(t, h, samLaptop.badge)
	if r := samPhone.signin(); r.Status != http.StatusOK {
		t.Fatal(r.Body)
	}
	sam := account(t, h, "sam")
	page := admin.get("/console/accounts").Body
	if !strings.Contains(page, `action="/console/accounts/`+sam.ID+`/passkeys/revoke"`) || strings.Count(page, `name="revoke" value="passkeys"`) != 1 {
		t.Errorf("accounts page: want Revoke passkeys and the revoke choice for sam only:\n%s", page)
	}
	if r := samLaptop.post("/console/accounts/"+sam.ID+"/passkeys/revoke", nil); r.Status != http.StatusForbidden {
		t.Errorf("supervisor revokes passkeys: %d, want 403", r.Status)
	}

	// Sam lost the passkey: a new link that revokes it, and voids the
	// link made before (one Sam made to add a passkey).
	samLaptop.addPasskey()
	tok := admin.reinvite(sam.ID, url.Values{"revoke": {"passkeys"}})
	invites, err := h.Store().SearchAudit(t.Context(), store.AuditSearch{Action: "console.invite"})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, rec := range invites {
		var d struct {
			RevokePasskeys     bool
			EarlierLinksVoided int
		}
		if json.Unmarshal(rec.Detail, &d) == nil && d.RevokePasskeys {
			found = true
			if d.EarlierLinksVoided != 1 {
				t.Errorf("the revoking new link's console.invite record: %s; want earlierLinksVoided 1", rec.Detail)
			}
		}
	}
	if !found {
		t.Error("no console.invite record of the revoking new link")
	}
	for name, c := range map[string]*client{"laptop": samLaptop, "phone": samPhone} {
		if r := c.get("/console/site/"); r.Status != http.StatusSeeOther {
			t.Errorf("sam's %s session after the revocation: %d, want a redirect to sign-in", name, r.Status)
		}
	}
	if r := newClient(t, h, samLaptop.badge).signin(); r.Status != http.StatusUnauthorized {
		t.Errorf("revoked passkey signs in: %d, want 401", r.Status)
	}
	fresh := newClient(t, h, nil)
	if r := fresh.register(tok); r.Status != http.StatusOK {
		t.Fatalf("new link after the revocation: %d %s", r.Status, r.Body)
	}
	if r := newClient(t, h, fresh.badge).signin(); r.Status != http.StatusOK {
		t.Errorf("new passkey: %d, want 200", r.Status)
	}

	// Revoked alone (a stolen device, no new link yet): a link still
	// unused, which the device may hold in its mail, is void too.
	pending := fresh.addPasskey()
	if r := admin.post("/console/accounts/"+sam.ID+"/passkeys/revoke", nil); r.Status != http.StatusSeeOther || r.location() != "/console/accounts?ok=passkeys-revoked" {
		t.Fatalf("revoke passkeys: %d %q %s", r.Status, r.location(), r.Body)
	}
	if r := newClient(t, h, nil).do("POST", "/console/auth/register/begin", map[string]string{"token": pending}, "Accept", "application/json"); r.Status == http.StatusOK {
		t.Errorf("a link sent before Revoke passkeys still registers: %d %s", r.Status, r.Body)
	}
	if r := fresh.get("/console/site/"); r.Status != http.StatusSeeOther {
		t.Errorf("session after the revocation: %d, want a redirect to sign-in", r.Status)
	}
	if r := newClient(t, h, fresh.badge).signin(); r.Status != http.StatusUnauthorized {
		t.Errorf("revoked passkey signs in: %d, want 401", r.Status)
	}
	creds, err := h.Store().ListConsoleCredentials(t.Context(), sam.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range creds {
		if c.Revoked.IsZero() {
			t.Errorf("passkey %x is not revoked", c.ID)
		}
	}

	// Not one's own.
	me := account(t, h, "ada@example.org")
	if r := admin.post("/console/accounts/"+me.ID+"/passkeys/revoke", nil); r.Status != http.StatusBadRequest {
		t.Errorf("revoke own passkeys: %d, want 400", r.Status)
	}
	if r := admin.post("/console/accounts/"+me.ID+"/invite", url.Values{"revoke": {"passkeys"}}); r.Status != http.StatusBadRequest {
		t.Errorf("new link revoking own passkeys: %d, want 400", r.Status)
	}
	if r := admin.get("/console/me"); r.Status != http.StatusOK {
		t.Errorf("admin after the refusals: %d", r.Status)
	}

	recs, err := h.Store().SearchAudit(t.Context(), store.AuditSearch{Action: "console.passkey_revoked"})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("console.passkey_revoked records: %d, want 2", len(recs))
	}
	for i, r := range recs { // each time one passkey, signed in from two browsers
		var d struct {
			Reason        string
			Credentials   []string
			SessionsEnded int
		}
		json.Unmarshal(r.Detail, &d)
		if r.Actor != "console:ada@example.org" || r.Subject != "console:"+sam.ID || d.Reason != "admin" || len(d.Credentials) != 1 || d.SessionsEnded != 2 {
			t.Errorf("audit record %d: %s %s %s, want actor console:ada@example.org, reason admin, 1 passkey, 2 sessions ended", i, r.Actor, r.Subject, r.Detail)
		}
	}
}

// TestClonedPasskeyRevoked: a passkey that signs in with a sign counter
// that did not go up (a copy of it is in use) is refused and revoked, every
// console session of its account ends (the copy that signed in first may
// be the attacker's), and the audit trail records it.
func TestClonedPasskeyRevoked(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	admin := bootstrapAdmin(t, h)
	ada := account(t, h, "ada@example.org")
	clone := cloneBadge(t, admin.badge)
	first := newClient(t, h, admin.badge)
	if r := first.signin(); r.Status != http.StatusOK {
		t.Fatalf("original passkey: %d %s", r.Status, r.Body)
	}
	if r := newClient(t, h, clone).signin(); r.Status != http.StatusUnauthorized {
		t.Errorf("cloned passkey: %d %s, want 401", r.Status, r.Body)
	}
	for name, c := range map[string]*client{"registration": admin, "sign-in": first} {
		if r := c.get("/console/me"); r.Status != http.StatusSeeOther {
			t.Errorf("session from the %s after the clone showed: %d, want a redirect to sign-in", name, r.Status)
		}
	}
	if r := newClient(t, h, admin.badge).signin(); r.Status != http.StatusUnauthorized {
		t.Errorf("original passkey after the clone showed: %d, want 401", r.Status)
	}
	creds, err := h.Store().ListConsoleCredentials(t.Context(), ada.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(creds) != 1 || creds[0].Revoked.IsZero() {
		t.Errorf("passkeys %+v, want the one revoked", creds)
	}
	recs, err := h.Store().SearchAudit(t.Context(), store.AuditSearch{Action: "console.passkey_revoked"})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 {
		t.Fatalf("console.passkey_revoked records: %d, want 1", len(recs))
	}
	var d struct {
		Reason                          string
		Credentials                     []string
		SessionsEnded                   int
		StoredCounter, PresentedCounter uint32
	}
	json.Unmarshal(recs[0].Detail, &d)
	if recs[0].Subject != "console:"+ada.ID || recs[0].System != "console" || d.Reason != "sign_count_regression" || len(d.Credentials) != 1 ||
		d.SessionsEnded != 2 || d.StoredCounter != 1 || d.PresentedCounter != 1 {
		t.Errorf("audit record: %s %s %s, want reason sign_count_regression, 1 passkey, 2 sessions ended, counters 1 and 1", recs[0].Subject, recs[0].System, recs[0].Detail)
	}
}

// TestConcurrentClonesOneSignsIn: two copies of a passkey finishing their
// sign-ins at the same moment were both checked against the same stored
// counter; at most one may get in, and then the passkey is revoked. The
// race is run several times, each on a fresh hub.
func TestConcurrentClonesOneSignsIn(t *testing.T) {
	for round := range 8 {
		h := hubtest.Start(t, hubtest.Options{})
		admin := bootstrapAdmin(t, h)
		clients := []*client{newClient(t, h, admin.badge), newClient(t, h, cloneBadge(t, admin.badge))}
		type finish struct {
			ceremony string
			cred     json.RawMessage
		}
		var fs []finish
		for _, c := range clients {
			begin := c.jsonCall("/console/auth/login/begin", map[string]string{}, http.StatusOK)
			cred, err := authenticator.Authenticate(t.Context(), c.badge, h.URL, begin["options"])
			if err != nil {
				t.Fatal(err)
			}
			var f finish
			json.Unmarshal(begin["ceremony"], &f.ceremony)
			f.cred = cred
			fs = append(fs, f)
		}
		statuses := make([]int, 2)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, c := range clients {
			wg.Go(func() {
				<-start
				statuses[i] = c.do("POST", "/console/auth/login/finish", map[string]any{"ceremony": fs[i].ceremony, "credential": fs[i].cred}).Status
			})
		}
		close(start)
		wg.Wait()
		if statuses[0] == http.StatusOK && statuses[1] == http.StatusOK {
			t.Fatalf("round %d: both copies signed in with the same counter", round)
		}
		// Whichever copy got in, its session ended with the revocation.
		for i, c := range clients {
			if r := c.get("/console/me"); r.Status != http.StatusSeeOther {
				t.Errorf("round %d: copy %d is signed in (%d) with the passkey revoked as cloned", round, i, r.Status)
			}
		}
		creds, err := h.Store().ListConsoleCredentials(t.Context(), account(t, h, "ada@example.org").ID)
		if err != nil || len(creds) != 1 || creds[0].Revoked.IsZero() {
			t.Errorf("round %d: passkeys %+v (%v), want the one revoked", round, creds, err)
		}
	}
}
