package hub

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
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

	db, err := OpenStore(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []store.ConsoleAccount{
		{ID: "acct-kim", Name: "kim", Role: store.ConsoleAdmin},
		{ID: "acct-ann", Name: "ann", Role: store.ConsoleAdmin},
	} {
		a.WebAuthnID, a.CreatedBy, a.Created, a.Modified = []byte("handle-"+a.Name), "test", t0, t0
		if _, err := db.CreateConsoleAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.UpdateConsoleAccount(ctx, "acct-kim", func(a store.ConsoleAccount) (store.ConsoleAccount, error) {
		a.Disabled = t0.Add(time.Hour)
		return a, nil
	}); err != nil {
		t.Fatal(err)
	}
	type minted struct {
		secret string
		tok    store.Token
	}
	mint := func(name, scope, by string) minted {
		t.Helper()
		secret, tok, err := token.NewExpiring(name, scope, t0, t0.AddDate(0, 6, 0))
		if err != nil {
			t.Fatal(err)
		}
		tok.CreatedBy = by
		if tok, err = db.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		return minted{secret, tok}
	}
	kimAdmin := mint("kim-script", store.ScopeAdmin, "acct-kim")
	kimSCIM := mint("okta-prod", store.ScopeSCIM, "acct-kim")
	goneAdmin := mint("gone-script", store.ScopeAdmin, "acct-gone")
	annAdmin := mint("ann-script", store.ScopeAdmin, "acct-ann")
	cliAdmin := mint("ops", store.ScopeAdmin, "")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	start := func() (*Server, *lockedBuffer) {
		t.Helper()
		logs := &lockedBuffer{}
		s, err := New(ctx, Config{DataDir: dir, Listen: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(logs, nil)),
			Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		return s, logs
	}
	revokes := func(s *Server) []store.AuditRecord {
		t.Helper()
		recs, err := s.st.ListAudit(ctx, store.AuditQuery{Action: "token.revoke"})
		if err != nil {
			t.Fatal(err)
		}
		return recs
	}

	s, logs := start()
	for _, tc := range []struct {
		name, path string
		tok        minted
		want       int
	}{
		{"kim's admin token", "/api/v1/reviews", kimAdmin, http.StatusUnauthorized},
		{"the gone account's admin token", "/api/v1/reviews", goneAdmin, http.StatusUnauthorized},
		{"kim's SCIM token", "/scim/v2/Users", kimSCIM, http.StatusOK},
		{"ann's admin token", "/api/v1/reviews", annAdmin, http.StatusOK},
		{"the CLI's admin token", "/api/v1/reviews", cliAdmin, http.StatusOK},
	} {
		req := httptest.NewRequest(http.MethodGet, tc.path, nil)
		req.Header.Set("Authorization", "Bearer "+tc.tok.secret)
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, req)
		if w.Code != tc.want {
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
	for _, m := range []minted{kimAdmin, goneAdmin} {
		if !strings.Contains(warning, m.tok.ID) || !strings.Contains(warning, m.tok.Name) {
			t.Errorf("the start's warning does not name revoked token %s (%s):\n%s", m.tok.ID, m.tok.Name, out)
		}
	}
	for _, m := range []minted{kimAdmin, kimSCIM, goneAdmin, annAdmin, cliAdmin} {
		if strings.Contains(out, m.secret) {
			t.Errorf("the start's log holds the secret of token %s", m.tok.Name)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, logs = start()
	t.Cleanup(func() { s.Close() })
	if n := len(revokes(s)); n != len(recs) {
		t.Errorf("%d token.revoke records after a second start, want %d: the first start's only", n, len(recs))
	}
	if out := logs.String(); strings.Contains(out, "revoked at start") {
		t.Errorf("the second start revoked tokens again:\n%s", out)
	}
}
