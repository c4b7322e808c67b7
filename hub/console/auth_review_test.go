package console_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/console"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestBootstrapReenableRevokesPasskeys: disabling an admin stops its
// passkeys; `admin bootstrap --force` naming that account enables it
// again with a new link, and its old passkeys (a leaver's, or on a stolen
// device) must stay stopped: the link is the only way back in.
func TestBootstrapReenableRevokesPasskeys(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	ada := bootstrapAdmin(t, h)
	bob := newClient(t, h, nil)
	if r := bob.register(ada.invite("bob@example.org", store.ConsoleAdmin)); r.Status != http.StatusOK {
		t.Fatalf("register bob: %d %s", r.Status, r.Body)
	}
	adaAcct := account(t, h, "ada@example.org")
	if r := bob.post("/console/accounts/"+adaAcct.ID+"/disable", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("disable ada: %d %s", r.Status, r.Body)
	}
	if r := newClient(t, h, ada.badge).signin(); r.Status != http.StatusUnauthorized {
		t.Fatalf("disabled admin's passkey: %d, want 401", r.Status)
	}

	tok, err := console.Bootstrap(t.Context(), h.Store(), auditLog(t, h), "ada@example.org", true, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if r := newClient(t, h, ada.badge).signin(); r.Status != http.StatusUnauthorized {
		t.Errorf("old passkey of the re-enabled admin: %d %s, want 401", r.Status, r.Body)
	}
	fresh := newClient(t, h, nil)
	if r := fresh.register(tok); r.Status != http.StatusOK {
		t.Fatalf("bootstrap link: %d %s", r.Status, r.Body)
	}
	if r := newClient(t, h, fresh.badge).signin(); r.Status != http.StatusOK {
		t.Errorf("passkey from the bootstrap link: %d %s, want 200", r.Status, r.Body)
	}
	// Bob's own passkeys are not touched.
	if r := newClient(t, h, bob.badge).signin(); r.Status != http.StatusOK {
		t.Errorf("other admin after the bootstrap: %d, want 200", r.Status)
	}
	recs, err := h.Store().SearchAudit(t.Context(), store.AuditSearch{Action: "console.bootstrap"})
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Reenabled       bool
		PasskeysRevoked []string
	}
	if len(recs) != 2 || json.Unmarshal(recs[0].Detail, &d) != nil || !d.Reenabled || len(d.PasskeysRevoked) != 1 {
		t.Errorf("console.bootstrap records %d, newest %s; want 2, the newest saying the account was enabled again and 1 passkey revoked", len(recs), recs[0].Detail)
	}
}

