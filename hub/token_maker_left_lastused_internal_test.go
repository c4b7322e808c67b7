package hub

import (
	"net/http"
	"testing"
	"time"
)

// TestRefusedMakerTokenNotMarkedUsed: an admin token refused because its
// maker's hub user has left keeps the last-used time it had: the Tokens
// page and token list showed it used at the refusal, though it did
// nothing. Once the maker may act again, its use is recorded as before,
// and so is that of a token accepted alongside.
func TestRefusedMakerTokenNotMarkedUsed(t *testing.T) {
	ctx := t.Context()
	m := newLeaverMakers(t)
	s, now, adaAdmin, annAdmin := m.s, m.now, m.adaAdmin, m.annAdmin
	u := m.adaArrivesDisabled(t)
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

	m.enable(t, u)
	if w := bearerGet(s, "/api/v1/reviews", adaAdmin.secret); w.Code != http.StatusOK {
		t.Fatalf("ada's admin token once her user is enabled: %d %s, want 200", w.Code, w.Body)
	}
	if got := lastUsed(adaAdmin); !got.Equal(now) {
		t.Errorf("ada's admin token, accepted once her user is enabled, last used %s, want %s", got, now)
	}
}
