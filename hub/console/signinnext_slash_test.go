package console_test

import (
	"testing"

	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// TestSigninNextEncodedSlash: a browser keeps %2F in a path segment, so
// the segment stays one when dot segments are resolved, and the hub's
// routes match it as one ({id} may hold a slash). No console page's path
// has an escaped slash or backslash, so the sign-in page drops a next
// whose path has one: neither a %2F that makes dot segments climb out of
// /console/ nor one inside an own-pages route's {id} gets through. One in
// the query is no segment, and stays.
func TestSigninNextEncodedSlash(t *testing.T) {
	next := signinNextOn(t, hubtest.Start(t, hubtest.Options{}))
	for _, n := range []string{
		// The browser goes to /api/v1/findings: x%2Fy is one segment.
		"/console/x%2Fy/../../api/v1/findings",
		"/console/x%2F%2e%2e/../../api/v1/findings",
		"/console/a%2fb/%2e%2e/%2E%2E/healthz",
		// The hub serves the review export, for the campaign "a/b".
		"/console/reviews/a%2Fb/export?format=json",
		"/console/reviews/a%2Fb%20c/export",
		// With %2F a slash, an own-pages route: refused, though the hub
		// would answer 404.
		"/console/audit%2Fverify",
		"/console/users/a%2Fb",
		"/console/x%2Fy/../users",
		"/console/x%5C..%5C..%5Capi/v1/findings",
	} {
		if got := next(n); got != "" {
			t.Errorf("next %q: the sign-in page goes to %q after sign-in, want its start page", n, got)
		}
	}
	for _, n := range []string{"/console/users/a%2Cb", "/console/x/../users", "/console/audit?user=a%2Fb", "/console/audit#a%2Fb"} {
		if got := next(n); got != n {
			t.Errorf("next %q: %q, want it kept", n, got)
		}
	}
}
