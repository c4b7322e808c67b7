package console_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/hub/console"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// Fetch Metadata headers as browsers send them.
var (
	linkFrom = func(site string) []string { // a click on a link, a top-level navigation
		return []string{"Sec-Fetch-Site", site, "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document"}
	}
	imageFrom = func(site string) []string { // <img src=…>
		return []string{"Sec-Fetch-Site", site, "Sec-Fetch-Mode", "no-cors", "Sec-Fetch-Dest", "image"}
	}
	ownPage = []string{"Sec-Fetch-Site", "same-origin", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document"}
)

// TestOtherSitesCannotFetchConsoleGETs: the session cookie is
// SameSite=Strict, but every host of the hub's registrable domain is the
// same site and gets it attached. Such a host may link to console pages;
// it may not run an export (which writes an audit record) or a chain
// verification even by a link, nor have the browser fetch a page as an
// image, a script or a frame, which would keep an idle session alive.
func TestOtherSitesCannotFetchConsoleGETs(t *testing.T) {
	clock := hubtest.NewClock(time.Now())
	h := hubtest.Start(t, hubtest.Options{Clock: clock})
	admin := bootstrapAdmin(t, h)

	before := auditCount(t, h)
	for _, p := range []string{"/console/audit/export", "/console/audit/verify", "/console/findings/export?format=json", "/console/site/live"} {
		for _, site := range []string{"same-site", "cross-site"} {
			if r := admin.do("GET", p, nil, linkFrom(site)...); r.Status != http.StatusForbidden {
				t.Errorf("GET %s by a link from a %s page: %d, want 403", p, site, r.Status)
			}
		}
	}
	if n := auditCount(t, h); n != before {
		t.Errorf("refused exports wrote %d audit records", n-before)
	}
	// The console's own link, and the address bar, still export.
	if r := admin.do("GET", "/console/audit/export", nil, ownPage...); r.Status != http.StatusOK || !strings.Contains(r.Body, "console.bootstrap") {
		t.Errorf("export from the audit page: %d", r.Status)
	}
	if r := admin.do("GET", "/console/audit/export", nil, "Sec-Fetch-Site", "none", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document"); r.Status != http.StatusOK {
		t.Errorf("export typed into the address bar: %d", r.Status)
	}
	if recs, _ := h.Store().SearchAudit(t.Context(), store.AuditSearch{Action: "audit.export"}); len(recs) != 2 {
		t.Errorf("%d audit.export records, want 2", len(recs))
	}
	// A link from an intranet page to a console page still opens it.
	if r := admin.do("GET", "/console/dashboard", nil, linkFrom("same-site")...); r.Status != http.StatusOK {
		t.Errorf("dashboard by a link from the same site: %d, want 200", r.Status)
	}

	// An image that another host of the site reloads every few minutes
	// does not keep the session alive.
	for range 3 {
		clock.Advance(console.DefaultIdleTimeout / 2)
		if r := admin.do("GET", "/console/me", nil, imageFrom("same-site")...); r.Status != http.StatusForbidden {
			t.Fatalf("console page as an image of another host: %d, want 403", r.Status)
		}
	}
	if r := admin.get("/console/me"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/console/signin") {
		t.Errorf("after %v of images only: %d, want the idle session ended (redirect to sign-in)", 3*console.DefaultIdleTimeout/2, r.Status)
	}
}

// TestAPIWithConsoleSessionHeaders: the JSON API answers a console
// session with personal data, so its answers are not stored by the
// browser (Cache-Control: no-store) or sniffed, as the console's pages
// are; and no other site may have the browser read it, even by a link.
// A bearer-token client is not affected.
func TestAPIWithConsoleSessionHeaders(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	w := makeWorld(t, h)
	admin := bootstrapAdmin(t, h)
	path := "/api/v1/users/" + w.northUser.UserName + "/grants"
	r := admin.get(path)
	if r.Status != http.StatusOK || r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("API GET with the console session: %d, Cache-Control %q, X-Content-Type-Options %q; want 200, no-store, nosniff",
			r.Status, r.Header.Get("Cache-Control"), r.Header.Get("X-Content-Type-Options"))
	}
	for _, hdr := range [][]string{linkFrom("same-site"), linkFrom("cross-site"), imageFrom("same-site")} {
		if r := admin.do("GET", path, nil, hdr...); r.Status != http.StatusForbidden || r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("API GET with the console session, %s %s: %d, want 403", hdr[1], hdr[5], r.Status)
		}
	}
	if r := admin.do("GET", path, nil, ownPage...); r.Status != http.StatusOK {
		t.Errorf("API GET from a console page: %d", r.Status)
	}
	tok := h.Token(t, "ops", store.ScopeAdmin)
	if r := h.DoToken(t, tok, "GET", path, nil, imageFrom("cross-site")...); r.Status != http.StatusOK {
		t.Errorf("API GET with a bearer token: %d, want 200", r.Status)
	}
}

