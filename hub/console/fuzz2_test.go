package console_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// formRoute is a console POST route as FuzzConsoleForms sends it: SEG in
// path is replaced by the fuzzed path segment (escaped); the fuzzed values
// go to fields in order, and the fuzzed raw bytes are appended to the
// encoded form (repeated fields, checkboxes, broken escapes). A json
// route (the passkey ceremony, /console/auth/*) gets the raw bytes as its
// body instead, with no session.
type formRoute struct {
	path   string
	fields []string
	json   bool
}

// consoleFormRoutes are the console's POST routes that read a path
// segment, a form or a JSON body. /console/signout and
// /console/signout-everywhere are left out: they read nothing but the
// CSRF token, and they end the sessions the fuzzer sends with.
var consoleFormRoutes = []formRoute{
	{path: "/console/site/grants", fields: []string{"user", "role", "site", "until", "reason"}},
	{path: "/console/site/extensions", fields: []string{"user", "site", "until", "reason"}},
	{path: "/console/site/enrollments", fields: []string{"user", "device"}},
	{path: "/console/site/sessions/SEG/signout", fields: []string{"back"}},
	{path: "/console/site/devices/SEG/signout", fields: []string{"back"}},
	{path: "/console/site/grants/SEG/revoke"},
	{path: "/console/policy/globals", fields: []string{"version", "max_session", "shift_grace"}},
	{path: "/console/policy/roles", fields: []string{"version", "name", "original", "max_session", "sites"}},
	{path: "/console/policy/roles", fields: []string{"version", "name", "apps", "certification", "employment_types"}},
	{path: "/console/policy/roles/delete", fields: []string{"version", "name"}},
	{path: "/console/policy/other", fields: []string{"version", "apps", "sites", "employment_types", "max_session"}},
	{path: "/console/sites", fields: []string{"name", "time_zone"}},
	{path: "/console/tokens", fields: []string{"name", "scope", "expires"}},
	{path: "/console/tokens/SEG/revoke"},
	{path: "/console/tokens/SEG/rotate", fields: []string{"overlap", "expires"}},
	{path: "/console/accounts", fields: []string{"name", "role", "sites", "sites"}},
	{path: "/console/accounts/SEG/invite", fields: []string{"revoke"}},
	{path: "/console/accounts/SEG/passkeys/revoke"},
	{path: "/console/accounts/SEG/disable"},
	{path: "/console/accounts/SEG/enable"},
	{path: "/console/reviews", fields: []string{"name", "due", "privileged", "external", "sites"}},
	{path: "/console/reviews/run"},
	{path: "/console/review-items/SEG", fields: []string{"decision", "comment", "back"}},
	{path: "/console/findings/SEG/remediate", fields: []string{"dormant_days"}},
	{path: "/console/devices/codes", fields: []string{"name", "site"}},
	{path: "/console/devices/SEG/disable"},
	{path: "/console/users/SEG/signout"},
	{path: "/console/users/SEG/disable"},
	{path: "/console/credentials/SEG/revoke"},
	{path: "/console/me/passkeys"},
	{path: "/console/me/sessions/SEG/end"},
	{path: "/console/auth/login/begin", json: true},
	{path: "/console/auth/login/finish", json: true},
	{path: "/console/auth/register/begin", json: true},
	{path: "/console/auth/register/finish", json: true},
}

// routeIndex is the op that sends to the first route with path, for the
// seeds; op|0x80 sends as the supervisor.
func routeIndex(path string) uint8 {
	for i, rt := range consoleFormRoutes {
		if rt.path == path {
			return uint8(i)
		}
	}
	panic("no console route " + path)
}

// errorText finds the message of a console error page (error.html, or the
// problem shown on the sites and policy pages).
var errorText = regexp.MustCompile(`role="alert"[^>]*>\s*([^<]*[^<\s])`)

// as returns c acting within the test t: each fuzz input has its own.
func (c *client) as(t testing.TB) *client {
	cc := *c
	cc.t = t
	return &cc
}

// errorLog keeps what the hub logs at level Error, so that a 5xx found
// by the fuzzer comes with its cause (the panic and its stack).
type errorLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *errorLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *errorLog) take() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.buf.String()
	l.buf.Reset()
	return s
}

