package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// TestRevokeRevokedToken: a token's Revoke pressed again (a second tab,
// a double submit, another admin) on a token revoked already is no error
// page and does nothing again: no second token.revoke record; the Tokens
// page says it was revoked already.
func TestRevokeRevokedToken(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	admin := bootstrapAdmin(t, h)
	plain := newTokenOn(t, admin.post("/console/tokens", url.Values{"name": {"ci"}, "scope": {"admin"}}))
	path := "/console/tokens/" + idOf(plain) + "/revoke"
	if r := admin.post(path, nil); r.Status != http.StatusSeeOther || !strings.HasSuffix(r.location(), "ok=token-revoked") {
		t.Fatalf("revoke: %d to %q %s", r.Status, r.location(), r.Body)
	}
	r := admin.post(path, nil)
	if r.Status != http.StatusSeeOther || !strings.HasSuffix(r.location(), "ok=token-unchanged") {
		t.Fatalf("revoke again: %d to %q %s, want the Tokens page saying it was revoked already", r.Status, r.location(), r.Body)
	}
	if page := admin.get(r.location()); !strings.Contains(page.Body, "The token was revoked already; nothing was changed.") {
		t.Errorf("the Tokens page does not say the token was revoked already")
	}
	if n := actionCount(t, h, "token.revoke"); n != 1 {
		t.Errorf("%d token.revoke records, want 1", n)
	}
	if got := h.DoToken(t, plain, "GET", "/metrics", nil); got.Status != http.StatusUnauthorized {
		t.Errorf("the revoked token: %d, want 401", got.Status)
	}
	if r := admin.post("/console/tokens/0000000000000000/revoke", nil); r.Status != http.StatusNotFound {
		t.Errorf("revoking an unknown token: %d, want 404", r.Status)
	}
}
