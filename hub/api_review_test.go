package hub_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/policy"
	"github.com/shiftgate/shiftgate/hub/store"
)

// syncBuffer is a log sink safe for the hub's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestAPIMalformedInput: malformed bodies, paths and queries on every
// admin route get a 4xx, never a 5xx.
func TestAPIMalformedInput(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	createUser(t, h, "jo", `{"sites":["south"]}`)
	h.EnrollKiosk(t, "north-1", "north")
	for _, tc := range []struct {
		name, method, path string
		body               any
	}{
		{"grant null", "POST", "/api/v1/grants", "null"},
		{"grant list", "POST", "/api/v1/grants", "[]"},
		{"grant empty", "POST", "/api/v1/grants", ""},
		{"grant bad utf8", "POST", "/api/v1/grants", "{\"user\":\"jo\xff\"}"},
		{"grant long reason", "POST", "/api/v1/grants", map[string]any{"user": "jo", "role": "Nurse", "site": "north", "end": time.Now().Add(time.Hour), "reason": strings.Repeat("x", 60000)}},
		{"grant year 0", "POST", "/api/v1/grants", map[string]any{"user": "jo", "role": "Nurse", "site": "north", "start": "0001-01-01T00:00:01Z", "end": time.Now().Add(time.Hour), "reason": "x"}},
		{"grant year 9999", "POST", "/api/v1/grants", map[string]any{"user": "jo", "role": "Nurse", "site": "north", "start": "9999-12-31T00:00:00Z", "end": "9999-12-31T23:00:00Z", "reason": "x"}},
		{"grant role nul", "POST", "/api/v1/grants", map[string]any{"user": "jo", "role": "Nu\x00rse", "site": "north", "end": time.Now().Add(time.Hour), "reason": "x"}},
		{"grant user nul", "POST", "/api/v1/grants", map[string]any{"user": "jo\x00", "role": "Nurse", "site": "north", "end": time.Now().Add(time.Hour), "reason": "x"}},
		{"revoke grant junk", "POST", "/api/v1/grants/%00/revoke", nil},
		{"list grants unknown", "GET", "/api/v1/users/%00/grants", nil},
		{"shifts object", "PUT", "/api/v1/users/jo/shifts", "{}"},
		{"shifts null elem", "PUT", "/api/v1/users/jo/shifts", "[null]"},
		{"shifts bad time", "PUT", "/api/v1/users/jo/shifts", `[{"start":"x","end":"y"}]`},
		{"shifts year 0", "PUT", "/api/v1/users/jo/shifts", `[{"start":"0000-01-01T00:00:00Z","end":"0000-01-01T01:00:00Z"}]`},
		{"shifts huge", "PUT", "/api/v1/users/jo/shifts", "[" + strings.Repeat(`{"start":"2026-01-01T00:00:00Z","end":"2026-01-01T01:00:00Z"},`, 2000) + "null]"},
		{"shifts empty", "PUT", "/api/v1/users/jo/shifts", ""},
		{"extend null", "POST", "/api/v1/users/jo/extend", "null"},
		{"extend zero", "POST", "/api/v1/users/jo/extend", `{"until":"0001-01-01T00:00:00Z","reason":"x"}`},
		{"extend far", "POST", "/api/v1/users/jo/extend", `{"until":"9999-01-01T00:00:00Z","reason":"x"}`},
		{"policy null", "PUT", "/api/v1/policy", "null"},
		{"policy list", "PUT", "/api/v1/policy", "[]"},
		{"policy string", "PUT", "/api/v1/policy", `"x"`},
		{"policy float version", "PUT", "/api/v1/policy", `{"version":1.5}`},
		{"policy huge version", "PUT", "/api/v1/policy", `{"version":1e100}`},
		{"policy negative", "PUT", "/api/v1/policy", `{"version":-1}`},
		{"policy roles null", "PUT", "/api/v1/policy", `{"version":1,"max_session":"1h","shift_grace":"1m","roles":[null],"other":{"apps":[]}}`},
		{"policy bad duration", "PUT", "/api/v1/policy", `{"version":1,"max_session":"forever","shift_grace":"1m","roles":[],"other":{"apps":[]}}`},
		{"policy huge duration", "PUT", "/api/v1/policy", `{"version":1,"max_session":"9999999999h","shift_grace":"1m","roles":[],"other":{"apps":[]}}`},
		{"policy empty", "PUT", "/api/v1/policy", ""},
		{"enroll null", "POST", "/api/v1/enrollments", "null"},
		{"enroll unknown", "POST", "/api/v1/enrollments", `{"user":"nobody","device":"nowhere"}`},
		{"enroll unknown device", "POST", "/api/v1/enrollments", `{"user":"jo","device":"nowhere"}`},
		{"code null", "POST", "/api/v1/devices/codes", "null"},
		{"code long name", "POST", "/api/v1/devices/codes", map[string]any{"name": strings.Repeat("k", 60000), "site": "north"}},
		{"code nul name", "POST", "/api/v1/devices/codes", map[string]any{"name": "k\x00", "site": "north"}},
		{"code dup", "POST", "/api/v1/devices/codes", map[string]any{"name": "north-1", "site": "north"}},
		{"signout unknown", "POST", "/api/v1/users/nobody/signout", nil},
		{"disable unknown", "POST", "/api/v1/devices/nope/disable", nil},
		{"revoke cred odd", "POST", "/api/v1/credentials/abc/revoke", nil},
		{"revoke cred unknown", "POST", "/api/v1/credentials/abcd/revoke", nil},
		{"revoke cred empty", "POST", "/api/v1/credentials//revoke", nil},
		{"review null", "POST", "/api/v1/reviews", "null"},
		{"review junk", "POST", "/api/v1/reviews", `{"name":"x","due":"2026-12-01","scope":{"sites":[null]}}`},
		{"review get junk", "GET", "/api/v1/reviews/%00", nil},
		{"decide junk", "POST", "/api/v1/reviews/x/items/y", `{"decision":"maybe"}`},
		{"findings junk", "GET", "/api/v1/findings?dormant_days=-1", nil},
		{"remediate junk", "POST", "/api/v1/findings/%00/remediate", nil},
	} {
		r := h.API(t, tc.method, tc.path, tc.body)
		if r.Status >= 500 {
			t.Errorf("%s: %d %s", tc.name, r.Status, r.Body)
		}
	}
}

