package console_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestRevokeRevokedCredential: a badge's Revoke button pressed again (a
// second tab, a double submit, another admin) on a badge revoked already
// is no error page and does nothing again: no second credential.revoke
// record, its reason kept; the user's page says it was revoked already.
func TestRevokeRevokedCredential(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	w := makeWorld(t, h)
	admin := bootstrapAdmin(t, h)
	id := []byte("north-badge")
	if _, err := h.Store().CreateCredential(t.Context(), store.Credential{ID: id, UserID: w.northUser.ID, State: store.CredentialActive, Created: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/console/credentials/%x/revoke", id)
	if r := admin.post(path, nil); r.Status != http.StatusSeeOther || !strings.HasSuffix(r.location(), "ok=credential-revoked") {
		t.Fatalf("revoke: %d to %q", r.Status, r.location())
	}
	before, err := h.Store().GetCredential(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	r := admin.post(path, nil)
	if r.Status != http.StatusSeeOther || r.location() != "/console/users/"+w.northUser.ID+"?ok=credential-unchanged" {
		t.Fatalf("revoke again: %d to %q %s, want the user's page saying it was revoked already", r.Status, r.location(), r.Body)
	}
	if page := admin.get(r.location()); !strings.Contains(page.Body, "The credential was revoked already; nothing was changed.") {
		t.Errorf("the user's page does not say the credential was revoked already")
	}
	recs, err := h.Store().ListAudit(t.Context(), store.AuditQuery{Action: "credential.revoke", Subject: "user:" + w.northUser.ID})
	if err != nil || len(recs) != 1 {
		t.Errorf("%d credential.revoke records (%v), want 1", len(recs), err)
	}
	if after, err := h.Store().GetCredential(t.Context(), id); err != nil || after.State != store.CredentialRevoked || after.Reason != before.Reason {
		t.Errorf("credential after revoking again: %+v (%v); was %+v", after, err, before)
	}
}