// FuzzConsoleForms sends arbitrary form values, path segments and raw
// form bytes to every console POST route that reads them, as a signed-in
// admin and as a supervisor of north, and arbitrary JSON bodies to the
// passkey ceremony endpoints, on one real hub (started once per fuzzing
// process) with two sites, their kiosks, workers, sessions, a grant, an
// access review and invitations to act on. Whatever comes in: never a
// 5xx (nor a panic, which the hub's logRequests turns into one), every
// 4xx says what is wrong (the error page's or the form page's message, or
// a JSON error), and afterwards the same viewer's account page still
// loads.
//
// Placeholders in the fuzzed strings stand for records the fuzzer cannot
// guess: SESSION, DEVICE, GRANT, USER (north's), ACCOUNT (an account the
// admin may disable), SELF (the admin's own account), ITEM (a review
// item), FINDING, TOKENID, CREDID, VERSION (the policy's current
// version), INVITE (a usable invitation token) and CEREMONY (a ceremony
// begun for this input).
func FuzzConsoleForms(f *testing.F) {
	type seed struct {
		op            uint8
		seg           string
		a, b, c, d, e string
		raw           string
	}
	sup := func(op uint8) uint8 { return op | 0x80 }
	long := strings.Repeat("x", 501)
	seeds := []seed{
		{op: routeIndex("/console/site/grants"), a: "north.worker", b: "Nurse", c: "north", d: "4h", e: "cover"},
		{op: sup(routeIndex("/console/site/grants")), a: "north.worker", b: "nurse", c: "North", d: "2026-03-29T02:30", e: "cover"},
		{op: sup(routeIndex("/console/site/grants")), a: "south.worker", b: "Nurse", c: "south", d: "4h", e: "x"},
		{op: routeIndex("/console/site/grants"), a: "north.worker", b: "Nurse", c: "north", d: "0001-01-01T00:00:00Z", e: long},
		{op: routeIndex("/console/site/grants"), a: "north.worker", b: "Nurse", c: "north", d: "9223372036854775807ns", e: "\xff\xfe"},
		{op: routeIndex("/console/site/extensions"), a: "north.worker", b: "north", c: "2h", d: "late handover"},
		{op: sup(routeIndex("/console/site/extensions")), a: "north.worker", b: "", c: "2099-12-31", d: ""},
		{op: routeIndex("/console/site/extensions"), a: "ada@example.org", b: "north", c: "+1h", d: "self"},
		{op: routeIndex("/console/site/enrollments"), a: "north.worker", b: "DEVICE"},
		{op: sup(routeIndex("/console/site/enrollments")), a: "south.worker", b: "dev-south"},
		{op: routeIndex("/console/site/sessions/SEG/signout"), seg: "SESSION", a: "/console/dashboard"},
		{op: sup(routeIndex("/console/site/sessions/SEG/signout")), seg: "sess-south", a: "//evil.example"},
		{op: routeIndex("/console/site/devices/SEG/signout"), seg: "DEVICE", a: "/console/site/"},
		{op: routeIndex("/console/site/grants/SEG/revoke"), seg: "GRANT"},
		{op: sup(routeIndex("/console/site/grants/SEG/revoke")), seg: "GRANT"},
		{op: routeIndex("/console/policy/globals"), a: "VERSION", b: "12h", c: "15m"},
		{op: routeIndex("/console/policy/globals"), a: "VERSION", b: "-5h", c: "0s"},
		{op: routeIndex("/console/policy/globals"), a: "9223372036854775807", b: "2562047h", c: "-1ns"},
		{op: routeIndex("/console/policy/globals"), a: "-1", b: "", c: ""},
		{op: routeIndex("/console/policy/roles"), a: "VERSION", b: "Nurse", c: "", d: "8h", e: "north, south"},
		{op: routeIndex("/console/policy/roles") + 1, a: "VERSION", b: "Picker", c: "wms scanner", d: "forklift", e: "temp"},
		{op: routeIndex("/console/policy/roles"), a: "VERSION", b: "nurse", c: "Nurse", d: "", e: ""},
		{op: routeIndex("/console/policy/roles"), a: "VERSION", b: "Gone", c: "NoSuchRole", d: "1h", e: ""},
		{op: routeIndex("/console/policy/roles") + 1, a: "VERSION", b: "X", c: "", d: "", e: "alien", raw: "employment_types=&privileged=on&require_uv=1&apps=" + url.QueryEscape(strings.Repeat("a,", 4001))},
		{op: routeIndex("/console/policy/roles/delete"), a: "VERSION", b: "Nurse"},
		{op: routeIndex("/console/policy/other"), a: "VERSION", b: "browser", c: "", d: "employee", e: "h"},
		{op: routeIndex("/console/sites"), a: "north", b: "Europe/Berlin"},
		{op: routeIndex("/console/sites"), a: "south", b: "Local"},
		{op: routeIndex("/console/sites"), a: "west", b: "../../etc/passwd"},
		{op: routeIndex("/console/sites"), a: "a\tb", b: "UTC"},
		{op: routeIndex("/console/sites"), a: "", b: ""},
		{op: routeIndex("/console/tokens"), a: "ci", b: "scim"},
		{op: routeIndex("/console/tokens"), a: "", b: "root"},
		{op: routeIndex("/console/tokens/SEG/revoke"), seg: "TOKENID"},
		{op: routeIndex("/console/tokens/SEG/revoke"), seg: "nope"},
		{op: routeIndex("/console/tokens"), a: "ci", b: "admin", c: "2099-01-01"},
		{op: routeIndex("/console/tokens"), a: "ci", b: "metrics", c: "never"},
		{op: routeIndex("/console/tokens/SEG/rotate"), seg: "TOKENID", a: "24h", b: "90d"},
		{op: routeIndex("/console/tokens/SEG/rotate"), seg: "TOKENID", a: "8d", b: ""},
		{op: routeIndex("/console/tokens/SEG/rotate"), seg: "nope", a: "0", b: "30d"},
		{op: routeIndex("/console/accounts"), a: "eve@example.org", b: "supervisor", c: "north", d: "NORTH"},
		{op: routeIndex("/console/accounts"), a: "<script>", b: "admin"},
		{op: routeIndex("/console/accounts"), a: "ada@example.org", b: "admin"},
		{op: routeIndex("/console/accounts"), a: "x", b: "supervisor", c: "", d: ""},
		{op: routeIndex("/console/accounts/SEG/invite"), seg: "ACCOUNT", a: "passkeys"},
		{op: routeIndex("/console/accounts/SEG/invite"), seg: "SELF", a: "passkeys"},
		{op: routeIndex("/console/accounts/SEG/invite"), seg: "SELF", a: ""},
		{op: routeIndex("/console/accounts/SEG/invite"), seg: "ACCOUNT", a: "everything"},
		{op: routeIndex("/console/accounts/SEG/passkeys/revoke"), seg: "ACCOUNT"},
		{op: routeIndex("/console/accounts/SEG/disable"), seg: "ACCOUNT"},
		{op: routeIndex("/console/accounts/SEG/disable"), seg: "SELF"},
		{op: routeIndex("/console/accounts/SEG/enable"), seg: "ACCOUNT"},
		{op: sup(routeIndex("/console/accounts/SEG/enable")), seg: "ACCOUNT"},
		{op: routeIndex("/console/reviews"), a: "q4", b: "2099-12-01", c: "on", d: "", e: "north", raw: "roles=Nurse&roles=nurse"},
		{op: routeIndex("/console/reviews"), a: "", b: "1999-12-31", c: "", d: "on"},
		{op: routeIndex("/console/reviews"), a: "x", b: "2026-13-45", raw: strings.Repeat("sites=a&", 201)},
		{op: routeIndex("/console/reviews/run")},
		{op: routeIndex("/console/review-items/SEG"), seg: "ITEM", a: "keep", b: "ok", c: "/console/my-reviews"},
		{op: sup(routeIndex("/console/review-items/SEG")), seg: "ITEM", a: "revoke", b: ""},
		{op: routeIndex("/console/review-items/SEG"), seg: "ITEM", a: "comment", b: ""},
		{op: routeIndex("/console/review-items/SEG"), seg: "nope", a: "maybe"},
		{op: routeIndex("/console/findings/SEG/remediate"), seg: "FINDING", a: "30"},
		{op: routeIndex("/console/findings/SEG/remediate"), seg: "dormant-00", a: "99999999999999999999"},
		{op: routeIndex("/console/devices/codes"), a: "north-9", b: "north"},
		{op: routeIndex("/console/devices/codes"), a: "a\x00b", b: "north"},
		{op: routeIndex("/console/devices/SEG/disable"), seg: "dev-south"},
		{op: routeIndex("/console/users/SEG/signout"), seg: "USER"},
		{op: routeIndex("/console/users/SEG/disable"), seg: "user-south"},
		{op: routeIndex("/console/credentials/SEG/revoke"), seg: "CREDID"},
		{op: routeIndex("/console/credentials/SEG/revoke"), seg: "zz"},
		{op: routeIndex("/console/me/passkeys")},
		{op: sup(routeIndex("/console/me/sessions/SEG/end")), seg: "0011223344556677"},
		{op: routeIndex("/console/site/grants"), raw: "%zz&csrf=&user=%"},
		{op: routeIndex("/console/auth/login/begin"), raw: `{}`},
		{op: routeIndex("/console/auth/login/begin"), raw: `not json`},
		{op: routeIndex("/console/auth/login/finish"), raw: `{"ceremony":"CEREMONY","credential":{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"AAAA","signature":"AAAA","userHandle":"AAAA"}}}`},
		{op: routeIndex("/console/auth/login/finish"), raw: `{"ceremony":"CEREMONY","credential":null}`},
		{op: routeIndex("/console/auth/login/finish"), raw: `{"ceremony":"nope","credential":"x"}`},
		{op: routeIndex("/console/auth/register/begin"), raw: `{"token":"INVITE"}`},
		{op: routeIndex("/console/auth/register/begin"), raw: `{"token":"sgi_AAAA"}`},
		{op: routeIndex("/console/auth/register/begin"), raw: `{"token":12}`},
		{op: routeIndex("/console/auth/register/finish"), raw: `{"token":"INVITE","ceremony":"CEREMONY","credential":{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"attestationObject":"oA","clientDataJSON":"e30"}}}`},
		{op: routeIndex("/console/auth/register/finish"), raw: `{"token":"sgi_x","ceremony":"CEREMONY","credential":{}}`},
		{op: routeIndex("/console/auth/register/finish"), raw: `[]`},
	}
	for _, s := range seeds {
		f.Add(s.op, s.seg, s.a, s.b, s.c, s.d, s.e, []byte(s.raw))
	}

	logs := &errorLog{}
	h := hubtest.Start(f, hubtest.Options{Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelError}))})
	fx := consoleFuzzSetup(f, h)
	f.Fuzz(func(t *testing.T, op uint8, seg, a, b, c, d, e string, raw []byte) {
		logs.take()
		rt := consoleFormRoutes[int(op&0x7f)%len(consoleFormRoutes)]
		viewer := fx.admin.as(t)
		if op&0x80 != 0 {
			viewer = fx.sup.as(t)
		}
		fill := fx.placeholders(h)
		target := rt.path
		if strings.Contains(target, "SEG") {
			target = strings.ReplaceAll(target, "SEG", url.PathEscape(fill.Replace(seg)))
		}
		var r resp
		if rt.json {
			body := fill.Replace(string(raw))
			if strings.Contains(body, "CEREMONY") {
				body = strings.ReplaceAll(body, "CEREMONY", fx.beginCeremony(t, rt.path))
			}
			r = fx.anon.as(t).do("POST", target, body, "Content-Type", "application/json")
		} else {
			form := url.Values{"csrf": {viewer.csrf}}
			for i, v := range []string{a, b, c, d, e}[:len(rt.fields)] {
				form.Add(rt.fields[i], fill.Replace(v))
			}
			body := form.Encode()
			if len(raw) > 0 {
				body += "&" + fill.Replace(string(raw))
			}
			r = viewer.do("POST", target, body)
		}
		what := fmt.Sprintf("POST %s (seg %q, values %q %q %q %q %q, raw %q)", target, seg, a, b, c, d, e, raw)
		checkConsoleAnswer(t, what, r, logs)
		// The hub still serves the same viewer a page.
		if me := viewer.get("/console/me"); me.Status != http.StatusOK {
			t.Fatalf("after %s: GET /console/me: %d %s\nhub log: %s", what, me.Status, me.Body, logs.take())
		}
	})
}

