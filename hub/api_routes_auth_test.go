package hub_test

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/token"
)

// apiRoutePattern finds the admin API routes the hub's sources mount.
var apiRoutePattern = regexp.MustCompile(`mux\.Handle(?:Func)?\("([A-Z]+) (/api/v1/[^"]*)"`)

// mountedAPIRoutes returns every "METHOD /api/v1/..." route mounted in
// the hub package's sources, path wildcards filled in with "x": read from
// the sources so that a route added later is checked without being
// listed here.
func mountedAPIRoutes(t *testing.T) [][2]string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	wild := regexp.MustCompile(`\{[^}]+\}`)
	var routes [][2]string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range apiRoutePattern.FindAllStringSubmatch(string(b), -1) {
			routes = append(routes, [2]string{m[1], wild.ReplaceAllString(m[2], "x")})
		}
	}
	if len(routes) < 20 {
		t.Fatalf("found only %d API routes in the sources: %v", len(routes), routes)
	}
	return routes
}

// storeAdminToken stores an admin token changed by fn and returns its
// plaintext.
func storeAdminToken(t *testing.T, h *hubtest.Hub, fn func(*store.Token)) string {
	t.Helper()
	plain, tok, err := token.New("probe", store.ScopeAdmin, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	fn(&tok)
	if _, err := h.Store().CreateToken(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	return plain
}

// TestAPIEveryRouteNeedsAValidAdminToken: every route under /api/v1,
// as mounted in the sources, answers 401 with a JSON error and
// WWW-Authenticate to a request without a token, with a token of another
// scope, a malformed one, an expired or a revoked admin token. So do
// paths and methods the API does not have: without a token nobody learns
// which exist. With an admin token they are a JSON 404, or a JSON 405
// naming the methods the path takes, as the API's errors are.
func TestAPIEveryRouteNeedsAValidAdminToken(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	metrics := h.Token(t, "prometheus", store.ScopeMetrics)
	expired := storeAdminToken(t, h, func(k *store.Token) { k.Expires = time.Now().Add(-time.Second) })
	revoked := storeAdminToken(t, h, func(k *store.Token) { k.Revoked = time.Now().Add(-time.Second) })
	// A well-formed token whose ID is unknown.
	unknown := "sgt_0123456789abcdef_" + strings.Repeat("A", 43)
	tokens := []struct{ name, tok string }{
		{"none", ""}, {"scim", h.SCIMToken}, {"metrics", metrics}, {"malformed", "sgt_x_y"},
		{"scim with a byte more", h.SCIMToken + "x"}, {"unknown", unknown},
		{"expired admin", expired}, {"revoked admin", revoked},
	}
	routes := append(mountedAPIRoutes(t),
		[2]string{"GET", "/api/v1/nope"}, [2]string{"DELETE", "/api/v1/grants"}, [2]string{"PATCH", "/api/v1/sites/x"})
	for _, rt := range routes {
		for _, tc := range tokens {
			r := h.DoToken(t, tc.tok, rt[0], rt[1], "{}")
			if msg, _ := r.JSON()["error"].(string); r.Status != http.StatusUnauthorized || msg == "" ||
				!strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer ") {
				t.Errorf("%s %s with %s token: %d %q %s, want 401 with WWW-Authenticate and a JSON error",
					rt[0], rt[1], tc.name, r.Status, r.Header.Get("WWW-Authenticate"), r.Body)
			}
		}
	}

	for _, tc := range []struct {
		method, path string
		status       int
		allow        []string
	}{
		{"GET", "/api/v1/nope", http.StatusNotFound, nil},
		{"GET", "/api/v1/sites/", http.StatusNotFound, nil},
		{"DELETE", "/api/v1/grants", http.StatusMethodNotAllowed, []string{"POST"}},
		{"PATCH", "/api/v1/sites/x", http.StatusMethodNotAllowed, []string{"PUT"}},
		{"POST", "/api/v1/policy", http.StatusMethodNotAllowed, []string{"GET", "HEAD", "PUT"}},
	} {
		r := h.API(t, tc.method, tc.path, nil)
		msg, _ := r.JSON()["error"].(string)
		if r.Status != tc.status || msg == "" || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s %s with an admin token: %d %s %s, want %d with a JSON error", tc.method, tc.path, r.Status, r.Header.Get("Content-Type"), r.Body, tc.status)
		}
		if tc.allow == nil {
			continue
		}
		allow := strings.Split(r.Header.Get("Allow"), ", ")
		if !slices.Equal(allow, tc.allow) {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, allow, tc.allow)
		}
		for _, m := range tc.allow {
			if !strings.Contains(msg, m) {
				t.Errorf("%s %s: error %q does not name %s", tc.method, tc.path, msg, m)
			}
		}
	}
}
