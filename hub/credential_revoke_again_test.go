package hub_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestAPIRevokeRevokedCredential: POST /api/v1/credentials/{hexID}/revoke
// on a badge revoked already is answered 200 with the credential as it
// stands (already_revoked, and the time of the revocation that did it),
// and does nothing again: no second credential.revoke record (an auditor
// would read that the badge was revoked twice, the second time by
// whoever repeated the request), no change to its reason, no revocation
// pushed. A badge revoked with its owner's other access when the owner
// left answers the time of that; a suspended badge is still revoked.
func TestAPIRevokeRevokedCredential(t *testing.T) {
	h, clock, now := startClocked(t, hubtest.Options{})
	_, g := signedIn(t, h, "ana", "Nurse")
	live, err := h.Store().GetSession(t.Context(), g.SessionID)
	if err != nil {
		t.Fatal(err)
	}
	uid := live.UserID
	creds, err := h.Store().ListCredentials(t.Context(), uid)
	if err != nil || len(creds) != 1 {
		t.Fatalf("ana's credentials: %d (%v), want 1", len(creds), err)
	}
	hexID := fmt.Sprintf("%x", creds[0].ID)

	m := wantAPI(t, h.API(t, "POST", "/api/v1/credentials/"+hexID+"/revoke", nil), http.StatusOK)
	if m["status"] != "revoked" || m["credential"] != hexID || m["already_revoked"] != false || m["revoked_at"] != now.Format(time.RFC3339) {
		t.Errorf("first revoke answered %v, want revoked at %s, not already", m, now.Format(time.RFC3339))
	}
	before, err := h.Store().GetCredential(t.Context(), creds[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	revs, err := h.Store().ListRevocations(t.Context(), store.RevocationQuery{UserID: uid})
	if err != nil || len(revs) != 1 {
		t.Fatalf("revocations after the revoke: %d (%v), want the session's one", len(revs), err)
	}

	clock.Advance(time.Hour)
	for _, id := range []string{hexID, strings.ToUpper(hexID)} {
		m = wantAPI(t, h.API(t, "POST", "/api/v1/credentials/"+id+"/revoke", nil), http.StatusOK)
		if m["status"] != "revoked" || m["credential"] != hexID || m["already_revoked"] != true || m["revoked_at"] != now.Format(time.RFC3339) {
			t.Errorf("revoke %s again answered %v, want already revoked at %s", id, m, now.Format(time.RFC3339))
		}
	}
	if n := count(t, h, "credential.revoke", "user:"+uid); n != 1 {
		t.Errorf("%d credential.revoke records, want 1", n)
	}
	after, err := h.Store().GetCredential(t.Context(), creds[0].ID)
	if err != nil || after.State != store.CredentialRevoked || after.Reason != before.Reason {
		t.Errorf("credential after revoking again: %+v (%v); was %+v", after, err, before)
	}
	if revs, err := h.Store().ListRevocations(t.Context(), store.RevocationQuery{UserID: uid}); err != nil || len(revs) != 1 {
		t.Errorf("revocations after revoking again: %d (%v), want still 1", len(revs), err)
	}

	// bo's badge was revoked when bo left (user.deprovision), at the
	// hour's time; cy's is suspended, which a revoke still revokes.
	left := clock.Now()
	bo := createUser(t, h, "bo", "")
	cy := createUser(t, h, "cy", "")
	for _, c := range []store.Credential{
		{ID: []byte("bo-badge"), UserID: bo, State: store.CredentialActive, Created: left},
		{ID: []byte("cy-badge"), UserID: cy, State: store.CredentialSuspended, Reason: "sign counter went back", Created: left},
	} {
		if _, err := h.Store().CreateCredential(t.Context(), c); err != nil {
			t.Fatal(err)
		}
	}
	want(t, h.Do(t, "PATCH", "/scim/v2/Users/"+bo, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"replace","path":"active","value":false}]}`), 200)
	clock.Advance(time.Hour)
	m = wantAPI(t, h.API(t, "POST", fmt.Sprintf("/api/v1/credentials/%x/revoke", "bo-badge"), nil), http.StatusOK)
	if m["status"] != "revoked" || m["already_revoked"] != true || m["revoked_at"] != left.Format(time.RFC3339) {
		t.Errorf("revoke bo's badge, revoked when bo left, answered %v, want already revoked at %s", m, left.Format(time.RFC3339))
	}
	if n := count(t, h, "credential.revoke", "user:"+bo); n != 0 {
		t.Errorf("%d credential.revoke records of bo, want none", n)
	}
	m = wantAPI(t, h.API(t, "POST", fmt.Sprintf("/api/v1/credentials/%x/revoke", "cy-badge"), nil), http.StatusOK)
	if m["status"] != "revoked" || m["already_revoked"] != false || m["revoked_at"] != clock.Now().Format(time.RFC3339) {
		t.Errorf("revoke cy's suspended badge answered %v, want revoked now", m)
	}
	if c, err := h.Store().GetCredential(t.Context(), []byte("cy-badge")); err != nil || c.State != store.CredentialRevoked {
		t.Errorf("cy's badge after the revoke: %+v (%v), want revoked", c, err)
	}
}