// TestOriginAsBrowsersSendIt: a public origin written with upper-case
// letters or the default port (https://LocalHost:443) still serves the
// console:
// browsers send Origin as https://localhost, and the origin check, the
// passkey ceremonies and the invitation links must all agree with that,
// or every form and every sign-in is refused as cross-site.
func TestOriginAsBrowsersSendIt(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	key, err := audit.LoadKey(h.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := audit.LoadSigner(h.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := console.New(console.Config{Store: h.Store(), Engine: h.Engine(), Audit: auditLog(t, h), AuditKey: key, AuditSigner: signer,
		RPID: "localhost", Origin: "https://LocalHost:443"})
	if err != nil {
		t.Fatal(err)
	}
	const origin = "https://localhost"
	var cookie *http.Cookie
	call := func(method, path string, body any, hdr ...string) *httptest.ResponseRecorder {
		t.Helper()
		var rd io.Reader
		ct := "application/json"
		switch b := body.(type) {
		case url.Values:
			rd, ct = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
		case nil:
		default:
			j, err := json.Marshal(b)
			if err != nil {
				t.Fatal(err)
			}
			rd = bytes.NewReader(j)
		}
		req := httptest.NewRequest(method, origin+path, rd)
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Origin", origin)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		if cookie != nil {
			req.AddCookie(cookie)
		}
		rec := httptest.NewRecorder()
		c.Handler().ServeHTTP(rec, req)
		return rec
	}
	tok, err := console.Bootstrap(t.Context(), h.Store(), auditLog(t, h), "ada@example.org", false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	begin := call("POST", "/console/auth/register/begin", map[string]string{"token": tok})
	if begin.Code != http.StatusOK {
		t.Fatalf("registration begin with Origin %s: %d %s", origin, begin.Code, begin.Body)
	}
	var b struct {
		Ceremony string          `json:"ceremony"`
		Options  json.RawMessage `json:"options"`
	}
	if err := json.Unmarshal(begin.Body.Bytes(), &b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b.Options), `"id":"localhost"`) {
		t.Errorf("creation options %s: want rp.id localhost", b.Options)
	}
	badge := newBadge(t)
	cred, err := authenticator.Register(t.Context(), badge, origin, b.Options)
	if err != nil {
		t.Fatal(err)
	}
	fin := call("POST", "/console/auth/register/finish", map[string]any{"token": tok, "ceremony": b.Ceremony, "credential": json.RawMessage(cred)})
	if fin.Code != http.StatusOK {
		t.Fatalf("registration finish: %d %s", fin.Code, fin.Body)
	}
	for _, ck := range fin.Result().Cookies() {
		if ck.Name == console.CookieName {
			cookie = ck
		}
	}
	if cookie == nil {
		t.Fatal("no session cookie")
	}
	me := call("GET", "/console/me", nil)
	m := csrfMeta.FindStringSubmatch(me.Body.String())
	if me.Code != http.StatusOK || m == nil {
		t.Fatalf("/console/me: %d", me.Code)
	}
	inv := call("POST", "/console/accounts", url.Values{"csrf": {m[1]}, "name": {"sam"}, "role": {"supervisor"}, "sites": {"north"}})
	if inv.Code != http.StatusCreated || !strings.Contains(inv.Body.String(), origin+"/console/register#sgi_") {
		t.Errorf("invite from the console: %d; want 201 with a link on %s", inv.Code, origin)
	}
	if r := call("POST", "/console/signout", url.Values{"csrf": {m[1]}}); r.Code != http.StatusSeeOther {
		t.Errorf("sign-out: %d %s", r.Code, r.Body)
	}
	if r := call("POST", "/console/auth/login/begin", map[string]string{}, "Origin", "https://localhost:8443"); r.Code != http.StatusForbidden {
		t.Errorf("another port's origin: %d, want 403", r.Code)
	}
}

// TestSigninEndsTheSessionItReplaces: signing in again in a browser that
// holds a session replaces its cookie; the old session ends with it, so a
// copy of the old cookie opens nothing.
func TestSigninEndsTheSessionItReplaces(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	admin := bootstrapAdmin(t, h)
	u, err := url.Parse(h.URL + "/console/")
	if err != nil {
		t.Fatal(err)
	}
	cookieOf := func() *http.Cookie {
		for _, ck := range admin.http.Jar.Cookies(u) {
			if ck.Name == console.CookieName {
				return ck
			}
		}
		t.Fatal("no session cookie in the jar")
		return nil
	}
	old := cookieOf()
	if r := admin.signin(); r.Status != http.StatusOK {
		t.Fatalf("second sign-in: %d %s", r.Status, r.Body)
	}
	if cookieOf().Value == old.Value {
		t.Fatal("the second sign-in kept the cookie")
	}
	if r := admin.get("/console/dashboard"); r.Status != http.StatusOK {
		t.Fatalf("the new session: %d", r.Status)
	}
	copyOf := newClient(t, h, nil)
	copyOf.http.Jar.SetCookies(u, []*http.Cookie{{Name: console.CookieName, Value: old.Value, Path: "/"}})
	if r := copyOf.get("/console/dashboard"); r.Status == http.StatusOK {
		t.Errorf("a copy of the replaced cookie still opens the console (%d)", r.Status)
	}
}
