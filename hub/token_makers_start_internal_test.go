package hub

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/token"
)

// TestStartRevokesAdminTokensOfDisabledMakers: console account kim was
// disabled before every disable path revoked an account's admin tokens,
// so the admin token kim made still works in the store, as does the one
// made by an account the store no longer has. The hub's start revokes
// both in one transaction, audited as token.revoke by the hub with the
// reason and "atStart", and warns naming them (never their secrets): each
// is refused with 401 from the first request on. Kim's SCIM token, the
// admin token of ann (enabled) and the CLI's keep working. A second start
// revokes and records nothing more.
func TestStartRevokesAdminTokensOfDisabledMakers(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	now := t0.Add(24 * time.Hour)

	ms := openMakersStore(t, dir, t0, "kim", "ann")
	ms.disableAlone(t, "acct-kim")
	kimAdmin := ms.mint(t, "kim-script", store.ScopeAdmin, "acct-kim")
	kimSCIM := ms.mint(t, "okta-prod", store.ScopeSCIM, "acct-kim")
	goneAdmin := ms.mint(t, "gone-script", store.ScopeAdmin, "acct-gone")
	annAdmin := ms.mint(t, "ann-script", store.ScopeAdmin, "acct-ann")
	cliAdmin := ms.mint(t, "ops", store.ScopeAdmin, "")
	if err := ms.db.Close(); err != nil {
		t.Fatal(err)
	}

	revokes := func(s *Server) []store.AuditRecord {
		t.Helper()
		recs, err := s.st.ListAudit(ctx, store.AuditQuery{Action: "token.revoke"})
		if err != nil {
			t.Fatal(err)
		}
		return recs
	}

	s, logs := startMakersHub(t, dir, now)
	for _, tc := range []struct {
		name, path string
		tok        mintedToken
		want       int
	}{
		{"kim's admin token", "/api/v1/reviews", kimAdmin, http.StatusUnauthorized},
		{"the gone account's admin token", "/api/v1/reviews", goneAdmin, http.StatusUnauthorized},
		{"kim's SCIM token", "/scim/v2/Users", kimSCIM, http.StatusOK},
		{"ann's admin token", "/api/v1/reviews", annAdmin, http.StatusOK},
		{"the CLI's admin token", "/api/v1/reviews", cliAdmin, http.StatusOK},
	} {
		if w := bearerGet(s, tc.path, tc.tok.secret); w.Code != tc.want {
			t.Errorf("%s on %s after the start: %d %s, want %d", tc.name, tc.path, w.Code, w.Body, tc.want)
		}
	}
	recs := revokes(s)
	want := map[string]string{
		"token:" + kimAdmin.tok.ID:  token.ReasonMakerDisabled,
		"token:" + goneAdmin.tok.ID: token.ReasonMakerGone,
	}
	if len(recs) != len(want) {
		t.Errorf("%d token.revoke records after the start, want %d: %+v", len(recs), len(want), recs)
	}
	for _, r := range recs {
		var d map[string]string
		if err := json.Unmarshal(r.Detail, &d); err != nil {
			t.Fatalf("record %d detail %s: %v", r.Seq, r.Detail, err)
		}
		if reason, ok := want[r.Subject]; !ok || r.Actor != "hub" || d["reason"] != reason || d["atStart"] != "true" || d["scope"] != store.ScopeAdmin {
			t.Errorf("record %d: %s by %s, detail %v; want one of %v by hub, with its reason and atStart", r.Seq, r.Subject, r.Actor, d, want)
		}
	}
	out := logs.String()
	var warning string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "level=WARN") && strings.Contains(line, "revoked at start") {
			warning = line
		}
	}
	for _, m := range []mintedToken{kimAdmin, goneAdmin} {
		if !strings.Contains(warning, m.tok.ID) || !strings.Contains(warning, m.tok.Name) {
			t.Errorf("the start's warning does not name revoked token %s (%s):\n%s", m.tok.ID, m.tok.Name, out)
		}
	}
	for _, m := range []mintedToken{kimAdmin, kimSCIM, goneAdmin, annAdmin, cliAdmin} {
		if strings.Contains(out, m.secret) {
			t.Errorf("the start's log holds the secret of token %s", m.tok.Name)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, logs = startMakersHub(t, dir, now)
	t.Cleanup(func() { s.Close() })
	if n := len(revokes(s)); n != len(recs) {
		t.Errorf("%d token.revoke records after a second start, want %d: the first start's only", n, len(recs))
	}
	if out := logs.String(); strings.Contains(out, "revoked at start") {
		t.Errorf("the second start revoked tokens again:\n%s", out)
	}
}
