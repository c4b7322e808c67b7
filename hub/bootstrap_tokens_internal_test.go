package hub

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/console"
	"github.com/shiftgate/shiftgate/hub/store"
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

	ms := openMakersStore(t, dir, t0, "kim")
	db := ms.db
	kimAdmin := ms.mint(t, "kim-script", store.ScopeAdmin, "acct-kim")
	kimSCIM := ms.mint(t, "okta-prod", store.ScopeSCIM, "acct-kim")
	cliAdmin := ms.mint(t, "ops", store.ScopeAdmin, "")
	ms.disableAlone(t, "acct-kim")

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
	if a, err := db.GetConsoleAccount(ctx, "acct-kim"); err != nil || !a.Disabled.IsZero() {
		t.Fatalf("kim after bootstrap: %+v, %v; want enabled", a, err)
	}
	recs, err := db.ListAudit(ctx, store.AuditQuery{Action: "token.revoke"})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Subject != "token:"+kimAdmin.tok.ID || recs[0].Actor != "cli" {
		t.Errorf("token.revoke records after bootstrap: %+v; want one of token:%s by cli", recs, kimAdmin.tok.ID)
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
		len(detail.TokensRevoked) != 1 || detail.TokensRevoked[0] != kimAdmin.tok.ID {
		t.Errorf("console.bootstrap detail %s (%v): want reenabled, tokensRevoked [%s]", boot[0].Detail, err, kimAdmin.tok.ID)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s := start()
	t.Cleanup(func() { s.Close() })
	for _, tc := range []struct {
		name, path string
		tok        mintedToken
		want       int
	}{
		{"kim's admin token from before the disable", "/api/v1/reviews", kimAdmin, http.StatusUnauthorized},
		{"kim's SCIM token", "/scim/v2/Users", kimSCIM, http.StatusOK},
		{"the CLI's admin token", "/api/v1/reviews", cliAdmin, http.StatusOK},
	} {
		if w := bearerGet(s, tc.path, tc.tok.secret); w.Code != tc.want {
			t.Errorf("%s on %s after bootstrap and a start: %d %s, want %d", tc.name, tc.path, w.Code, w.Body, tc.want)
		}
	}
}