// TestAPIAuthScopes: only admin tokens reach the admin API, and admin or
// metrics tokens /metrics (no token, a SCIM token, a metrics token on
// anything else or a malformed one: 401), and neither tokens
// nor enrollment codes reach the debug-level request log.
func TestAPIAuthScopes(t *testing.T) {
	var logs syncBuffer
	h := hubtest.Start(t, hubtest.Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	routes := [][2]string{
		{"POST", "/api/v1/enrollments"}, {"POST", "/api/v1/devices/codes"}, {"POST", "/api/v1/users/jo/signout"},
		{"POST", "/api/v1/devices/x/disable"}, {"POST", "/api/v1/credentials/ab/revoke"}, {"POST", "/api/v1/grants"},
		{"GET", "/api/v1/users/jo/grants"}, {"POST", "/api/v1/grants/x/revoke"}, {"GET", "/api/v1/users/jo/shifts"},
		{"PUT", "/api/v1/users/jo/shifts"}, {"POST", "/api/v1/users/jo/extend"}, {"GET", "/api/v1/policy"},
		{"PUT", "/api/v1/policy"}, {"GET", "/api/v1/reviews"}, {"POST", "/api/v1/reviews"}, {"GET", "/api/v1/findings"},
		{"GET", "/api/v1/report"}, {"GET", "/metrics"}, {"POST", "/api/v1/reviews/run"},
	}
	metrics := h.Token(t, "prometheus", store.ScopeMetrics)
	for _, rt := range routes {
		for _, tok := range []string{"", h.SCIMToken, "sgt_x_y", h.SCIMToken + "x", metrics} {
			if tok == metrics && rt[1] == "/metrics" {
				continue
			}
			r := h.DoToken(t, tok, rt[0], rt[1], "{}")
			if r.Status != http.StatusUnauthorized {
				t.Errorf("%s %s with %q: %d %s", rt[0], rt[1], tok, r.Status, r.Body)
			}
		}
	}
	// A metrics token reads /metrics, and nothing else: not SCIM either.
	if r := h.DoToken(t, metrics, "GET", "/metrics", nil); r.Status != http.StatusOK || !strings.Contains(string(r.Body), "shiftgate_") {
		t.Errorf("GET /metrics with a metrics token: %d", r.Status)
	}
	if r := h.DoToken(t, metrics, "GET", "/scim/v2/Users", nil); r.Status != http.StatusUnauthorized {
		t.Errorf("SCIM with a metrics token: %d, want 401", r.Status)
	}
	if r := h.DoToken(t, h.AdminToken(t), "GET", "/metrics", nil); r.Status != http.StatusOK {
		t.Errorf("GET /metrics with an admin token: %d", r.Status)
	}
	code := h.API(t, "POST", "/api/v1/devices/codes", map[string]any{"name": "k1", "site": "north"}).JSON()["code"]
	if !strings.Contains(logs.String(), "msg=http") {
		t.Fatalf("no request was logged:\n%s", logs.String())
	}
	for _, secret := range []string{h.SCIMToken, h.AdminToken(t), code.(string)} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("log holds a secret %q", secret)
		}
	}
}

