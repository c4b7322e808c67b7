package e2e_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/shiftgate/shiftgate/hub/console"
	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// asOlderBrowser has p's passkey ceremony calls go out as an older
// browser sends them, naming no Origin and no Sec-Fetch-Site: the hub then
// takes them only with the page's token of the sign-in cookie. Chromium
// adds those headers after DevTools can change a request, so the test
// sends each paused call itself, with the page's headers but Origin and
// the browser's cookies, and hands the hub's answer back to the page.
func asOlderBrowser(t *testing.T, p *person) {
	t.Helper()
	hc := p.h.NewClient(t)
	paused := make(chan *fetch.EventRequestPaused, 16)
	if err := chromedp.Listen(p.ctx, func(ev any) {
		if e, ok := ev.(*fetch.EventRequestPaused); ok {
			paused <- e // room for every call of the test: never blocks the tab's loop
		}
	}); err != nil {
		t.Fatal(err)
	}
	// Errors end the call with a failure the page shows; the test's waits
	// then report it.
	forward := func(e *fetch.EventRequestPaused) error {
		var body bytes.Buffer
		for _, d := range e.Request.PostDataEntries {
			body.Write(d.Bytes)
		}
		req, err := http.NewRequestWithContext(p.ctx, e.Request.Method, e.Request.URL, &body)
		if err != nil {
			return err
		}
		for name, v := range e.Request.Headers {
			if s, ok := v.(string); ok && !strings.EqualFold(name, "Origin") {
				req.Header.Set(name, s)
			}
		}
		cookies, err := chromedp.Call(p.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{e.Request.URL}})
		if err != nil {
			return err
		}
		for _, c := range cookies.Cookies {
			req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
		res, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		out, err := io.ReadAll(res.Body)
		if err != nil {
			return err
		}
		var headers []*fetch.HeaderEntry
		for name, vs := range res.Header {
			for _, v := range vs {
				headers = append(headers, &fetch.HeaderEntry{Name: name, Value: v})
			}
		}
		_, err = chromedp.Call(p.ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{RequestID: e.RequestID, ResponseCode: int64(res.StatusCode), ResponseHeaders: headers, Body: out})
		return err
	}
	go func() {
		for {
			select {
			case <-p.ctx.Done():
				return
			case e := <-paused:
				if err := forward(e); err != nil {
					// An error here is mostly the browser ending with the test.
					chromedp.Call(p.ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: e.RequestID, ErrorReason: network.ErrorReasonFailed})
				}
			}
		}
	}()
	if _, err := chromedp.Call(p.ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{
		{URLPattern: "*/console/auth/*", RequestStage: fetch.RequestStageRequest},
	}}); err != nil {
		t.Fatal(err)
	}
}

// TestRegisterReloadKeepsInvitation: an older browser, which names no
// Origin, whose registration page's token no longer matches its sign-in
// cookie (the cookie was cleared, or another page replaced it) is refused
// with the advice to reload the page. The reload must still know the
// invitation, which the page took out of the address bar and history:
// the page keeps it for this tab only, and the registration then works.
// Once it has, the page no longer offers the used invitation.
func TestRegisterReloadKeepsInvitation(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	b := browser(t, h)
	tok := bootstrapAda(t, h)
	admin := newPerson(t, b, h)
	asOlderBrowser(t, admin)

	admin.open("/console/register#" + tok)
	if got := admin.eval("location.href"); strings.Contains(got, tok) {
		t.Errorf("the invitation token stays in the address bar: %q", got)
	}
	if _, err := chromedp.Call(admin.ctx, network.DeleteCookies, network.DeleteCookiesParams{Name: console.SigninCookieName, URL: h.URL + "/console/"}); err != nil {
		t.Fatal(err)
	}
	admin.do("register", chromedp.Click(chromedp.CSS("#register-button")))
	admin.wait("refusal of the unmarked call", `(function(){const s=document.getElementById('status'); return s.dataset.state==='error' ? (s.textContent.includes('reload the page') ? 'ok' : 'error: '+s.textContent) : (s.dataset.state==='done' ? 'error: registered although the call was unmarked and the token stale' : 'pending')})()`, 15*time.Second)

	// As the message says: reload, and try again.
	admin.do("reload", chromedp.Reload())
	admin.wait("reloaded page", pageDone("#register-button"), 10*time.Second)
	if got := admin.eval(`(function(){const s=document.getElementById('status'); return s.dataset.state+': '+s.textContent})()`); strings.HasPrefix(got, "error") {
		t.Fatalf("after the reload the page says %q", got)
	}
	if got := admin.eval("location.href"); strings.Contains(got, tok) {
		t.Errorf("the reload put the invitation token back in the address bar: %q", got)
	}
	admin.do("register after the reload", chromedp.Click(chromedp.CSS("#register-button")))
	admin.wait("registration after the reload", statusJS, 15*time.Second)
	if got := admin.path(); got != "/console/dashboard" {
		t.Fatalf("registered, at %s; want /console/dashboard", got)
	}

	// The used invitation is gone from the tab too.
	admin.open("/console/register")
	admin.wait("page without an invitation", `(function(){const s=document.getElementById('status'); return s.dataset.state==='error' && s.textContent.includes('invitation link you were sent') ? 'ok' : 'pending '+s.dataset.state})()`, 10*time.Second)
}
