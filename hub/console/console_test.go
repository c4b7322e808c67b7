package console_test

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/console"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

var lifecycleActor = lifecycle.Actor{Name: "test", System: "test"}

// TestSignInAndSecurityHeaders: bootstrap link → passkey registration →
// signed in; the cookie and headers are what the console promises; the
// link works once; a later sign-in is usernameless; sign-out ends the
// session.
func TestSignInAndSecurityHeaders(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	tok, err := console.Bootstrap(t.Context(), h.Store(), auditLog(t, h), "ada@example.org", false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	anon := newClient(t, h, nil)
	if r := anon.get("/console/dashboard"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/console/signin?next=") {
		t.Fatalf("dashboard without a session: %d %q, want a redirect to sign-in", r.Status, r.location())
	}
	signin := anon.get("/console/signin")
	if signin.Status != 200 {
		t.Fatalf("sign-in page: %d", signin.Status)
	}
	csp := signin.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(signin.Body, "<script>") || strings.Contains(signin.Body, " style=") {
		t.Error("inline script or style allowed or used")
	}
	for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin", "Cache-Control": "no-store"} {
		if got := signin.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}

	admin := newClient(t, h, nil)
	r := admin.register(tok)
	if r.Status != 200 || !strings.Contains(r.Body, "/console/dashboard") {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	cookies := (&http.Response{Header: r.Header}).Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies = %v", cookies)
	}
	ck := cookies[0]
	if ck.Name != console.CookieName || !strings.HasPrefix(ck.Name, "__Host-") || !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" || ck.Domain != "" {
		t.Errorf("session cookie %+v: want __Host-, Secure, HttpOnly, SameSite=Strict, Path=/", ck)
	}
	if len(ck.Value) < 43 {
		t.Errorf("session secret %q is too short", ck.Value)
	}
	// Only a hash of the cookie is stored.
	if strings.Contains(dump(t, h), ck.Value) {
		t.Error("the session secret is in the database")
	}
	if d := admin.get("/console/dashboard"); d.Status != 200 || !strings.Contains(d.Body, "not yet measured") {
		t.Errorf("dashboard: %d, want 200 saying the metrics are not yet measured", d.Status)
	}

	// The invite works once.
	again := newClient(t, h, nil)
	if r := again.do("POST", "/console/auth/register/begin", map[string]string{"token": tok}); r.Status != http.StatusGone {
		t.Errorf("invite used twice: %d %s, want 410", r.Status, r.Body)
	}
	if r := again.do("POST", "/console/auth/register/begin", map[string]string{"token": "sgi_" + strings.Repeat("A", 43)}); r.Status != http.StatusGone {
		t.Errorf("made-up invite: %d, want 410", r.Status)
	}

	// A usernameless sign-in from a fresh browser with the same passkey.
	second := newClient(t, h, admin.badge)
	if r := second.signin(); r.Status != 200 {
		t.Fatalf("sign-in: %d %s", r.Status, r.Body)
	}
	// A passkey the hub does not know cannot sign in.
	stranger := newClient(t, h, nil)
	stranger.badge = newBadge(t)
	if _, err := console.Bootstrap(t.Context(), h.Store(), auditLog(t, h), "eve", false, time.Now()); !errors.Is(err, console.ErrAdminExists) {
		t.Errorf("second bootstrap: %v, want ErrAdminExists", err)
	}

	// Sign-out ends this session only.
	if r := second.post("/console/signout", nil); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/console/signin") {
		t.Fatalf("sign-out: %d %q", r.Status, r.location())
	}
	if r := second.get("/console/dashboard"); r.Status != http.StatusSeeOther {
		t.Errorf("after sign-out: %d, want a redirect to sign-in", r.Status)
	}
	if r := admin.get("/console/dashboard"); r.Status != 200 {
		t.Errorf("other session after sign-out: %d, want 200", r.Status)
	}
	if got := actionsOf(t, h, "console.signin", "console.passkey_registered", "console.signout", "console.bootstrap"); got != "console.bootstrap console.passkey_registered console.signin console.signin console.signout" {
		t.Errorf("audit actions: %s", got)
	}
}