// TestStaticHasNoListing: /console/static/ serves its files, not a listing
// of them.
func TestStaticHasNoListing(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	anon := newClient(t, h, nil)
	if r := anon.get("/console/static/"); r.Status != http.StatusNotFound || strings.Contains(r.Body, `href="console.js"`) {
		t.Errorf("GET /console/static/: %d, want 404 without a listing", r.Status)
	}
	for _, f := range []string{"console.js", "console.css"} {
		if r := anon.get("/console/static/" + f); r.Status != http.StatusOK || r.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET /console/static/%s: %d", f, r.Status)
		}
	}
}

// TestErrorPagesHideInternals: an error page says what the person can act
// on, not the hub's internal operation and record IDs it came through.
func TestErrorPagesHideInternals(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	w := makeWorld(t, h)
	admin := bootstrapAdmin(t, h)
	sup := admin.supervisor("sam", "north")

	r := admin.get("/console/users/no-such-user")
	if r.Status != http.StatusNotFound || strings.Contains(r.Body, "get user") || strings.Contains(r.Body, ": not found") {
		t.Errorf("unknown user: %d %s; want 404 without the store's wording", r.Status, errorMessage(r.Body))
	}
	// The worker has no shifts, so there is nothing to extend: the engine
	// refuses; the page says why, without the operation and the user's ID.
	r = sup.post("/console/site/extensions", url.Values{"user": {w.northUser.UserName}, "site": {"north"}, "until": {"1h"}, "reason": {"late"}})
	msg := errorMessage(r.Body)
	if r.Status != http.StatusBadRequest || !strings.Contains(msg, "no shifts") || strings.Contains(msg, w.northUser.ID) ||
		strings.Contains(msg, "invalid request") || strings.Contains(msg, "extend shift of") {
		t.Errorf("extension refused by the engine: %d %q; want 400 saying why, without internals", r.Status, msg)
	}
}

// errorMessage is the message of a console error page.
func errorMessage(body string) string {
	_, rest, _ := strings.Cut(body, `id="error-message">`)
	msg, _, _ := strings.Cut(rest, "</p>")
	return msg
}

