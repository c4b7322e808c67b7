package console_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/hub/console"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// bare sends a JSON POST with exactly the headers given: unlike do, it
// does not name the console's origin for the passkey ceremonies.
func (c *client) bare(path string, body any, headers ...string) resp {
	c.t.Helper()
	j, err := json.Marshal(body)
	if err != nil {
		c.t.Fatal(err)
	}
	req, err := http.NewRequest("POST", c.h.URL+path, bytes.NewReader(j))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("POST %s: %v", path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{Status: res.StatusCode, Header: res.Header, Body: string(b)}
}

// pageToken loads a public console page (sign-in, registration) and
// returns the CSRF token it carries for its script.
func (c *client) pageToken(path string) string {
	c.t.Helper()
	r := c.get(path)
	m := csrfMeta.FindStringSubmatch(r.Body)
	if r.Status != http.StatusOK || m == nil {
		c.t.Fatalf("no CSRF token on %s: %d %s", path, r.Status, r.Body)
	}
	return m[1]
}

// TestSigninPostsFailClosed: the passkey ceremonies (sign-in, and
// registration from an invitation link) have no session whose token could
// hold them, so the hub takes them only from a request that says it comes
// from the console's origin (Origin or Sec-Fetch-Site), or that carries
// the token of the sign-in or registration page and its cookie. A POST
// saying nothing, as a cross-site form in an older browser does, is
// refused with a 403 that says why, as is one from another site, and one
// with a made-up token or another browser's; one from the console's own
// page passes either way.
func TestSigninPostsFailClosed(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	admin := bootstrapAdmin(t, h)
	invite := admin.invite("ivy", store.ConsoleAuditor)
	bodies := map[string]any{
		"/console/auth/login/begin":      map[string]string{},
		"/console/auth/login/finish":     map[string]any{"ceremony": "none", "credential": map[string]string{}},
		"/console/auth/register/begin":   map[string]string{"token": invite},
		"/console/auth/register/finish":  map[string]any{"token": invite, "ceremony": "none", "credential": map[string]string{}},
		"/console/auth/nothing-is-here":  map[string]string{},
		"/console/accounts/none/passkey": map[string]string{},
	}
	other := newClient(t, h, nil)
	othersToken := other.pageToken("/console/signin")
	anon := newClient(t, h, nil)
	for path, body := range bodies {
		for _, tc := range []struct {
			name string
			hdr  []string
		}{
			{"neither Origin nor Sec-Fetch-Site", nil},
			{"another origin", []string{"Origin", "https://evil.example"}},
			{"Origin null", []string{"Origin", "null"}},
			{"a cross-site fetch", []string{"Sec-Fetch-Site", "cross-site"}},
			{"a same-site fetch", []string{"Sec-Fetch-Site", "same-site"}},
			{"a made-up token", []string{console.CSRFHeader, "forged"}},
			{"another browser's token", []string{console.CSRFHeader, othersToken}},
			{"another origin with the page's token", []string{"Origin", "https://evil.example", console.CSRFHeader, othersToken}},
		} {
			r := anon.bare(path, body, tc.hdr...)
			if r.Status != http.StatusForbidden {
				t.Errorf("POST %s with %s: %d %s, want 403", path, tc.name, r.Status, r.Body)
			}
			if tc.hdr == nil && !strings.Contains(r.Body, "no Origin or Sec-Fetch-Site header") {
				t.Errorf("POST %s with %s: %s, want it to say why", path, tc.name, r.Body)
			}
		}
	}
	// A form another site's page posts in an older browser gets the
	// console's error page.
	form := anon.do("POST", "/console/register", url.Values{"token": {invite}}, "Accept", "text/html")
	if form.Status != http.StatusForbidden || !strings.Contains(form.Body, "reload the page and try again") {
		t.Errorf("a form POST with neither header: %d %s, want the 403 page", form.Status, form.Body)
	}

	// The console's own pages: a browser names the origin, or says
	// same-origin, or (an older one) sends the page's token.
	for _, hdr := range [][]string{{"Origin", h.URL}, {"Sec-Fetch-Site", "same-origin"}, {"Origin", h.URL, "Sec-Fetch-Site", "same-origin"}} {
		if r := anon.bare("/console/auth/login/begin", map[string]string{}, hdr...); r.Status != http.StatusOK {
			t.Errorf("sign-in begin with %v: %d %s, want 200", hdr, r.Status, r.Body)
		}
	}
	if r := other.bare("/console/auth/login/begin", map[string]string{}, console.CSRFHeader, othersToken); r.Status != http.StatusOK {
		t.Errorf("sign-in begin with the sign-in page's token and neither header: %d %s, want 200", r.Status, r.Body)
	}
	if again := other.pageToken("/console/register"); again != othersToken {
		t.Errorf("the registration page's token %q is not the sign-in page's %q: one tab would void another's", again, othersToken)
	}

	// A whole registration and sign-in with the pages' tokens alone.
	oldBrowser := newClient(t, h, nil)
	tok := oldBrowser.pageToken("/console/register")
	begin := oldBrowser.bare("/console/auth/register/begin", map[string]string{"token": invite}, console.CSRFHeader, tok)
	var b struct {
		Ceremony string          `json:"ceremony"`
		Options  json.RawMessage `json:"options"`
	}
	if err := json.Unmarshal([]byte(begin.Body), &b); begin.Status != http.StatusOK || err != nil {
		t.Fatalf("registration begin with the page's token: %d %s", begin.Status, begin.Body)
	}
	cred, err := authenticator.Register(t.Context(), oldBrowser.badge, h.URL, b.Options)
	if err != nil {
		t.Fatal(err)
	}
	if r := oldBrowser.bare("/console/auth/register/finish", map[string]any{"token": invite, "ceremony": b.Ceremony, "credential": json.RawMessage(cred)},
		console.CSRFHeader, tok); r.Status != http.StatusOK {
		t.Fatalf("registration finish with the page's token: %d %s", r.Status, r.Body)
	}
	tok = oldBrowser.pageToken("/console/signin")
	begin = oldBrowser.bare("/console/auth/login/begin", map[string]string{}, console.CSRFHeader, tok)
	if err := json.Unmarshal([]byte(begin.Body), &b); begin.Status != http.StatusOK || err != nil {
		t.Fatalf("sign-in begin with the page's token: %d %s", begin.Status, begin.Body)
	}
	cred, err = authenticator.Authenticate(t.Context(), oldBrowser.badge, h.URL, b.Options)
	if err != nil {
		t.Fatal(err)
	}
	if r := oldBrowser.bare("/console/auth/login/finish", map[string]any{"ceremony": b.Ceremony, "credential": json.RawMessage(cred)},
		console.CSRFHeader, tok); r.Status != http.StatusOK {
		t.Fatalf("sign-in finish with the page's token: %d %s", r.Status, r.Body)
	}
	if r := oldBrowser.get("/console/audit"); r.Status != http.StatusOK {
		t.Errorf("the auditor's session: %d, want 200", r.Status)
	}

	// Sign-out has a session: without either header it needs the
	// session's token, not the sign-in page's.
	oldBrowser.loadCSRF()
	if r := oldBrowser.do("POST", "/console/signout", url.Values{"csrf": {tok}}); r.Status != http.StatusForbidden {
		t.Errorf("sign-out with the sign-in page's token: %d, want 403", r.Status)
	}
	if r := oldBrowser.get("/console/audit"); r.Status != http.StatusOK {
		t.Errorf("the session after a refused sign-out: %d, want 200", r.Status)
	}
	if r := oldBrowser.post("/console/signout", nil); r.Status != http.StatusSeeOther {
		t.Errorf("sign-out with the session's token: %d, want 303", r.Status)
	}
}

// TestSigninCSRFLeavesTokenClientsAlone: SCIM and the JSON API with a
// bearer token carry no cookie, Origin or console token, and are not the
// console's to refuse.
func TestSigninCSRFLeavesTokenClientsAlone(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	if r := h.Do(t, "POST", "/scim/v2/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bo@example.com","active":true}`); r.Status != http.StatusCreated {
		t.Errorf("SCIM create: %d %s, want 201", r.Status, r.Body)
	}
	if r := h.API(t, "PUT", "/api/v1/sites/north", map[string]string{"timeZone": "UTC"}); r.Status >= 300 {
		t.Errorf("API PUT with a bearer token: %d %s, want success", r.Status, r.Body)
	}
}
