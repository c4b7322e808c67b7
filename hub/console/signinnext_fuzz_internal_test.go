package console

import (
	"net/http"
	"net/url"
	"path"
	"strings"
	"testing"
)

// FuzzSigninNext: whatever next the sign-in page is given, it keeps it as
// it is or drops it, without a panic; a next that is kept has no escaped
// slash or backslash in its path, stays under /console/ with its dot
// segments resolved (plain or percent-encoded, as browsers resolve them),
// and is no route of the console's own pages as the hub's server will
// parse it.
func FuzzSigninNext(f *testing.F) {
	for _, s := range []string{
		"/console/me", "/console/x%2Fy/../../api/v1/findings", "/console/%2e%2e/console/me",
		"/console/reviews/a%2Fb/export", "/console/audit/%76erify", "/console//audit/verify",
		"/console/a b/./%2E/", "/console/é/..", "/console/x?y#z/../..",
	} {
		f.Add(s)
	}
	c := &Console{static: http.NotFoundHandler()}
	c.routes()
	f.Fuzz(func(t *testing.T, next string) {
		got := c.signinNext(next)
		if got != "" && got != next {
			t.Fatalf("signinNext(%q) = %q, want it kept or dropped", next, got)
		}
		if got == "" {
			return
		}
		u, err := url.Parse(next)
		if err != nil {
			t.Fatalf("kept %q, which does not parse: %v", next, err)
		}
		if p := strings.ToLower(u.EscapedPath()); strings.Contains(p, "%2f") || strings.Contains(p, "%5c") {
			t.Fatalf("kept %q, whose path %q has an escaped slash", next, u.EscapedPath())
		}
		if p := path.Clean(u.Path); p != "/console" && !strings.HasPrefix(p, "/console/") {
			t.Fatalf("kept %q, for which the browser asks for %q", next, p)
		}
		if _, pattern := c.ownPages.Handler(&http.Request{Method: http.MethodGet, URL: &url.URL{Path: u.Path}}); pattern != "" {
			t.Fatalf("kept %q, which the hub serves as %s", next, pattern)
		}
	})
}
