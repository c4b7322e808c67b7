package console_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/console"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// client is a console user driven from Go: a cookie jar, a software
// passkey that answers the same WebAuthn options a browser would get, and
// the page's CSRF token.
type client struct {
	t     testing.TB
	h     *hubtest.Hub
	http  *http.Client
	badge authenticator.Authenticator
	csrf  string
}

func newClient(t testing.TB, h *hubtest.Hub, badge authenticator.Authenticator) *client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	base := h.NewClient(t)
	hc := &http.Client{Transport: base.Transport, Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if badge == nil {
		badge = newBadge(t)
	}
	return &client{t: t, h: h, http: hc, badge: badge}
}

// newClientFrom is newClient connecting from the loopback address ip, so
// that the hub sees a client of its own (see fromAddr).
func newClientFrom(t testing.TB, h *hubtest.Hub, badge authenticator.Authenticator, ip string) *client {
	t.Helper()
	c := newClient(t, h, badge)
	c.http.Transport = fromAddr(t, c.http.Transport, ip)
	return c
}

// fromAddr returns a copy of the hub client transport rt whose connections
// come from the loopback address ip: Linux routes all of 127.0.0.0/8 to
// the loopback interface, and the hub listens on 127.0.0.1. It skips the
// test where ip cannot be bound (e.g. macOS has only 127.0.0.1).
func fromAddr(t testing.TB, rt http.RoundTripper, ip string) *http.Transport {
	t.Helper()
	local := &net.TCPAddr{IP: net.ParseIP(ip)}
	ln, err := net.ListenTCP("tcp", local)
	if err != nil {
		t.Skipf("cannot use %s as a source address: %v", ip, err)
	}
	ln.Close()
	tr := rt.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{LocalAddr: local}).DialContext
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// cloneBadge copies a software passkey's file, private keys and sign
// counters included: the copy is a cloned authenticator.
func cloneBadge(t testing.TB, b authenticator.Authenticator) authenticator.Authenticator {
	t.Helper()
	soft, ok := b.(*authenticator.Soft)
	if !ok {
		t.Fatalf("cannot clone a %T", b)
	}
	data, err := os.ReadFile(soft.Path())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	name := strings.TrimSuffix(filepath.Base(soft.Path()), ".json")
	if err := os.WriteFile(filepath.Join(dir, name+".json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := authenticator.NewSoft(dir, name, authenticator.SoftOptions{UserVerification: true, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newBadge(t testing.TB) authenticator.Authenticator {
	t.Helper()
	b, err := authenticator.NewSoft(t.TempDir(), "passkey", authenticator.SoftOptions{UserVerification: true, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type resp struct {
	Status int
	Header http.Header
	Body   string
}

func (r resp) location() string { return r.Header.Get("Location") }

// do sends a request; body is nil, url.Values (a form) or a JSON value.
func (c *client) do(method, path string, body any, headers ...string) resp {
	c.t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case url.Values:
		rd, ct = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	case string:
		rd, ct = strings.NewReader(b), "application/x-www-form-urlencoded"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd, ct = bytes.NewReader(j), "application/json"
	}
	req, err := http.NewRequest(method, c.h.URL+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if method == http.MethodPost && strings.HasPrefix(path, "/console/auth/") && req.Header.Get("Origin") == "" && req.Header.Get("Sec-Fetch-Site") == "" {
		// The console's origin, as a browser names it on every POST: the
		// hub refuses a passkey ceremony that says nothing of where it
		// comes from unless it has the page's token (signin_csrf_test.go).
		req.Header.Set("Origin", c.h.URL)
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{Status: res.StatusCode, Header: res.Header, Body: string(b)}
}

func (c *client) get(path string) resp { c.t.Helper(); return c.do("GET", path, nil) }

// post submits a form with the page's CSRF token.
func (c *client) post(path string, form url.Values) resp {
	c.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", c.csrf)
	return c.do("POST", path, form)
}

var csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)

// loadCSRF reads the CSRF token from a console page.
func (c *client) loadCSRF() {
	c.t.Helper()
	r := c.get("/console/me")
	m := csrfMeta.FindStringSubmatch(r.Body)
	if r.Status != 200 || m == nil {
		c.t.Fatalf("no CSRF token on /console/me: %d %s", r.Status, r.Body)
	}
	c.csrf = m[1]
}

func (c *client) jsonCall(path string, body any, want int) map[string]json.RawMessage {
	c.t.Helper()
	r := c.do("POST", path, body, "Accept", "application/json")
	if r.Status != want {
		c.t.Fatalf("POST %s: %d %s, want %d", path, r.Status, r.Body, want)
	}
	var m map[string]json.RawMessage
	json.Unmarshal([]byte(r.Body), &m)
	return m
}

// register redeems an invite token with the client's passkey and returns
// the finish response.
func (c *client) register(token string) resp {
	c.t.Helper()
	begin := c.jsonCall("/console/auth/register/begin", map[string]string{"token": token}, 200)
	cred, err := authenticator.Register(c.t.Context(), c.badge, c.h.URL, begin["options"])
	if err != nil {
		c.t.Fatalf("passkey registration: %v", err)
	}
	var ceremony string
	json.Unmarshal(begin["ceremony"], &ceremony)
	r := c.do("POST", "/console/auth/register/finish", map[string]any{"token": token, "ceremony": ceremony, "credential": json.RawMessage(cred)})
	if r.Status == 200 {
		c.loadCSRF()
	}
	return r
}

// signin runs a usernameless passkey sign-in and returns the finish
// response.
func (c *client) signin() resp {
	c.t.Helper()
	begin := c.jsonCall("/console/auth/login/begin", map[string]string{}, 200)
	cred, err := authenticator.Authenticate(c.t.Context(), c.badge, c.h.URL, begin["options"])
	if err != nil {
		c.t.Fatalf("passkey sign-in: %v", err)
	}
	var ceremony string
	json.Unmarshal(begin["ceremony"], &ceremony)
	r := c.do("POST", "/console/auth/login/finish", map[string]any{"ceremony": ceremony, "credential": json.RawMessage(cred)})
	if r.Status == 200 {
		c.loadCSRF()
	}
	return r
}

// auditLog opens the hub's audit log from its data directory, as the CLI
// does.
func auditLog(t testing.TB, h *hubtest.Hub) *audit.Log {
	t.Helper()
	key, err := audit.LoadKey(h.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.New(key, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// bootstrapAdmin makes the first admin and signs it in.
func bootstrapAdmin(t testing.TB, h *hubtest.Hub) *client {
	t.Helper()
	tok, err := console.Bootstrap(t.Context(), h.Store(), auditLog(t, h), "ada@example.org", false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, h, nil)
	if r := c.register(tok); r.Status != 200 {
		t.Fatalf("register admin: %d %s", r.Status, r.Body)
	}
	return c
}

var inviteToken = regexp.MustCompile(`/console/register#(sgi_[A-Za-z0-9_-]+)`)

// invite creates a console account from admin's session and returns the
// invite token.
func (c *client) invite(name, role string, sites ...string) string {
	c.t.Helper()
	r := c.post("/console/accounts", url.Values{"name": {name}, "role": {role}, "sites": sites})
	m := inviteToken.FindStringSubmatch(r.Body)
	if r.Status != http.StatusCreated || m == nil {
		c.t.Fatalf("invite %s: %d %s", name, r.Status, r.Body)
	}
	return m[1]
}

// reinvite asks for a new invitation link for the account with that ID
// (with form, e.g. revoke=passkeys) and returns its token.
func (c *client) reinvite(id string, form url.Values) string {
	c.t.Helper()
	r := c.post("/console/accounts/"+id+"/invite", form)
	m := inviteToken.FindStringSubmatch(r.Body)
	if r.Status != http.StatusCreated || m == nil {
		c.t.Fatalf("new link for %s: %d %s", id, r.Status, r.Body)
	}
	return m[1]
}

// account reads a console account by name from the hub's store.
func account(t testing.TB, h *hubtest.Hub, name string) store.ConsoleAccount {
	t.Helper()
	a, err := h.Store().GetConsoleAccountByName(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// supervisor invites and registers a supervisor of sites.
func (c *client) supervisor(name string, sites ...string) *client {
	c.t.Helper()
	s := newClient(c.t, c.h, nil)
	if r := s.register(c.invite(name, store.ConsoleSupervisor, sites...)); r.Status != 200 {
		c.t.Fatalf("register supervisor: %d %s", r.Status, r.Body)
	}
	return s
}

// formKey loads the console page at path and returns the key its form
// carries in the hidden field that field matches: the "once" key that
// makes the form, sent twice, do its work once. Each load gives a new key.
func (c *client) formKey(path string, field *regexp.Regexp) string {
	c.t.Helper()
	page := c.get(path)
	m := field.FindStringSubmatch(page.Body)
	if page.Status != http.StatusOK || m == nil {
		c.t.Fatalf("%s: %d, its form without its key", path, page.Status)
	}
	return m[1]
}

// auditor invites and registers an auditor.
func (c *client) auditor(name string) *client {
	c.t.Helper()
	a := newClient(c.t, c.h, nil)
	if r := a.register(c.invite(name, store.ConsoleAuditor)); r.Status != 200 {
		c.t.Fatalf("register auditor: %d %s", r.Status, r.Body)
	}
	return a
}

// world is two sites with a kiosk, a worker and a live session each, and a
// grant at south.
type world struct {
	northKiosk, southKiosk     store.Device
	northUser, southUser       store.User
	northSession, southSession store.Session
	southGrant                 store.Grant
}

func makeWorld(t testing.TB, h *hubtest.Hub) world {
	t.Helper()
	ctx := t.Context()
	st := h.Store()
	now := time.Now().UTC()
	if h.Clock != nil {
		now = h.Clock.Now().UTC()
	}
	var w world
	mk := func(site string) (store.Device, store.User, store.Session) {
		d, err := st.CreateDevice(ctx, store.Device{ID: "dev-" + site, Name: site + "-1", Site: site, Profile: "generic-x86", State: store.DeviceActive, Created: now, Modified: now})
		if err != nil {
			t.Fatal(err)
		}
		u, err := h.Engine().CreateUser(ctx, lifecycleActor, store.User{ID: "user-" + site, UserName: site + ".worker", DisplayName: site + " worker", Active: true, Sites: []string{site}})
		if err != nil {
			t.Fatal(err)
		}
		s, err := st.CreateSession(ctx, store.Session{ID: "sess-" + site, UserID: u.ID, DeviceID: d.ID, Role: "Nurse", Started: now, Expires: now.Add(8 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return d, u, s
	}
	w.northKiosk, w.northUser, w.northSession = mk("north")
	w.southKiosk, w.southUser, w.southSession = mk("south")
	g, err := h.Engine().GrantAccess(ctx, lifecycleActor, store.Grant{UserID: w.southUser.ID, Role: "Nurse", Site: "south", Reason: "cover", End: now.Add(4 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	w.southGrant = g
	return w
}

// adminWorld starts a hub with makeWorld's two sites, a group for each of
// roles (the role a grant gives names a group), and the first admin signed
// in, who invites the supervisors of a test.
func adminWorld(t *testing.T, roles ...string) (*hubtest.Hub, world, *client) {
	t.Helper()
	h := hubtest.Start(t, hubtest.Options{})
	w := makeWorld(t, h)
	for _, role := range roles {
		if _, err := h.Engine().CreateGroup(t.Context(), lifecycleActor, store.Group{ID: "g-" + strings.ToLower(role), DisplayName: role}); err != nil {
			t.Fatal(err)
		}
	}
	return h, w, bootstrapAdmin(t, h)
}

// grantCount is how many grants the user with that ID has, in force or not.
func grantCount(t *testing.T, h *hubtest.Hub, userID string) int {
	t.Helper()
	gs, err := h.Store().ListGrants(t.Context(), userID)
	if err != nil {
		t.Fatal(err)
	}
	return len(gs)
}

// atOnce calls send twice at once, as two requests racing, and waits for
// both.
func atOnce(send func()) {
	var wg sync.WaitGroup
	wg.Go(send)
	wg.Go(send)
	wg.Wait()
}