// checkConsoleAnswer fails t unless r is an answer the console promises
// for any input: never a 5xx, and a 4xx that says what is wrong, in JSON
// or on the page.
func checkConsoleAnswer(t *testing.T, what string, r resp, logs *errorLog) {
	t.Helper()
	if r.Status >= 500 {
		t.Fatalf("%s: %d %s\nhub log: %s", what, r.Status, r.Body, logs.take())
	}
	if r.Status < 400 {
		return
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal([]byte(r.Body), &e) != nil || strings.TrimSpace(e.Error) == "" {
			t.Fatalf("%s: %d without an error message: %s", what, r.Status, r.Body)
		}
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") || errorText.FindStringSubmatch(r.Body) == nil {
		t.Fatalf("%s: %d (%s) without an error message on the page: %s", what, r.Status, r.Header.Get("Content-Type"), r.Body)
	}
}

// consoleFuzz is what FuzzConsoleForms acts with and on.
type consoleFuzz struct {
	admin, sup, anon *client
	world            world
	victim, self     string // console account IDs
	invite           string // a usable invitation token
	item, finding    string
	tokenID, credID  string
}

// consoleFuzzSetup signs in an admin (ada@example.org) and a supervisor of
// north (sam), gives north and south their kiosk, worker and session
// (makeWorld), makes both workers Nurses, starts an access review, and
// invites two accounts that never register: vic, which the fuzzer may
// disable, enable and send new links, and nel, whose link stays usable.
func consoleFuzzSetup(f *testing.F, h *hubtest.Hub) *consoleFuzz {
	f.Helper()
	ctx := f.Context()
	fx := &consoleFuzz{world: makeWorld(f, h)}
	if _, err := h.Engine().CreateGroup(ctx, lifecycleActor, store.Group{ID: "g-nurse", DisplayName: "Nurse",
		Members: []string{fx.world.northUser.ID, fx.world.southUser.ID}}); err != nil {
		f.Fatal(err)
	}
	fx.admin = bootstrapAdmin(f, h)
	fx.sup = fx.admin.supervisor("sam", "north")
	fx.anon = newClient(f, h, nil)
	fx.admin.invite("vic", store.ConsoleSupervisor, "south")
	fx.invite = fx.admin.invite("nel", store.ConsoleSupervisor, "north")
	fx.victim, fx.self = account(f, h, "vic").ID, account(f, h, "ada@example.org").ID
	creds, err := h.Store().ListConsoleCredentials(ctx, fx.self)
	if err != nil || len(creds) == 0 {
		f.Fatalf("admin's passkeys: %v %v", creds, err)
	}
	fx.credID = fmt.Sprintf("%x", creds[0].ID) // a console passkey, not a kiosk credential: 404
	r := fx.admin.post("/console/reviews", url.Values{"name": {"fuzz"}, "due": {time.Now().AddDate(0, 1, 0).Format(time.DateOnly)}})
	campaign, ok := strings.CutPrefix(r.location(), "/console/reviews/")
	campaign, _, _ = strings.Cut(campaign, "?")
	if r.Status != http.StatusSeeOther || !ok || campaign == "" {
		f.Fatalf("start review: %d %s %s", r.Status, r.location(), r.Body)
	}
	items, err := h.Store().ListReviewItems(ctx, store.ReviewItemQuery{CampaignID: campaign})
	if err != nil || len(items) == 0 {
		f.Fatalf("review items: %v %v", items, err)
	}
	fx.item = items[0].ID
	fx.finding = "none"
	if fs, err := h.Governance().Findings(ctx, governance.FindingsOptions{}); err != nil {
		f.Fatal(err)
	} else if len(fs) > 0 {
		fx.finding = fs[0].ID
	}
	h.Token(f, "fuzz", store.ScopeAdmin)
	ts, err := h.Store().ListTokens(ctx)
	if err != nil {
		f.Fatal(err)
	}
	for _, tk := range ts {
		if tk.Name == "fuzz" {
			fx.tokenID = tk.ID
		}
	}
	return fx
}