// TestPasskeyCeremonyRules: the console's passkey ceremonies require user
// verification (an authenticator that does not verify the user, even one
// answering options that were tampered with, is refused at registration
// and at sign-in), and each challenge works once and expires.
func TestPasskeyCeremonyRules(t *testing.T) {
	clock := hubtest.NewClock(time.Now())
	h := hubtest.Start(t, hubtest.Options{Clock: clock})
	admin := bootstrapAdmin(t, h)
	noUV := func(options json.RawMessage) []byte {
		if !bytes.Contains(options, []byte(`"userVerification":"required"`)) {
			t.Fatalf("options %s do not require user verification", options)
		}
		return bytes.ReplaceAll(options, []byte(`"userVerification":"required"`), []byte(`"userVerification":"discouraged"`))
	}
	ceremonyOf := func(m map[string]json.RawMessage) string {
		var s string
		json.Unmarshal(m["ceremony"], &s)
		return s
	}

	// Registration without user verification.
	tok := admin.invite("sam", store.ConsoleSupervisor, "north")
	c := newClient(t, h, nil)
	begin := c.jsonCall("/console/auth/register/begin", map[string]string{"token": tok}, 200)
	cred, err := authenticator.Register(t.Context(), c.badge, h.URL, noUV(begin["options"]))
	if err != nil {
		t.Fatal(err)
	}
	if r := c.do("POST", "/console/auth/register/finish", map[string]any{"token": tok, "ceremony": ceremonyOf(begin), "credential": json.RawMessage(cred)}); r.Status != http.StatusBadRequest {
		t.Errorf("registration without user verification: %d %s, want 400", r.Status, r.Body)
	}
	if r := c.register(tok); r.Status != http.StatusOK {
		t.Fatalf("the link after a refused registration: %d %s", r.Status, r.Body)
	}

	// Sign-in without user verification.
	signin := newClient(t, h, c.badge)
	begin = signin.jsonCall("/console/auth/login/begin", map[string]string{}, 200)
	cred, err = authenticator.Authenticate(t.Context(), signin.badge, h.URL, noUV(begin["options"]))
	if err != nil {
		t.Fatal(err)
	}
	if r := signin.do("POST", "/console/auth/login/finish", map[string]any{"ceremony": ceremonyOf(begin), "credential": json.RawMessage(cred)}); r.Status != http.StatusUnauthorized {
		t.Errorf("sign-in without user verification: %d %s, want 401", r.Status, r.Body)
	}

	// A challenge works once.
	begin = signin.jsonCall("/console/auth/login/begin", map[string]string{}, 200)
	cred, err = authenticator.Authenticate(t.Context(), signin.badge, h.URL, begin["options"])
	if err != nil {
		t.Fatal(err)
	}
	finish := map[string]any{"ceremony": ceremonyOf(begin), "credential": json.RawMessage(cred)}
	if r := signin.do("POST", "/console/auth/login/finish", finish); r.Status != http.StatusOK {
		t.Fatalf("sign-in: %d %s", r.Status, r.Body)
	}
	if r := newClient(t, h, nil).do("POST", "/console/auth/login/finish", finish); r.Status != http.StatusBadRequest || len(r.Header.Values("Set-Cookie")) != 0 {
		t.Errorf("the same answer replayed: %d %s, want 400 without a session", r.Status, r.Body)
	}

	// And expires after 3 minutes.
	begin = signin.jsonCall("/console/auth/login/begin", map[string]string{}, 200)
	cred, err = authenticator.Authenticate(t.Context(), signin.badge, h.URL, begin["options"])
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(3*time.Minute + time.Second)
	if r := signin.do("POST", "/console/auth/login/finish", map[string]any{"ceremony": ceremonyOf(begin), "credential": json.RawMessage(cred)}); r.Status != http.StatusBadRequest {
		t.Errorf("an answer after 3 minutes: %d %s, want 400", r.Status, r.Body)
	}
}

// TestHeadDoesNothing: Go serves HEAD through a GET handler; for the
// GETs that do something (an audited export, a chain walk) a HEAD would
// do it and show nothing. 405, nothing audited.
func TestHeadDoesNothing(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	admin := bootstrapAdmin(t, h)
	before := auditCount(t, h)
	for _, p := range []string{"/console/audit/export", "/console/audit/verify", "/console/findings/export?format=json"} {
		if r := admin.do("HEAD", p, nil, ownPage...); r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "GET" {
			t.Errorf("HEAD %s: %d (Allow %q), want 405 Allow GET", p, r.Status, r.Header.Get("Allow"))
		}
	}
	if n := auditCount(t, h); n != before {
		t.Errorf("HEAD requests wrote %d audit records", n-before)
	}
	// Sign-out asks the browser to drop its cache of console pages.
	if r := admin.post("/console/signout", nil); r.Header.Get("Clear-Site-Data") != `"cache"` {
		t.Errorf("sign-out: Clear-Site-Data %q, want \"cache\"", r.Header.Get("Clear-Site-Data"))
	}
}

// TestFormNamesChecked: a kiosk name with a control character is refused
// as the admin API refuses it (it was stored: 201), and an account name
// that is not text says so instead of "an account needs a name".
func TestFormNamesChecked(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	admin := bootstrapAdmin(t, h)
	if r := admin.post("/console/devices/codes", url.Values{"name": {"a\x00b"}, "site": {"north"}}); r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "control character") {
		t.Errorf("kiosk name with NUL: %d, want 400 naming control characters", r.Status)
	}
	if r := admin.post("/console/accounts", url.Values{"name": {"\xff\xfe"}, "role": {"admin"}}); r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "too long or not text") {
		t.Errorf("account name not UTF-8: %d, want 400 saying it is not text", r.Status)
	}
}
