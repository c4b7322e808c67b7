package console_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/shiftgate/shiftgate/hub/hubtest"
)

var signinNextRE = regexp.MustCompile(`<form id="signin-form" data-next="([^"]*)">`)

// TestSigninNextRefusesOwnPagesRoutes: another site may link to the
// sign-in page, whose script goes to next after the passkey sign-in,
// from the console's own page. A route only the console's own pages may
// ask for (an audited export, a chain verification with an anchor of the
// linker's choosing, which records a broken chain under the signer's
// name; live updates) would so run from another site's link, which guard
// refuses when the link goes there directly. The sign-in page drops such a
// next, however the path is spelt for the browser to resolve, and keeps
// one to any other console page.
func TestSigninNextRefusesOwnPagesRoutes(t *testing.T) {
	next := signinNextOn(t, hubtest.Start(t, hubtest.Options{}))
	for _, n := range []string{
		"/console/audit/verify?anchor=1:" + "00000000000000000000000000000000000000000000000000000000000000ff",
		"/console/audit/export",
		"/console/findings/export?format=csv",
		"/console/reviews/0193c0de-0000-7000-8000-000000000001/export?format=json",
		"/console/site/live",
		"/console/site/events",
		"/console//audit/verify",
		"/console/x/../audit/verify",
		"/console/x/%2e%2e/audit/verify",
		"/console/audit/%76erify",
		"/console/audit/ver\tify",
		"/console/audit/verify#top",
	} {
		if got := next(n); got != "" {
			t.Errorf("next %q: the sign-in page goes to %q after sign-in, want its start page", n, got)
		}
	}
	for _, n := range []string{"/console/users?q=ann", "/console/site/users/user-north", "/console/audit?user=ann&action=session.start", "/console/me"} {
		if got := next(n); got != n {
			t.Errorf("next %q: %q, want it kept", n, got)
		}
	}
	for _, n := range []string{"https://evil.example/console/", "//evil.example/console/", "/consolex", "/console/\\evil"} {
		if got := next(n); got != "" {
			t.Errorf("next %q: %q, want none", n, got)
		}
	}
}

// signinNextOn returns what the sign-in page of hub h, asked for with
// next, goes to after the passkey sign-in: next as kept, or "" (the
// account's start page).
func signinNextOn(t *testing.T, h *hubtest.Hub) func(next string) string {
	anon := newClient(t, h, nil)
	return func(n string) string {
		t.Helper()
		r := anon.get("/console/signin?next=" + url.QueryEscape(n))
		m := signinNextRE.FindStringSubmatch(r.Body)
		if r.Status != http.StatusOK || m == nil {
			t.Fatalf("sign-in page with next %q: %d %s", n, r.Status, r.Body)
		}
		return html.UnescapeString(m[1])
	}
}
