package e2e_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestAuditorInBrowser: the admin invites an auditor, picking the role in
// the invitation form; the auditor registers a passkey in a browser of its
// own, lands on the audit trail, finds in the navigation only the pages it
// may open, verifies the hash chain with the page's button, and opens the
// dashboard, whose page starts no live updates for it.
func TestAuditorInBrowser(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	ctx := t.Context()
	b := browser(t, h)
	tok := bootstrapAda(t, h)
	admin := newPerson(t, b, h)
	admin.open("/console/register#" + tok)
	admin.do("register", chromedp.Click(chromedp.CSS("#register-button")))
	admin.wait("admin registration", statusJS, 15*time.Second)

	admin.open("/console/accounts")
	admin.do("invite", chromedp.SendKeys(chromedp.CSS("#acct-name"), "ivy@example.org"), chromedp.SetValue(chromedp.CSS("#acct-role"), "auditor"),
		chromedp.Click(chromedp.CSS("#invite-button")))
	admin.wait("invitation", pageDone("#invite-link"), 10*time.Second)
	link := admin.eval(`document.getElementById('invite-link').textContent`)
	if a, err := h.Store().GetConsoleAccountByName(ctx, "ivy@example.org"); err != nil || a.Role != store.ConsoleAuditor || len(a.Sites) != 0 {
		t.Fatalf("invited account %+v (%v), want an auditor without sites", a, err)
	}

	aud := newPerson(t, b, h)
	aud.do("open invite", chromedp.Navigate(link))
	aud.do("register", chromedp.Click(chromedp.CSS("#register-button")))
	aud.wait("auditor registration", statusJS, 15*time.Second)
	if got := aud.path(); got != "/console/audit" {
		t.Fatalf("auditor lands on %s, want /console/audit", got)
	}
	nav := aud.eval(`[...document.querySelectorAll('nav[aria-label=Main] a')].map(a => a.getAttribute('href')).join(' ')`)
	if want := "/console/dashboard /console/audit /console/reviews /console/findings /console/me"; nav != want {
		t.Errorf("auditor's navigation %q, want %q", nav, want)
	}

	aud.do("verify", chromedp.Click(chromedp.CSS("#verify-form button")))
	aud.wait("verification", pageDone("#verify-result"), 10*time.Second)
	if ok := aud.eval(`document.getElementById('verify-result').dataset.ok`); ok != "true" {
		t.Errorf("verification result: data-ok=%q", ok)
	}
	recs, err := h.Store().SearchAudit(ctx, store.AuditSearch{Action: "audit.verify"})
	if err != nil || len(recs) != 1 || recs[0].Actor != "console:ivy@example.org" {
		t.Errorf("audit.verify records %+v (%v), want the auditor's", recs, err)
	}
	aud.screenshot("console-auditor.png")

	aud.open("/console/dashboard")
	aud.wait("dashboard", pageDone("#metrics-h"), 10*time.Second)
	time.Sleep(300 * time.Millisecond) // room for a live-update request to start, were there one
	if got := aud.eval(`String(!!document.getElementById('live-block') || !!document.querySelector('[data-live]'))`); got != "false" {
		t.Error("the auditor's dashboard has the live sessions")
	}
	if got := aud.eval(`performance.getEntriesByType('resource').map(e => e.name).filter(n => n.includes('/console/site/')).join(' ')`); strings.TrimSpace(got) != "" {
		t.Errorf("the auditor's dashboard asked for %s", got)
	}
}
