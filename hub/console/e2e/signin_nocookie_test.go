package e2e_test

import (
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/shiftgate/shiftgate/hub/console"
	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// TestSigninWithoutSigninCookieInBrowser: the sign-in page's token is for
// browsers that do not say where a request comes from. A current browser
// says it (Origin, Sec-Fetch-Site), so one that lost the sign-in cookie
// after the page loaded (the browser ended and restored its tabs, or the
// cookie was cleared) still signs in with the page's now stale token, and
// one that never held the cookie registers.
func TestSigninWithoutSigninCookieInBrowser(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	b := browser(t, h)
	tok := bootstrapAda(t, h)
	admin := newPerson(t, b, h)
	dropCookie := func() {
		t.Helper()
		if _, err := chromedp.Call(admin.ctx, network.DeleteCookies, network.DeleteCookiesParams{Name: console.SigninCookieName, URL: h.URL + "/console/"}); err != nil {
			t.Fatal(err)
		}
	}
	admin.open("/console/register#" + tok)
	dropCookie()
	admin.do("register", chromedp.Click(chromedp.CSS("#register-button")))
	admin.wait("registration without the sign-in cookie", statusJS, 15*time.Second)
	admin.do("sign out", chromedp.Click(chromedp.CSS("#signout")))
	admin.wait("signed out", pageDone("#signin-button"), 10*time.Second)
	dropCookie()
	admin.do("sign in", chromedp.Click(chromedp.CSS("#signin-button")))
	admin.wait("sign-in without the sign-in cookie", statusJS, 15*time.Second)
	if got := admin.path(); got != "/console/dashboard" {
		t.Fatalf("signed in at %s, want /console/dashboard", got)
	}
}
