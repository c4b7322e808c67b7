package console_test

import (
	"testing"

	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// TestSigninNextStaysInConsole: the sign-in page's next is a console page
// or nothing. A next that starts with /console/ but whose dot segments,
// plain or percent-encoded (browsers take %2e for a dot), climb out of
// /console/ would send the newly signed-in browser elsewhere on the hub:
// to the JSON API, which no other site may have the browser open, not
// even by a link (APIActor), and which another site could so open
// through the sign-in page. Such a next is dropped; one that climbs and
// comes back into /console/ is a console page and kept as it is.
func TestSigninNextStaysInConsole(t *testing.T) {
	next := signinNextOn(t, hubtest.Start(t, hubtest.Options{}))
	for _, n := range []string{
		"/console/../api/v1/findings",
		"/console/%2e%2e/api/v1/findings",
		"/console/%2E%2e/api/v1/reviews?count=1000",
		"/console/.%2e/api/v1/policy",
		"/console/x/../../healthz",
		"/console/..",
		"/console/%2e%2e",
	} {
		if got := next(n); got != "" {
			t.Errorf("next %q: the sign-in page goes to %q after sign-in, outside the console; want its start page", n, got)
		}
	}
	for _, n := range []string{"/console/x/../users", "/console/%2e%2e/console/me", "/console/"} {
		if got := next(n); got != n {
			t.Errorf("next %q: %q, want it kept", n, got)
		}
	}
}