// placeholders replaces the names of records in a fuzzed string with the
// records' IDs.
func (fx *consoleFuzz) placeholders(h *hubtest.Hub) *strings.Replacer {
	return strings.NewReplacer(
		"SESSION", fx.world.northSession.ID, "DEVICE", fx.world.northKiosk.ID, "GRANT", fx.world.southGrant.ID,
		"USER", fx.world.northUser.ID, "ACCOUNT", fx.victim, "SELF", fx.self, "ITEM", fx.item, "FINDING", fx.finding,
		"TOKENID", fx.tokenID, "CREDID", fx.credID, "VERSION", strconv.FormatInt(h.Engine().Policy().Version, 10),
		"INVITE", fx.invite)
}

// beginCeremony begins the passkey ceremony that the finish at path
// completes and returns its ID.
func (fx *consoleFuzz) beginCeremony(t *testing.T, path string) string {
	var begin map[string]json.RawMessage
	if strings.Contains(path, "register") {
		begin = fx.anon.as(t).jsonCall("/console/auth/register/begin", map[string]string{"token": fx.invite}, http.StatusOK)
	} else {
		begin = fx.anon.as(t).jsonCall("/console/auth/login/begin", map[string]string{}, http.StatusOK)
	}
	var id string
	if err := json.Unmarshal(begin["ceremony"], &id); err != nil || id == "" {
		t.Fatalf("begin a ceremony for %s: %s", path, begin["ceremony"])
	}
	return id
}
