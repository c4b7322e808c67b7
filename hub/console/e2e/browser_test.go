// Package e2e_test drives the web console in a real headless Chromium
// (chromedp) with DevTools virtual authenticators, against a real hub over
// TLS and a real shiftgate-agent process as the kiosk.
package e2e_test

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	cdpwa "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/shiftgate/shiftgate/agent/agenttest"
	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/console"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

const chromium = "/usr/bin/chromium"

// agentBin is the shiftgate-agent binary, built once for this package.
var agentBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sgcon")
	if err != nil {
		panic(err)
	}
	agentBin = filepath.Join(dir, "shiftgate-agent")
	if out, err := exec.Command("go", "build", "-o", agentBin, "github.com/shiftgate/shiftgate/agent/cmd/shiftgate-agent").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build shiftgate-agent: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// artifacts is where screenshots go: $SHIFTGATE_ARTIFACTS, else
// <repo root>/var/artifacts.
func artifacts(t *testing.T) string {
	dir := os.Getenv("SHIFTGATE_ARTIFACTS")
	if dir == "" {
		root, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
		if err != nil {
			t.Fatalf("find the repository root: %v", err)
		}
		dir = filepath.Join(strings.TrimSpace(string(root)), "var", "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browser starts one headless Chromium for the test, trusting exactly the
// hub's server key (so WebAuthn sees a secure context without certificate
// errors). The deadline sits on the allocator's parent, so a timeout kills
// the browser.
func browser(t *testing.T, h *hubtest.Hub) context.Context {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("%s is missing: run make deps (it installs chromium): %v", chromium, err)
	}
	pemBytes, err := os.ReadFile(filepath.Join(h.DataDir, "server.pem"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(pemBytes)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	spki := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	tmp, err := os.MkdirTemp("", "cr")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	// The browser's whole life: a guard against a hung Chromium, not a
	// speed target (each step has its own wait). The walk-through ran past
	// 60 s on the 2-core machine shared with other builds.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("ignore-certificate-errors-spki-list", base64.StdEncoding.EncodeToString(spki[:])),
		chromedp.WindowSize(1280, 900), chromedp.UserDataDir(filepath.Join(tmp, "profile")), chromedp.Env("TMPDIR="+tmp))
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return bctx
}

// person is one browser user: its own browser context (cookies) and tab,
// with a virtual platform authenticator that verifies the user.
type person struct {
	t   *testing.T
	ctx context.Context
	h   *hubtest.Hub
}

func newPerson(t *testing.T, b context.Context, h *hubtest.Hub) *person {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, cdpwa.Enable, cdpwa.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	// AutomaticPresenceSimulation must be set explicitly: without it the
	// authenticator never answers.
	if _, err := chromedp.Call(ctx, cdpwa.AddVirtualAuthenticator, cdpwa.AddVirtualAuthenticatorParams{Options: &cdpwa.VirtualAuthenticatorOptions{
		Protocol: cdpwa.AuthenticatorProtocolCtap2, Ctap2version: cdpwa.Ctap2versionCtap21, Transport: cdpwa.AuthenticatorTransportInternal,
		HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true,
	}}); err != nil {
		t.Fatal(err)
	}
	return &person{t: t, ctx: ctx, h: h}
}

func (p *person) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, steps...); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

func (p *person) open(path string) {
	p.t.Helper()
	p.do("open "+path, chromedp.Navigate(p.h.URL+path))
}

func (p *person) eval(expr string) string {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// wait polls a page expression that yields "ok", an "error…" string, or
// anything else to keep waiting; errors surface at once.
func (p *person) wait(what, expr string, timeout time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		v, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](`(function(){try{return String(`+expr+`)}catch(e){return "pending: "+e}})()`))
		if err == nil {
			if v == "ok" {
				return
			}
			if strings.HasPrefix(v, "error") {
				p.t.Fatalf("%s: %s", what, v)
			}
			last = v
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatalf("%s: still %q after %v at %s", what, last, timeout, p.eval("location.href"))
}

func (p *person) path() string { p.t.Helper(); return p.eval("location.pathname") }

func (p *person) screenshot(name string) {
	p.t.Helper()
	// A page that has just been loaded after a form post may not be laid
	// out yet; Chromium refuses to capture a 0-wide page.
	p.wait("page laid out for "+name, `document.readyState === 'complete' && document.documentElement.getBoundingClientRect().width > 0 ? 'ok' : 'pending'`, 10*time.Second)
	// Quality 100 makes FullScreenshot a PNG (below it is a JPEG).
	png, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Fatalf("screenshot: %v", err)
	}
	if !strings.HasPrefix(string(png), "\x89PNG") {
		p.t.Fatalf("screenshot %s is not a PNG", name)
	}
	path := filepath.Join(artifacts(p.t), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Fatal(err)
	}
	p.t.Logf("screenshot: %s", path)
}

// statusJS reads the passkey page's status line as ok/error/pending: ok
// once the page the ceremony led to has loaded (evaluating a page still
// loading found no document element under load).
const statusJS = `(function(){const s=document.getElementById('status'); if(!s) return document.readyState === 'complete' && location.pathname.startsWith('/console/') && !location.pathname.startsWith('/console/register') && !location.pathname.startsWith('/console/signin') ? 'ok' : 'pending'; if(s.dataset.state==='error') return 'error: '+s.textContent; return 'pending '+s.dataset.state})()`

// TestConsoleInBrowser: bootstrap link → the admin registers a passkey in
// Chromium → invites a supervisor → the supervisor registers in another
// browser context → enrolls a worker's badge at a kiosk (a real
// shiftgate-agent) → sees the worker's live session appear (server-sent
// events) and only their own site's → forces the sign-out → the agent
// reports session.ended (forced). Tampered requests are refused, and a
// browser without a session is sent to sign-in.
func TestConsoleInBrowser(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	ctx := t.Context()
	a := lifecycle.Actor{Name: "test", System: "test"}
	dana, err := h.Engine().CreateUser(ctx, a, store.User{ID: "u-dana", UserName: "dana.kim", DisplayName: "Dana Kim", Active: true, Sites: []string{"north"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Engine().CreateGroup(ctx, a, store.Group{ID: "g-nurse", DisplayName: "Nurse", Members: []string{dana.ID}}); err != nil {
		t.Fatal(err)
	}
	// Another site's worker, signed in at another site's kiosk: the
	// supervisor of north must never see it.
	now := time.Now().UTC()
	if _, err := h.Engine().CreateUser(ctx, a, store.User{ID: "u-ben", UserName: "ben.south", Active: true, Sites: []string{"south"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Store().CreateDevice(ctx, store.Device{ID: "dev-south", Name: "south-1", Site: "south", Profile: "generic-x86", State: store.DeviceActive, Created: now, Modified: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Store().CreateSession(ctx, store.Session{ID: "sess-south", UserID: "u-ben", DeviceID: "dev-south", Role: "Picker", Started: now, Expires: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	kiosk := startKiosk(t, h, "north-1", "north")

	b := browser(t, h)
	tok := bootstrapAda(t, h)

	// A browser without a session is sent to sign-in.
	anon := newPerson(t, b, h)
	anon.open("/console/site/")
	if got := anon.path(); got != "/console/signin" {
		t.Errorf("without a session /console/site/ ends at %s, want /console/signin", got)
	}

	// The admin registers a passkey from the bootstrap link.
	admin := newPerson(t, b, h)
	admin.open("/console/register#" + tok)
	if got := admin.eval("location.hash"); got != "" {
		t.Errorf("the invitation token stays in the address bar: %q", got)
	}
	admin.do("register", chromedp.Click(chromedp.CSS("#register-button")))
	admin.wait("admin registration", statusJS, 15*time.Second)
	if got := admin.path(); got != "/console/dashboard" {
		t.Fatalf("admin lands on %s", got)
	}
	checkCookie(t, admin)
	csp := admin.eval(`fetch('/console/dashboard').then(r => r.headers.get('content-security-policy'))`)
	if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("CSP seen by the browser: %q", csp)
	}

	// The same link does not work twice, in another browser either.
	again := newPerson(t, b, h)
	again.open("/console/register#" + tok)
	again.do("register again", chromedp.Click(chromedp.CSS("#register-button")))
	again.wait("second use of the link", `(function(){const s=document.getElementById('status'); return s.dataset.state==='error' && s.textContent.includes('not valid') ? 'ok' : 'pending'})()`, 10*time.Second)

	// The admin invites a supervisor of north.
	admin.open("/console/accounts")
	admin.do("invite", chromedp.SendKeys(chromedp.CSS("#acct-name"), "sam"), chromedp.SendKeys(chromedp.CSS("#acct-site-other"), "north"),
		chromedp.Click(chromedp.CSS("#invite-button")))
	admin.wait("invitation", pageDone("#invite-link"), 10*time.Second)
	link := admin.eval(`document.getElementById('invite-link').textContent`)
	if !strings.HasPrefix(link, h.URL+"/console/register#sgi_") {
		t.Fatalf("invite link %q", link)
	}

	// The supervisor registers in a browser context of its own.
	sup := newPerson(t, b, h)
	sup.do("open invite", chromedp.Navigate(link))
	sup.do("register", chromedp.Click(chromedp.CSS("#register-button")))
	sup.wait("supervisor registration", statusJS, 15*time.Second)
	if got := sup.path(); got != "/console/site/" {
		t.Fatalf("supervisor lands on %s", got)
	}
	if html := sup.eval("document.documentElement.outerHTML"); strings.Contains(html, "sess-south") || strings.Contains(html, "south-1") || strings.Contains(html, "ben.south") {
		t.Error("the supervisor's page shows another site's kiosk, session or worker")
	}

	// The supervisor enrolls Dana's badge at north-1; she taps it, then
	// signs in there.
	sup.do("enroll", chromedp.SendKeys(chromedp.CSS("#enroll-user"), "dana.kim"), chromedp.Click(chromedp.CSS("#enroll-button")))
	sup.wait("enrollment armed", `document.querySelector('.notice.ok') && document.querySelector('.notice.ok').textContent.includes('ready') ? 'ok' : (document.getElementById('error-message') ? 'error: '+document.getElementById('error-message').textContent : 'pending')`, 10*time.Second)
	time.Sleep(100 * time.Millisecond) // the enroll.start push reaches the agent
	kiosk.Send("tap dana")
	if ev := kiosk.Wait("credential.registered", 10*time.Second); ev["user"] != "dana.kim" {
		t.Errorf("registered %v", ev)
	}
	kiosk.Send("tap dana")
	started := kiosk.Wait("session.started", 10*time.Second)
	sid, _ := started["session_id"].(string)

	// The live list updates by itself (server-sent events), without a reload.
	sup.wait("live session appears", fmt.Sprintf(`document.querySelector('[data-session=%q]') ? 'ok' : 'pending'`, sid), 10*time.Second)
	if n := sup.eval(`document.body.dataset.liveUpdates || ''`); n == "" {
		t.Error("the session appeared without a live update")
	}
	if html := sup.eval("document.getElementById('live-block').outerHTML"); strings.Contains(html, "sess-south") || !strings.Contains(html, "dana.kim") {
		t.Error("live block: another site's session shown, or Dana's missing")
	}
	sup.screenshot("console-supervisor.png")

	// Tampering from the supervisor's own browser: another site's session,
	// and a request without the CSRF token, are refused.
	if got := sup.eval(`fetch('/console/site/sessions/sess-south/signout', {method: 'POST', body: new URLSearchParams({csrf: document.querySelector('meta[name=csrf-token]').content})}).then(r => String(r.status))`); got != "403" {
		t.Errorf("another site's session: %s, want 403", got)
	}
	if got := sup.eval(`fetch('/console/site/devices/dev-south/signout', {method: 'POST', body: new URLSearchParams({csrf: document.querySelector('meta[name=csrf-token]').content})}).then(r => String(r.status))`); got != "403" {
		t.Errorf("another site's kiosk: %s, want 403", got)
	}
	if got := sup.eval(fmt.Sprintf(`fetch('/console/site/sessions/%s/signout', {method: 'POST', body: new URLSearchParams({})}).then(r => String(r.status))`, sid)); got != "403" {
		t.Errorf("sign-out without the CSRF token: %s, want 403", got)
	}
	if got := sup.eval(`fetch('/console/users').then(r => String(r.status))`); got != "403" {
		t.Errorf("admin page for a supervisor: %s, want 403", got)
	}

	// The supervisor signs Dana out; the kiosk tears the session down.
	sup.do("force sign-out", chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-session=%q] button`, sid))))
	ended := kiosk.Wait("session.ended", 10*time.Second)
	if ended["reason"] != "forced" || ended["session_id"] != sid {
		t.Errorf("session.ended = %v, want reason forced for %s", ended, sid)
	}
	sup.wait("confirmation", `document.querySelector('.notice.ok') && document.querySelector('.notice.ok').textContent.includes('kiosk has been told') ? 'ok' : 'pending'`, 10*time.Second)
	if s, _ := h.Store().GetSession(ctx, "sess-south"); !s.Ended.IsZero() {
		t.Error("the other site's session was ended")
	}
	h.WaitAcked(t, sid)

	// The admin's dashboard shows the teardown with its time.
	admin.open("/console/dashboard")
	admin.wait("dashboard teardown", `document.body.textContent.includes('dana.kim') && document.body.textContent.includes('forced') ? 'ok' : 'pending'`, 10*time.Second)
	// Dana joined, registered a badge and signed in: time to provision is
	// measured; nobody has left yet, so time to deprovision is not.
	metrics := admin.eval(`[...document.querySelectorAll('#metrics tbody tr')].map(r => r.cells[0].textContent + '=' + r.cells[1].textContent).join(';')`)
	if !strings.Contains(metrics, "Time to provision=p50 ") || !strings.Contains(metrics, "Time to deprovision=not yet measured") {
		t.Errorf("program metrics on the dashboard: %q", metrics)
	}
	admin.screenshot("console-dashboard.png")

	// Access reviews: the admin starts the due default campaigns from the
	// Reviews page; they are listed with their completion.
	admin.open("/console/reviews")
	admin.do("start default campaigns", chromedp.Click(chromedp.CSS("#run-defaults")))
	admin.wait("default campaigns", `document.querySelectorAll('#campaigns tr.campaign').length === 3 ? 'ok' : (document.getElementById('error-message') ? 'error: '+document.getElementById('error-message').textContent : 'pending')`, 10*time.Second)
	admin.screenshot("console-reviews.png")

	// Sign-out in the browser ends the session.
	sup.do("sign out", chromedp.Click(chromedp.CSS("#signout")))
	sup.wait("signed out", `location.pathname === '/console/signin' ? 'ok' : 'pending'`, 10*time.Second)
	sup.open("/console/site/")
	if got := sup.path(); got != "/console/signin" {
		t.Errorf("after sign-out /console/site/ ends at %s", got)
	}
	// And a usernameless passkey sign-in brings the supervisor back.
	sup.do("sign in", chromedp.Click(chromedp.CSS("#signin-button")))
	sup.wait("passkey sign-in", `location.pathname === '/console/site/' ? 'ok' : ((document.getElementById('status')||{dataset:{}}).dataset.state === 'error' ? 'error: '+document.getElementById('status').textContent : 'pending')`, 15*time.Second)
}

// bootstrapAda makes ada@example.org the hub's first admin, as `admin
// bootstrap` does, and returns her invitation token (the fragment of the
// registration page's URL).
func bootstrapAda(t *testing.T, h *hubtest.Hub) string {
	t.Helper()
	key, err := audit.LoadKey(h.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	alog, err := audit.New(key, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := console.Bootstrap(t.Context(), h.Store(), alog, "ada@example.org", false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// pageDone is a wait expression: ok once sel is on the page, the error
// message when the console answered with an error page.
func pageDone(sel string) string {
	return fmt.Sprintf(`document.querySelector(%q) ? 'ok' : (document.getElementById('error-message') ? 'error: '+document.getElementById('error-message').textContent : 'pending')`, sel)
}

// checkCookie asserts the session cookie's flags as the browser stored it.
func checkCookie(t *testing.T, p *person) {
	t.Helper()
	res, err := chromedp.Call(p.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{p.h.URL + "/console/"}})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, c := range res.Cookies {
		if c.Name != console.CookieName {
			continue
		}
		found = true
		if !c.Secure || !c.HTTPOnly || c.SameSite != network.CookieSameSiteStrict || !c.Session || c.Path != "/" {
			t.Errorf("session cookie %+v: want Secure, HttpOnly, SameSite=Strict, a session cookie, Path=/", c)
		}
	}
	if !found {
		t.Errorf("no %s cookie among %d", console.CookieName, len(res.Cookies))
	}
	if got := p.eval(`document.cookie`); strings.Contains(got, "shiftgate") {
		t.Errorf("page script can read the session cookie: %q", got)
	}
}

// startKiosk enrolls a kiosk with a code from the admin API and runs the
// real agent binary with software badges.
func startKiosk(t *testing.T, h *hubtest.Hub, name, site string) *agenttest.Proc {
	t.Helper()
	r := h.API(t, "POST", "/api/v1/devices/codes", map[string]string{"name": name, "site": site})
	if r.Status != http.StatusCreated {
		t.Fatalf("device code: %d %s", r.Status, r.Body)
	}
	code, _ := r.JSON()["code"].(string)
	state := filepath.Join(t.TempDir(), name)
	if out, err := exec.Command(agentBin, "enroll", "--hub", h.URL, "--ca", filepath.Join(h.DataDir, "ca.pem"), "--code", code, "--state", state, "--profile", "generic-x86").CombinedOutput(); err != nil {
		t.Fatalf("enroll %s: %v\n%s", name, err, out)
	}
	a := agenttest.Start(t, name, agentBin, "run", "--state", state, "--authenticator", "soft:"+t.TempDir())
	a.Wait("connected", 15*time.Second)
	return a
}