// dump returns every text column of the console tables, to look for
// secrets that must not be stored.
func dump(t *testing.T, h *hubtest.Hub) string {
	t.Helper()
	var b strings.Builder
	as, _ := h.Store().ListConsoleAccounts(t.Context())
	for _, a := range as {
		b.WriteString(a.Name + " " + a.ID + " ")
	}
	recs, _ := h.Store().ListAudit(t.Context(), store.AuditQuery{})
	for _, r := range recs {
		b.Write(r.Detail)
	}
	return b.String()
}

func actionsOf(t *testing.T, h *hubtest.Hub, keep ...string) string {
	t.Helper()
	recs, err := h.Store().ListAudit(t.Context(), store.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		for _, k := range keep {
			if r.Action == k {
				out = append(out, r.Action)
			}
		}
	}
	return strings.Join(out, " ")
}

// route is one console request for the table tests.
type route struct {
	method, path string
	form         url.Values
}

// TestSupervisorCannotReachOtherSites: every site route a supervisor of
// north can call, given south's kiosk, session, worker, grant or site, is
// refused with 403, and so is every admin route; nothing changes.
func TestSupervisorCannotReachOtherSites(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	w := makeWorld(t, h)
	if _, err := h.Engine().CreateGroup(t.Context(), lifecycleActor, store.Group{ID: "g-nurse", DisplayName: "Nurse"}); err != nil {
		t.Fatal(err)
	}
	admin := bootstrapAdmin(t, h)
	sup := admin.supervisor("sam", "north")

	foreign := []route{
		{"GET", "/console/site/users/" + w.southUser.ID, nil},
		{"GET", "/console/site/users/no-such-user", nil},
		{"POST", "/console/site/sessions/" + w.southSession.ID + "/signout", nil},
		{"POST", "/console/site/sessions/no-such-session/signout", nil},
		{"POST", "/console/site/devices/" + w.southKiosk.ID + "/signout", nil},
		{"POST", "/console/site/enrollments", url.Values{"user": {w.northUser.UserName}, "device": {w.southKiosk.ID}}},
		{"POST", "/console/site/enrollments", url.Values{"user": {w.southUser.UserName}, "device": {w.northKiosk.ID}}},
		{"POST", "/console/site/grants", url.Values{"user": {w.northUser.UserName}, "role": {"Nurse"}, "site": {"south"}, "until": {"4h"}, "reason": {"x"}}},
		{"POST", "/console/site/grants", url.Values{"user": {w.southUser.UserName}, "role": {"Nurse"}, "site": {"north"}, "until": {"4h"}, "reason": {"x"}}},
		{"POST", "/console/site/grants/" + w.southGrant.ID + "/revoke", nil},
		{"POST", "/console/site/extensions", url.Values{"user": {w.southUser.UserName}, "until": {"1h"}, "reason": {"x"}}},
	}
	adminRoutes := []route{
		{"GET", "/console/dashboard", nil}, {"GET", "/console/users", nil}, {"GET", "/console/users/" + w.northUser.ID, nil},
		{"POST", "/console/users/" + w.northUser.ID + "/signout", nil}, {"POST", "/console/users/" + w.northUser.ID + "/disable", nil},
		{"POST", "/console/credentials/00/revoke", nil}, {"GET", "/console/devices", nil},
		{"POST", "/console/devices/codes", url.Values{"name": {"x"}, "site": {"north"}}}, {"POST", "/console/devices/" + w.northKiosk.ID + "/disable", nil},
		{"GET", "/console/policy", nil}, {"GET", "/console/tokens", nil}, {"POST", "/console/tokens", url.Values{"name": {"x"}, "scope": {"admin"}}},
		{"GET", "/console/audit", nil}, {"GET", "/console/audit/verify", nil}, {"GET", "/console/audit/export", nil},
		{"GET", "/console/accounts", nil}, {"POST", "/console/accounts", url.Values{"name": {"x"}, "role": {"admin"}}},
		{"POST", "/console/accounts/x/invite", url.Values{"revoke": {"passkeys"}}}, {"POST", "/console/accounts/x/passkeys/revoke", nil},
	}
	before := auditCount(t, h)
	for _, rt := range append(foreign, adminRoutes...) {
		var r resp
		if rt.method == "GET" {
			r = sup.get(rt.path)
		} else {
			r = sup.post(rt.path, rt.form)
		}
		if r.Status != http.StatusForbidden {
			t.Errorf("supervisor %s %s %v: %d, want 403", rt.method, rt.path, rt.form, r.Status)
		}
	}
	if n := auditCount(t, h); n != before {
		t.Errorf("refused requests wrote %d audit records", n-before)
	}
	if s, _ := h.Store().GetSession(t.Context(), w.southSession.ID); !s.Ended.IsZero() {
		t.Error("south's session was ended")
	}

	// The supervisor's own site works: the page lists north's session only.
	page := sup.get("/console/site/")
	if page.Status != 200 || !strings.Contains(page.Body, w.northSession.ID) || strings.Contains(page.Body, w.southSession.ID) || strings.Contains(page.Body, "south") {
		t.Errorf("site page: %d; shows north's session %v, south %v", page.Status, strings.Contains(page.Body, w.northSession.ID), strings.Contains(page.Body, "south"))
	}
	if live := sup.get("/console/site/live"); live.Status != 200 || strings.Contains(live.Body, w.southSession.ID) || !strings.Contains(live.Body, w.northSession.ID) {
		t.Errorf("live block: %d", live.Status)
	}
	if r := sup.get("/console/site/users/" + w.northUser.ID); r.Status != 200 {
		t.Errorf("own worker: %d", r.Status)
	}
	if r := sup.post("/console/site/grants", url.Values{"user": {w.northUser.UserName}, "role": {"Nurse"}, "site": {"north"}, "until": {"3h"}, "reason": {"cover"}}); r.Status != http.StatusSeeOther {
		t.Errorf("grant at own site: %d %s", r.Status, r.Body)
	}
	// A shift extension for a worker of the supervisor's site, audited with
	// the supervisor as approver; bad input is a 400 that stores nothing.
	now := time.Now().UTC()
	if _, err := h.Engine().SetShifts(t.Context(), lifecycleActor, w.northUser.ID, []store.Shift{{Start: now.Add(-time.Hour), End: now.Add(time.Hour)}}, nil); err != nil {
		t.Fatal(err)
	}
	if r := sup.post("/console/site/extensions", url.Values{"user": {w.northUser.UserName}, "until": {"2h"}, "reason": {""}}); r.Status != http.StatusBadRequest {
		t.Errorf("extension without a reason: %d, want 400", r.Status)
	}
	if r := sup.post("/console/site/extensions", url.Values{"user": {w.northUser.UserName}, "until": {"2h"}, "reason": {"late handover"}}); r.Status != http.StatusSeeOther {
		t.Errorf("extension at own site: %d %s", r.Status, r.Body)
	}
	if recs, _ := h.Store().SearchAudit(t.Context(), store.AuditSearch{Action: "shift.extend"}); len(recs) != 1 || recs[0].Actor != "console:sam" || !strings.Contains(string(recs[0].Detail), "late handover") {
		t.Errorf("audit of the extension: %+v", recs)
	}
	if r := sup.post("/console/site/sessions/"+w.northSession.ID+"/signout", nil); r.Status != http.StatusSeeOther {
		t.Errorf("own session sign-out: %d %s", r.Status, r.Body)
	}
	s, _ := h.Store().GetSession(t.Context(), w.northSession.ID)
	revs, _ := h.Store().ListRevocations(t.Context(), store.RevocationQuery{SessionID: w.northSession.ID})
	if s.EndReason != lifecycle.ReasonForced || len(revs) != 1 {
		t.Errorf("north session: ended %q with %d revocations, want forced with 1", s.EndReason, len(revs))
	}
	recs, _ := h.Store().SearchAudit(t.Context(), store.AuditSearch{Action: "session.signout_forced"})
	if len(recs) != 1 || recs[0].Actor != "console:sam" || recs[0].System != "console" {
		t.Errorf("audit of the sign-out: %+v", recs)
	}
	// An admin reaches every site.
	if r := admin.post("/console/site/sessions/"+w.southSession.ID+"/signout", nil); r.Status != http.StatusSeeOther {
		t.Errorf("admin sign-out at south: %d", r.Status)
	}
}

