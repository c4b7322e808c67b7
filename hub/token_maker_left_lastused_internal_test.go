package hub

import (
	"net/http"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/token"
)

// TestRefusedMakerTokenNotMarkedUsed: an admin token refused because its
// maker's hub user has left keeps the last-used time it had: the Tokens
// page and token list showed it used at the refusal, though it did
// nothing. Once the maker may act again, its use is recorded as before,
// and so is that of a token accepted alongside.
func TestRefusedMakerTokenNotMarkedUsed(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	now := t0.Add(24 * time.Hour)

	ms := openMakersStore(t, dir, t0, "ada", "ann")
	adaAdmin := ms.mint(t, "ada-script", store.ScopeAdmin, "acct-ada")
	adaSCIM := ms.mint(t, "okta-prod", store.ScopeSCIM, "acct-ada")
	annAdmin := ms.mint(t, "ann-script", store.ScopeAdmin, "acct-ann")
	if err := ms.db.Close(); err != nil {
		t.Fatal(err)
	}
	s, _ := startMakersHub(t, dir, now)
	t.Cleanup(func() { s.Close() })

	okta := lifecycle.Actor{Name: token.Actor(adaSCIM.tok), System: "scim"}
	u, err := s.engine.CreateUser(ctx, okta, store.User{ID: "u-ada", UserName: "ada", Active: false})
	if err != nil {
		t.Fatal(err)
	}
	lastUsed := func(tok mintedToken) time.Time {
		t.Helper()
		got, err := s.st.GetToken(ctx, tok.tok.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.LastUsed
	}

	if w := bearerGet(s, "/api/v1/reviews", adaAdmin.secret); w.Code != http.StatusUnauthorized {
		t.Fatalf("ada's admin token after her user came disabled: %d %s, want 401", w.Code, w.Body)
	}
	if got := lastUsed(adaAdmin); !got.IsZero() {
		t.Errorf("ada's refused admin token last used %s, want never", got)
	}
	if w := bearerGet(s, "/api/v1/reviews", annAdmin.secret); w.Code != http.StatusOK {
		t.Fatalf("ann's admin token: %d %s, want 200", w.Code, w.Body)
	}
	if got := lastUsed(annAdmin); !got.Equal(now) {
		t.Errorf("ann's accepted admin token last used %s, want %s", got, now)
	}

	if _, err := s.engine.UpdateUser(ctx, okta, u.ID, func(u store.User) (store.User, error) {
		u.Active = true
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	if w := bearerGet(s, "/api/v1/reviews", adaAdmin.secret); w.Code != http.StatusOK {
		t.Fatalf("ada's admin token once her user is enabled: %d %s, want 200", w.Code, w.Body)
	}
	if got := lastUsed(adaAdmin); !got.Equal(now) {
		t.Errorf("ada's admin token, accepted once her user is enabled, last used %s, want %s", got, now)
	}
}