// TestPolicyAPIDuplicateKey: PUT /api/v1/policy refuses a document that
// names a field twice, as policy.ParseDocument does: encoding/json keeps
// the last of two names that match without case, so a reviewer reading
// "sites":["north"] would approve a role that counts everywhere.
func TestPolicyAPIDuplicateKey(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	limited := func(version int64) string {
		b, err := json.Marshal(policyBody(t, version, func(d *policy.Document) {
			roleDoc(d, "Nurse").Sites = []string{"north"}
		}))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	wantAPI(t, putPolicy(t, h, limited(1)), http.StatusOK)
	for _, tc := range []struct{ name, old, new string }{
		{"role sites", `"sites":["north"]`, `"sites":["north"],"SITES":null`},
		{"long s", `"sites":["north"]`, `"sites":["north"],"\u017fites":null`},
		{"top level", `"max_session":"12h"`, `"max_session":"12h","Max_Session":"1h"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := strings.Replace(limited(2), tc.old, tc.new, 1)
			if body == limited(2) {
				t.Fatalf("%s not in %s", tc.old, body)
			}
			r := putPolicy(t, h, body)
			if r.Status != http.StatusBadRequest || !strings.Contains(r.JSON()["error"].(string), "twice") {
				t.Errorf("PUT: %d %s, want 400 naming the field given twice", r.Status, r.Body)
			}
			if v := storedVersion(t, h); v != 2 {
				t.Errorf("stored version %d, want 2: nothing stored", v)
			}
			if got := h.Engine().Rules().Rule("Nurse").Sites; !slices.Equal(got, []string{"north"}) {
				t.Errorf("Nurse counts at %v, want only north", got)
			}
		})
	}
}

// TestAPITextLimits: text the API stores is capped like a console form
// field (500 characters), and names hold no control characters; nothing
// is stored for a refused request.
func TestAPITextLimits(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	createUser(t, h, "jo", `{"sites":["south"]}`)
	h.EnrollKiosk(t, "north-1", "north")
	end := time.Now().Add(time.Hour)
	grant := func(role, reason string) map[string]any {
		return map[string]any{"user": "jo", "role": role, "site": "north", "end": end, "reason": reason}
	}
	for _, tc := range []struct {
		name, path string
		body       any
	}{
		{"long reason", "/api/v1/grants", grant("Nurse", strings.Repeat("x", 501))},
		{"long role", "/api/v1/grants", grant(strings.Repeat("N", 501), "cover")},
		{"role with NUL", "/api/v1/grants", grant("Nu\x00rse", "cover")},
		{"role with newline", "/api/v1/grants", grant("Nurse\nSupervisor", "cover")},
		{"long kiosk name", "/api/v1/devices/codes", map[string]any{"name": strings.Repeat("k", 501), "site": "north"}},
		{"kiosk name with NUL", "/api/v1/devices/codes", map[string]any{"name": "k\x00", "site": "north"}},
		{"site with escape", "/api/v1/devices/codes", map[string]any{"name": "k2", "site": "north\x1b[2J"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.API(t, "POST", tc.path, tc.body)
			if r.Status != http.StatusBadRequest || r.JSON()["error"] == "" {
				t.Errorf("%d %s, want 400 with an error", r.Status, r.Body)
			}
		})
	}
	if r := h.API(t, "GET", "/api/v1/users/jo/grants", nil); r.Status != 200 || len(r.JSON()["grants"].([]any)) != 0 {
		t.Errorf("grants after refused requests: %d %s", r.Status, r.Body)
	}
	if r := h.API(t, "POST", "/api/v1/grants", grant("Nurse", strings.Repeat("x", 500))); r.Status != http.StatusCreated {
		t.Errorf("a 500-character reason: %d %s, want 201", r.Status, r.Body)
	}
}

// TestPolicyAPIErrorsNameNoGoTypes: a body of the wrong shape is told what
// is wrong in the API's terms, not in the hub's Go type names.
func TestPolicyAPIErrorsNameNoGoTypes(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	for _, body := range []string{`[]`, `"policy"`, `{"version":1.5}`, `{"version":1,"roles":{}}`, `{"version":1,"roles":[{"sites":"north"}]}`} {
		r := putPolicy(t, h, body)
		msg, _ := r.JSON()["error"].(string)
		if r.Status != http.StatusBadRequest || msg == "" || strings.Contains(msg, "Go ") || strings.Contains(msg, "hub.") || strings.Contains(msg, "int64") || strings.Contains(msg, "Document.") {
			t.Errorf("%s: %d %s, want 400 without Go type names", body, r.Status, r.Body)
		}
	}
}

// TestAPIBodiesNameNoGoTypesNorTwice: an admin API body of the wrong shape
// is told what is wrong without the hub's Go type names, and one that
// names a field twice (compared without case, as JSON decoding matches
// them, keeping the last) is refused rather than read as the last.
func TestAPIBodiesNameNoGoTypesNorTwice(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	createUser(t, h, "jo", `{"sites":["north"]}`)
	end := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	for _, body := range []string{
		`{"user":"jo","role":"Nurse","ROLE":"Supervisor","site":"north","end":"` + end + `","reason":"cover"}`,
		`{"user":"jo","role":"Nurse","site":"north","end":"` + end + `","reason":"cover","reason":"other"}`,
		`{"user":["jo"],"role":"Nurse","site":"north","end":"` + end + `","reason":"cover"}`,
		`[]`,
	} {
		r := h.DoToken(t, h.AdminToken(t), "POST", "/api/v1/grants", body)
		msg, _ := r.JSON()["error"].(string)
		if r.Status != http.StatusBadRequest || msg == "" || strings.Contains(msg, "Go ") || strings.Contains(msg, "struct") {
			t.Errorf("%s: %d %s, want 400 without Go type names", body, r.Status, r.Body)
		}
	}
	if r := h.API(t, "GET", "/api/v1/users/jo/grants", nil); r.Status != 200 || len(r.JSON()["grants"].([]any)) != 0 {
		t.Errorf("grants after refused requests: %d %s", r.Status, r.Body)
	}
}
