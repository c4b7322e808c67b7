package console_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestDisableDisabledAccount: a console account's Disable pressed again
// (a second tab, a double submit, another admin) on an account disabled
// already is no error page and does nothing again: the account keeps the
// time it was disabled at, and no second console.account_disable record
// says it was disabled again, by whoever repeated the request; the
// accounts page says it was disabled already.
func TestDisableDisabledAccount(t *testing.T) {
	clock := hubtest.NewClock(time.Now().UTC().Truncate(time.Second))
	h := hubtest.Start(t, hubtest.Options{Clock: clock})
	admin := bootstrapAdmin(t, h)
	now := clock.Now()
	if _, err := h.Store().CreateConsoleAccount(t.Context(), store.ConsoleAccount{ID: "acct-xena", Name: "xena", Role: store.ConsoleAdmin,
		WebAuthnID: []byte("handle-xena"), CreatedBy: "test", Created: now, Modified: now}); err != nil {
		t.Fatal(err)
	}
	path := "/console/accounts/acct-xena/disable"
	if r := admin.post(path, nil); r.Status != http.StatusSeeOther || !strings.HasSuffix(r.location(), "ok=account-disabled") {
		t.Fatalf("disable: %d to %q %s", r.Status, r.location(), r.Body)
	}
	before := account(t, h, "xena")
	if !before.Disabled.Equal(now) {
		t.Fatalf("xena disabled at %v, want %v", before.Disabled, now)
	}

	clock.Advance(time.Minute) // within the admin's console session
	r := admin.post(path, nil)
	if r.Status != http.StatusSeeOther || r.location() != "/console/accounts?ok=account-unchanged" {
		t.Fatalf("disable again: %d to %q %s, want the accounts page saying it was disabled already", r.Status, r.location(), r.Body)
	}
	if page := admin.get(r.location()); !strings.Contains(page.Body, "The console account was disabled already; nothing was changed.") {
		t.Errorf("the accounts page does not say the account was disabled already")
	}
	recs, err := h.Store().ListAudit(t.Context(), store.AuditQuery{Action: "console.account_disable", Subject: "console:acct-xena"})
	if err != nil || len(recs) != 1 {
		t.Errorf("%d console.account_disable records (%v), want 1", len(recs), err)
	}
	if after := account(t, h, "xena"); !after.Disabled.Equal(now) || !after.Modified.Equal(before.Modified) || after.Version != before.Version {
		t.Errorf("xena after disabling again: disabled %v, modified %v, version %d; want %v, %v, %d",
			after.Disabled, after.Modified, after.Version, now, before.Modified, before.Version)
	}
}