func auditCount(t *testing.T, h *hubtest.Hub) int64 {
	t.Helper()
	seq, _, err := h.Store().AuditHead(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

// TestCSRF: every state-changing console route refuses a request without
// the session's CSRF token, or from another origin, with 403.
func TestCSRF(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	w := makeWorld(t, h)
	admin := bootstrapAdmin(t, h)
	posts := []string{
		"/console/signout", "/console/signout-everywhere",
		"/console/users/" + w.northUser.ID + "/signout", "/console/users/" + w.northUser.ID + "/disable",
		"/console/credentials/00/revoke", "/console/devices/codes", "/console/devices/" + w.northKiosk.ID + "/disable",
		"/console/tokens", "/console/tokens/x/revoke", "/console/accounts", "/console/accounts/x/invite", "/console/accounts/x/passkeys/revoke", "/console/accounts/x/disable", "/console/accounts/x/enable", "/console/sites",
		"/console/site/sessions/" + w.northSession.ID + "/signout", "/console/site/devices/" + w.northKiosk.ID + "/signout",
		"/console/site/enrollments", "/console/site/grants", "/console/site/grants/" + w.southGrant.ID + "/revoke",
		"/console/site/extensions",
	}
	before := auditCount(t, h)
	for _, p := range posts {
		if r := admin.do("POST", p, url.Values{"name": {"x"}}); r.Status != http.StatusForbidden {
			t.Errorf("POST %s without CSRF token: %d, want 403", p, r.Status)
		}
		if r := admin.do("POST", p, url.Values{"csrf": {"wrong"}}); r.Status != http.StatusForbidden {
			t.Errorf("POST %s with a wrong CSRF token: %d, want 403", p, r.Status)
		}
		if r := admin.do("POST", p, url.Values{"csrf": {admin.csrf}}, "Origin", "https://evil.example"); r.Status != http.StatusForbidden {
			t.Errorf("POST %s from another origin: %d, want 403", p, r.Status)
		}
		if r := admin.do("POST", p, url.Values{"csrf": {admin.csrf}}, "Sec-Fetch-Site", "cross-site"); r.Status != http.StatusForbidden {
			t.Errorf("POST %s cross-site: %d, want 403", p, r.Status)
		}
	}
	if n := auditCount(t, h); n != before {
		t.Errorf("refused requests wrote %d audit records", n-before)
	}
	if r := admin.get("/console/dashboard"); r.Status != 200 {
		t.Errorf("session after the refusals: %d", r.Status)
	}
	// A session's token does not work with another session.
	other := newClient(t, h, admin.badge)
	other.signin()
	if r := admin.do("POST", "/console/site/devices/"+w.northKiosk.ID+"/signout", url.Values{"csrf": {other.csrf}}); r.Status != http.StatusForbidden || other.csrf == admin.csrf {
		t.Errorf("another session's token: %d", r.Status)
	}
}

// TestTimeouts: a session ends after the idle timeout, and after the
// absolute timeout however active it is; both send the browser to sign-in.
func TestTimeouts(t *testing.T) {
	clock := hubtest.NewClock(time.Now())
	h := hubtest.Start(t, hubtest.Options{Clock: clock})
	admin := bootstrapAdmin(t, h)
	clock.Advance(console.DefaultIdleTimeout - time.Minute)
	if r := admin.get("/console/dashboard"); r.Status != 200 {
		t.Fatalf("before the idle timeout: %d", r.Status)
	}
	clock.Advance(console.DefaultIdleTimeout)
	if r := admin.get("/console/dashboard"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/console/signin") {
		t.Fatalf("after the idle timeout: %d %q, want a redirect to sign-in", r.Status, r.location())
	}
	if r := admin.signin(); r.Status != 200 {
		t.Fatalf("sign in again: %d %s", r.Status, r.Body)
	}
	for elapsed := time.Duration(0); elapsed < console.DefaultAbsoluteTimeout-20*time.Minute; elapsed += 20 * time.Minute {
		clock.Advance(20 * time.Minute)
		if r := admin.get("/console/me"); r.Status != 200 {
			t.Fatalf("active session after %v: %d", elapsed, r.Status)
		}
	}
	clock.Advance(21 * time.Minute)
	if r := admin.get("/console/me"); r.Status != http.StatusSeeOther {
		t.Fatalf("after the absolute timeout: %d, want a redirect to sign-in", r.Status)
	}
	// Scripts get 401 rather than a redirect.
	if r := admin.do("POST", "/console/signout", url.Values{}, "Accept", "application/json"); r.Status != http.StatusUnauthorized {
		t.Errorf("script after timeout: %d, want 401", r.Status)
	}
}

// TestSignOutEverywhere ends the account's sessions in every browser.
func TestSignOutEverywhere(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	a := bootstrapAdmin(t, h)
	b := newClient(t, h, a.badge)
	if r := b.signin(); r.Status != 200 {
		t.Fatal(r.Body)
	}
	if r := a.post("/console/signout-everywhere", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("sign out everywhere: %d", r.Status)
	}
	for i, c := range []*client{a, b} {
		if r := c.get("/console/me"); r.Status != http.StatusSeeOther {
			t.Errorf("browser %d after sign-out everywhere: %d", i, r.Status)
		}
	}
}

// TestInviteAndAccounts: an invited supervisor lands on its site page; a
// disabled account cannot sign in; invites expire.
func TestInviteAndAccounts(t *testing.T) {
	clock := hubtest.NewClock(time.Now())
	h := hubtest.Start(t, hubtest.Options{Clock: clock})
	admin := bootstrapAdmin(t, h)
	tok := admin.invite("sam", store.ConsoleSupervisor, "north")
	if strings.Contains(dump(t, h), tok) {
		t.Error("the invite token is stored or audited")
	}
	sup := newClient(t, h, nil)
	if r := sup.register(tok); r.Status != 200 || !strings.Contains(r.Body, "/console/site/") {
		t.Fatalf("supervisor registration: %d %s", r.Status, r.Body)
	}
	if r := sup.get("/console/"); r.Status != http.StatusSeeOther || r.location() != "/console/site/" {
		t.Errorf("supervisor home: %d %q", r.Status, r.location())
	}
	if r := newClient(t, h, nil).do("POST", "/console/auth/register/begin", map[string]string{"token": tok}); r.Status != http.StatusGone {
		t.Errorf("used invite: %d", r.Status)
	}
	// Expiry.
	late := admin.invite("lee", store.ConsoleAdmin)
	clock.Advance(console.DefaultInviteTTL + time.Second)
	admin.signin() // the admin's own session idled out meanwhile
	if r := newClient(t, h, nil).do("POST", "/console/auth/register/begin", map[string]string{"token": late}); r.Status != http.StatusGone {
		t.Errorf("expired invite: %d, want 410", r.Status)
	}
	// Disabling ends the supervisor's session and its passkey stops working.
	acct, err := h.Store().GetConsoleAccountByName(t.Context(), "sam")
	if err != nil {
		t.Fatal(err)
	}
	if r := admin.post("/console/accounts/"+acct.ID+"/disable", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	if r := sup.get("/console/site/"); r.Status != http.StatusSeeOther {
		t.Errorf("disabled supervisor's session: %d", r.Status)
	}
	if r := sup.signin(); r.Status != http.StatusUnauthorized {
		t.Errorf("disabled supervisor's sign-in: %d, want 401", r.Status)
	}
	me, _ := h.Store().GetConsoleAccountByName(t.Context(), "ada@example.org")
	if r := admin.post("/console/accounts/"+me.ID+"/disable", nil); r.Status != http.StatusBadRequest {
		t.Errorf("disabling oneself: %d, want 400", r.Status)
	}
	// Bad invitations.
	for _, f := range []url.Values{{"name": {""}, "role": {"admin"}}, {"name": {"x"}, "role": {"root"}}, {"name": {"y"}, "role": {"supervisor"}}, {"name": {"<b>"}, "role": {"admin"}}} {
		if r := admin.post("/console/accounts", f); r.Status != http.StatusBadRequest {
			t.Errorf("invite %v: %d, want 400", f, r.Status)
		}
	}
	if r := admin.post("/console/accounts", url.Values{"name": {"SAM"}, "role": {"admin"}}); r.Status != http.StatusConflict {
		t.Errorf("taken name: %d, want 409", r.Status)
	}
}

// TestBodyLimits: oversized bodies get 413, before or after sign-in.
func TestBodyLimits(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	admin := bootstrapAdmin(t, h)
	big := strings.Repeat("x", console.DefaultMaxBodyBytes+1)
	if r := admin.do("POST", "/console/tokens", "csrf="+url.QueryEscape(admin.csrf)+"&name="+big, "X-CSRF-Token", admin.csrf); r.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("big form: %d, want 413", r.Status)
	}
	if r := newClient(t, h, nil).do("POST", "/console/auth/login/finish", map[string]string{"ceremony": big}); r.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("big JSON: %d, want 413", r.Status)
	}
	if r := newClient(t, h, nil).do("POST", "/console/auth/login/finish", "{not json", "Content-Type", "application/json"); r.Status != http.StatusBadRequest {
		t.Errorf("bad JSON: %d, want 400", r.Status)
	}
	if r := admin.post("/console/tokens", url.Values{"name": {strings.Repeat("n", 600)}, "scope": {"admin"}}); r.Status != http.StatusBadRequest {
		t.Errorf("long field: %d, want 400", r.Status)
	}
}

// TestAPIWithConsoleSession: /api/v1 accepts an admin's console session,
// with the CSRF token for state changes, and refuses supervisors.
func TestAPIWithConsoleSession(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	w := makeWorld(t, h)
	admin := bootstrapAdmin(t, h)
	sup := admin.supervisor("sam", "north")
	path := "/api/v1/users/" + w.northUser.UserName + "/signout"
	if r := admin.do("POST", path, map[string]string{}); r.Status != http.StatusForbidden {
		t.Errorf("API POST without CSRF header: %d, want 403", r.Status)
	}
	if r := admin.do("POST", path, url.Values{console.CSRFField: {admin.csrf}}); r.Status != http.StatusForbidden {
		t.Errorf("API POST with the token as a form field: %d, want 403 (the API reads the header only)", r.Status)
	}
	if r := admin.do("POST", path, map[string]string{}, "X-CSRF-Token", admin.csrf, "Origin", "https://evil.example"); r.Status != http.StatusForbidden {
		t.Errorf("API POST from another origin: %d, want 403", r.Status)
	}
	if r := admin.do("POST", path, map[string]string{}, "X-CSRF-Token", admin.csrf); r.Status != 200 || !strings.Contains(r.Body, `"sessions_ended":1`) {
		t.Errorf("API POST with the session: %d %s", r.Status, r.Body)
	}
	if r := admin.get("/api/v1/users/" + w.southUser.UserName + "/grants"); r.Status != 200 {
		t.Errorf("API GET with the session: %d %s", r.Status, r.Body)
	}
	if r := sup.get("/api/v1/users/" + w.northUser.UserName + "/grants"); r.Status != http.StatusForbidden {
		t.Errorf("supervisor on the API: %d, want 403", r.Status)
	}
	recs, _ := h.Store().SearchAudit(t.Context(), store.AuditSearch{Action: "user.signout_forced"})
	if len(recs) != 1 || recs[0].Actor != "console:ada@example.org" || recs[0].System != "console" {
		t.Errorf("API audit: %+v", recs)
	}
	// Without a cookie the API still wants a bearer token.
	if r := h.DoToken(t, "", "GET", "/api/v1/users/x/grants", nil); r.Status != http.StatusUnauthorized {
		t.Errorf("no credentials: %d", r.Status)
	}
}

// TestAdminViews walks the admin pages and their actions.
func TestAdminViews(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	w := makeWorld(t, h)
	admin := bootstrapAdmin(t, h)
	for _, p := range []string{"/console/dashboard", "/console/users?q=north", "/console/users/" + w.northUser.ID, "/console/devices", "/console/policy",
		"/console/tokens", "/console/audit", "/console/audit?user=north.worker&action=session.signout_forced&from=2000-01-01", "/console/audit?device=north-1",
		"/console/accounts", "/console/site/", "/console/me"} {
		if r := admin.get(p); r.Status != 200 {
			t.Errorf("GET %s: %d %s", p, r.Status, r.Body)
		}
	}
	if r := admin.get("/console/users?q=north"); !strings.Contains(r.Body, "north.worker") || strings.Contains(r.Body, "south.worker") {
		t.Error("user search does not filter")
	}
	if r := admin.get("/console/audit?from=yesterday"); r.Status != http.StatusBadRequest {
		t.Errorf("bad audit time: %d", r.Status)
	}
	if r := admin.get("/console/audit/verify"); r.Status != 200 || !strings.Contains(r.Body, `data-ok="true"`) {
		t.Errorf("verify: %d", r.Status)
	}
	exp := admin.get("/console/audit/export")
	if exp.Status != 200 || !strings.Contains(exp.Body, `"action":"console.bootstrap"`) || exp.Header.Get("Content-Disposition") == "" {
		t.Errorf("export: %d", exp.Status)
	}
	// Tokens: shown once, stored hashed, revocable.
	r := admin.post("/console/tokens", url.Values{"name": {"okta"}, "scope": {"scim"}})
	i := strings.Index(r.Body, "sgt_")
	if r.Status != http.StatusCreated || i < 0 {
		t.Fatalf("create token: %d", r.Status)
	}
	plain := r.Body[i : i+4+16+1+43]
	if got := h.DoToken(t, plain, "GET", "/scim/v2/ServiceProviderConfig", nil); got.Status != 200 {
		t.Errorf("new token does not work: %d", got.Status)
	}
	if strings.Contains(admin.get("/console/tokens").Body, plain) {
		t.Error("token shown twice")
	}
	id := plain[4:20]
	if r := admin.post("/console/tokens/"+id+"/revoke", nil); r.Status != http.StatusSeeOther {
		t.Errorf("revoke token: %d", r.Status)
	}
	if got := h.DoToken(t, plain, "GET", "/scim/v2/ServiceProviderConfig", nil); got.Status != http.StatusUnauthorized {
		t.Errorf("revoked token: %d", got.Status)
	}
	// Kiosk codes and disable.
	if r := admin.post("/console/devices/codes", url.Values{"name": {"north-2"}, "site": {"north"}}); r.Status != http.StatusCreated || !strings.Contains(r.Body, `id="enrollment-code"`) {
		t.Errorf("enrollment code: %d", r.Status)
	}
	if r := admin.post("/console/devices/"+w.northKiosk.ID+"/disable", nil); r.Status != http.StatusSeeOther {
		t.Errorf("disable kiosk: %d %s", r.Status, r.Body)
	}
	if d, _ := h.Store().GetDevice(t.Context(), w.northKiosk.ID); d.State != store.DeviceDisabled {
		t.Error("kiosk not disabled")
	}
	// Users: force sign-out, disable.
	if r := admin.post("/console/users/"+w.southUser.ID+"/signout", nil); r.Status != http.StatusSeeOther {
		t.Errorf("force sign-out: %d", r.Status)
	}
	if r := admin.post("/console/users/"+w.southUser.ID+"/disable", nil); r.Status != http.StatusSeeOther {
		t.Errorf("disable user: %d", r.Status)
	}
	if u, _ := h.Store().GetUser(t.Context(), w.southUser.ID); u.State != store.UserDisabled {
		t.Errorf("user state %v", u.State)
	}
	if r := admin.post("/console/credentials/zz/revoke", nil); r.Status != http.StatusBadRequest {
		t.Errorf("bad credential id: %d", r.Status)
	}
	if r := admin.get("/console/users/nobody"); r.Status != http.StatusNotFound {
		t.Errorf("unknown user for an admin: %d, want 404", r.Status)
	}
	if r := admin.get("/console/nowhere"); r.Status != http.StatusNotFound {
		t.Errorf("unknown page: %d", r.Status)
	}
}

// TestProgramMetrics: on a hub with nothing measured, the dashboard lists
// the four program numbers and says of each that it is not yet measured,
// rather than showing a zero. The one account such a hub has, the first
// admin's console account, counts for the orphaned-account rate: it is
// measured, over that account.
func TestProgramMetrics(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	admin := bootstrapAdmin(t, h)
	r := admin.get("/console/dashboard")
	for name, want := range map[string]string{
		"Time to provision": "not yet measured", "Time to deprovision": "not yet measured",
		"Orphaned-account rate": "0.0% (0 of 1)", "Access-review completion": "not yet measured",
	} {
		row := regexp.MustCompile(`<th scope="row">` + name + `</th><td>([^<]*)</td>`).FindStringSubmatch(r.Body)
		if row == nil || row[1] != want {
			t.Errorf("dashboard row %q = %v, want %q", name, row, want)
		}
	}
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"4h", "+90m", "2026-11-02T18:00", "2026-11-02T18:00:05", "2026-11-02", "2026-11-02T18:00:00Z", "2026-11-02T18:00:00+05:30", "", "-1h", "9999h", "0001-01-01", "x"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 2, 6, 0, 0, 0, time.UTC)
	loc := time.FixedZone("site", 3600)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := console.ParseTime(s, now, loc)
		if err != nil {
			return
		}
		if got.Location() != time.UTC || got.Year() < 1999 || got.Year() > 2201 {
			t.Errorf("ParseTime(%q) = %v", s, got)
		}
	})
}

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 11, 2, 6, 0, 0, 0, time.UTC)
	berlin := time.FixedZone("CET", 3600)
	for _, tc := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"4h", now.Add(4 * time.Hour), true},
		{"+90m", now.Add(90 * time.Minute), true},
		{"2026-11-02T18:00", time.Date(2026, 11, 2, 17, 0, 0, 0, time.UTC), true},
		{"2026-11-02", time.Date(2026, 11, 1, 23, 0, 0, 0, time.UTC), true},
		{"2026-11-02T18:00:00Z", time.Date(2026, 11, 2, 18, 0, 0, 0, time.UTC), true},
		{"-1h", time.Time{}, false},
		{"0h", time.Time{}, false},
		{"9000h", time.Time{}, false},
		{"1900-01-01", time.Time{}, false},
		{"tomorrow", time.Time{}, false},
		{"", time.Time{}, false},
	} {
		got, err := console.ParseTime(tc.in, now, berlin)
		if (err == nil) != tc.ok || !got.Equal(tc.want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v (ok %v)", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// TestAuditSearchByReusedKioskName: a disabled kiosk gives its name to
// the hardware that replaces it; searching the audit trail by that name
// finds the records of both.
func TestAuditSearchByReusedKioskName(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	admin := bootstrapAdmin(t, h)
	old := h.EnrollKiosk(t, "north-1", "north")
	if r := h.API(t, "POST", "/api/v1/devices/north-1/disable", nil); r.Status != http.StatusOK {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	replacement := h.EnrollKiosk(t, "north-1", "north")
	page := admin.get("/console/audit?device=north-1")
	if page.Status != http.StatusOK {
		t.Fatalf("audit search: %d %s", page.Status, page.Body)
	}
	for name, id := range map[string]string{"the disabled kiosk": old.ID, "its replacement": replacement.ID} {
		if !strings.Contains(page.Body, id) {
			t.Errorf("searching by the name does not find the records of %s (%s)", name, id)
		}
	}
	if r := admin.get("/console/audit?device=nowhere-9"); r.Status != http.StatusNotFound {
		t.Errorf("an unknown kiosk name: %d, want 404", r.Status)
	}
}

// TestAuditSearchByRehiredUserName: a user deleted by the IdP and hired
// again is a new user with the same name; searching the audit trail by
// the name finds the records of both employments.
func TestAuditSearchByRehiredUserName(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	admin := bootstrapAdmin(t, h)
	body := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"rehire","active":true}`
	first := h.Do(t, "POST", "/scim/v2/Users", body)
	if first.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", first.Status, first.Body)
	}
	firstID := first.JSON()["id"].(string)
	if r := h.Do(t, "DELETE", "/scim/v2/Users/"+firstID, nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	second := h.Do(t, "POST", "/scim/v2/Users", body)
	if second.Status != http.StatusCreated {
		t.Fatalf("re-hire: %d %s", second.Status, second.Body)
	}
	secondID := second.JSON()["id"].(string)
	page := admin.get("/console/audit?user=rehire")
	if page.Status != http.StatusOK {
		t.Fatalf("audit search: %d %s", page.Status, page.Body)
	}
	for name, id := range map[string]string{"the first employment": firstID, "the re-hire": secondID} {
		if !strings.Contains(page.Body, "user:"+id) {
			t.Errorf("searching by the name does not find the records of %s (%s)", name, id)
		}
	}
}
