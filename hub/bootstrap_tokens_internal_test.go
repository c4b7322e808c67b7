package hub

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/console"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/token"
)

// TestBootstrapOfDisabledAdminRevokesItsAdminTokens: console admin kim was
// disabled by a hub from before an account's admin tokens went with it,
// so the admin token kim made still works in the store; the hub's next
// start would revoke it (revokeTokensOfDisabledMakers). Before that start
// the operator runs `admin bootstrap --name kim` (a recovery after an
// upgrade or a restore), which enables kim again: the start then finds
// kim enabled, and without bootstrap revoking them, kim's admin tokens
// from before the disable would work again. Bootstrap revokes them as it
// revokes kim's old passkeys, audited as token.revoke by the CLI and
// named in console.bootstrap; the token is refused (401) once the hub
// starts, and kim's SCIM token and the CLI's admin token keep working.
func TestBootstrapOfDisabledAdminRevokesItsAdminTokens(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	t0 := time.Now().UTC().Add(-48 * time.Hour)
	start := func() *Server {
		t.Helper()
		s, err := New(ctx, Config{DataDir: dir, Listen: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// A first start makes the audit key, as a hub of the older build did.
	if err := start().Close(); err != nil {
		t.Fatal(err)
	}

	db, err := OpenStore(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	kim := store.ConsoleAccount{ID: "acct-kim", Name: "kim", Role: store.ConsoleAdmin, WebAuthnID: []byte("handle-kim"),
		CreatedBy: "test", Created: t0, Modified: t0}
	if _, err := db.CreateConsoleAccount(ctx, kim); err != nil {
		t.Fatal(err)
	}
	mint := func(name, scope, by string) (string, store.Token) {
		t.Helper()
		secret, tok, err := token.NewExpiring(name, scope, t0, t0.AddDate(0, 6, 0))
		if err != nil {
			t.Fatal(err)
		}
		tok.CreatedBy = by
		if tok, err = db.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		return secret, tok
	}
	kimAdmin, kimAdminTok := mint("kim-script", store.ScopeAdmin, kim.ID)
	kimSCIM, _ := mint("okta-prod", store.ScopeSCIM, kim.ID)
	cliAdmin, _ := mint("ops", store.ScopeAdmin, "")
	// Disabled as an older hub did: the account alone, its tokens left.
	if _, err := db.UpdateConsoleAccount(ctx, kim.ID, func(a store.ConsoleAccount) (store.ConsoleAccount, error) {
		a.Disabled = t0.Add(time.Hour)
		return a, nil
	}); err != nil {
		t.Fatal(err)
	}

	// admin bootstrap --name kim, as the CLI runs it (withNewAudit).
	key, err := audit.LoadKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	alog, err := audit.New(key, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := console.Bootstrap(ctx, db, alog, "kim", false, time.Now()); err != nil {
		t.Fatal(err)
	}
	if a, err := db.GetConsoleAccount(ctx, kim.ID); err != nil || !a.Disabled.IsZero() {
		t.Fatalf("kim after bootstrap: %+v, %v; want enabled", a, err)
	}
	recs, err := db.ListAudit(ctx, store.AuditQuery{Action: "token.revoke"})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Subject != "token:"+kimAdminTok.ID || recs[0].Actor != "cli" {
		t.Errorf("token.revoke records after bootstrap: %+v; want one of token:%s by cli", recs, kimAdminTok.ID)
	}
	boot, err := db.ListAudit(ctx, store.AuditQuery{Action: "console.bootstrap"})
	if err != nil {
		t.Fatal(err)
	}
	var detail struct {
		Reenabled     bool     `json:"reenabled"`
		TokensRevoked []string `json:"tokensRevoked"`
	}
	if len(boot) != 1 {
		t.Fatalf("console.bootstrap records: %+v, want one", boot)
	}
	if err := json.Unmarshal(boot[0].Detail, &detail); err != nil || !detail.Reenabled ||
		len(detail.TokensRevoked) != 1 || detail.TokensRevoked[0] != kimAdminTok.ID {
		t.Errorf("console.bootstrap detail %s (%v): want reenabled, tokensRevoked [%s]", boot[0].Detail, err, kimAdminTok.ID)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s := start()
	t.Cleanup(func() { s.Close() })
	for _, tc := range []struct {
		name, path, secret string
		want               int
	}{
		{"kim's admin token from before the disable", "/api/v1/reviews", kimAdmin, http.StatusUnauthorized},
		{"kim's SCIM token", "/scim/v2/Users", kimSCIM, http.StatusOK},
		{"the CLI's admin token", "/api/v1/reviews", cliAdmin, http.StatusOK},
	} {
		req := httptest.NewRequest(http.MethodGet, tc.path, nil)
		req.Header.Set("Authorization", "Bearer "+tc.secret)
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, req)
		if w.Code != tc.want {
			t.Errorf("%s on %s after bootstrap and a start: %d %s, want %d", tc.name, tc.path, w.Code, w.Body, tc.want)
		}
	}
}
