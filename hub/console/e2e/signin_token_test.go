package e2e_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/shiftgate/shiftgate/hub/console"
	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// recordFetches wraps the page's fetch to note, in sessionStorage (which
// outlives the navigation a ceremony ends with), each call's URL, the CSRF
// header it sent and the page's token.
const recordFetches = `(function(){
  const meta = document.querySelector('meta[name="csrf-token"]');
  const orig = window.fetch;
  window.fetch = function(url, opts) {
    const h = (opts && opts.headers) || {};
    const calls = JSON.parse(sessionStorage.getItem('calls') || '[]');
    calls.push({url: String(url), sent: h['X-CSRF-Token'] || '', page: meta ? meta.content : ''});
    sessionStorage.setItem('calls', JSON.stringify(calls));
    return orig.apply(this, arguments);
  };
  return 'recording';
})()`

// TestSigninTokenInBrowser: the registration and sign-in pages carry a
// CSRF token from a __Host- cookie of their own, and their script sends it
// with every passkey ceremony call, so that a browser that names no Origin
// can still sign in (the hub refuses a ceremony that shows neither).
func TestSigninTokenInBrowser(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	b := browser(t, h)
	tok := bootstrapAda(t, h)
	admin := newPerson(t, b, h)
	admin.open("/console/register#" + tok)
	admin.eval(recordFetches)
	admin.do("register", chromedp.Click(chromedp.CSS("#register-button")))
	admin.wait("registration", statusJS, 15*time.Second)
	admin.do("sign out", chromedp.Click(chromedp.CSS("#signout")))
	admin.wait("signed out", pageDone("#signin-button"), 10*time.Second)
	admin.eval(recordFetches)
	admin.do("sign in", chromedp.Click(chromedp.CSS("#signin-button")))
	admin.wait("sign-in", statusJS, 15*time.Second)
	if got := admin.path(); got != "/console/dashboard" {
		t.Fatalf("signed in at %s, want /console/dashboard", got)
	}

	var calls []struct{ URL, Sent, Page string }
	if err := json.Unmarshal([]byte(admin.eval(`sessionStorage.getItem('calls') || '[]'`)), &calls); err != nil {
		t.Fatal(err)
	}
	var urls []string
	for _, c := range calls {
		urls = append(urls, c.URL)
		if c.Sent == "" || c.Sent != c.Page {
			t.Errorf("%s sent CSRF token %q, want the page's %q", c.URL, c.Sent, c.Page)
		}
	}
	if want := "/console/auth/register/begin /console/auth/register/finish /console/auth/login/begin /console/auth/login/finish"; strings.Join(urls, " ") != want {
		t.Errorf("ceremony calls %v, want %s", urls, want)
	}

	res, err := chromedp.Call(admin.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{h.URL + "/console/"}})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range res.Cookies {
		if c.Name == console.SigninCookieName {
			found = true
			if !c.Secure || !c.HTTPOnly || c.SameSite != network.CookieSameSiteLax || !c.Session || c.Path != "/" {
				t.Errorf("sign-in cookie %+v: want Secure, HttpOnly, SameSite=Lax, a session cookie, Path=/", c)
			}
		}
	}
	if !found {
		t.Errorf("no %s cookie among %d", console.SigninCookieName, len(res.Cookies))
	}
}
