package hub

import (
	"net/http"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestAdminTokenOfLeaversAccountRefused: ada, a hub's first admin, was
// made by `admin bootstrap` before the identity provider provisioned her
// (linked to nobody), and made an admin token and a SCIM token on the
// console. The identity provider then creates her hub user already
// disabled (active false): the user's creation links the account to her
// and leaves it enabled (the link disables nothing), so the console
// refuses her session, but nothing revoked her tokens. Her admin token is
// refused with 401 from the next request on, saying why, and the refusal
// is logged by token ID, never with the secret. It is not revoked: once
// the identity provider enables her, it works again, as her account
// does. Her SCIM token keeps provisioning, and ann's admin token (ann
// linked to nobody, no user of her name) and the CLI's keep working.
func TestAdminTokenOfLeaversAccountRefused(t *testing.T) {
	ctx := t.Context()
	m := newLeaverMakers(t)
	s, logs, adaAdmin, adaSCIM, annAdmin, cliAdmin := m.s, m.logs, m.adaAdmin, m.adaSCIM, m.annAdmin, m.cliAdmin
	if w := bearerGet(s, "/api/v1/reviews", adaAdmin.secret); w.Code != http.StatusOK {
		t.Fatalf("ada's admin token before her user came: %d %s, want 200", w.Code, w.Body)
	}

	u := m.adaArrivesDisabled(t)
	a, err := s.st.GetConsoleAccount(ctx, "acct-ada")
	if err != nil || a.UserID != u.ID || !a.Disabled.IsZero() || u.State != store.UserDisabled {
		t.Fatalf("ada's account after her disabled user came: %+v, %v; user %v; want it linked to u-ada and enabled", a, err, u.State)
	}

	for _, tc := range []struct {
		name, path string
		tok        mintedToken
		want       int
	}{
		{"ada's admin token", "/api/v1/reviews", adaAdmin, http.StatusUnauthorized},
		{"ada's SCIM token", "/scim/v2/Users", adaSCIM, http.StatusOK},
		{"ann's admin token", "/api/v1/reviews", annAdmin, http.StatusOK},
		{"the CLI's admin token", "/api/v1/reviews", cliAdmin, http.StatusOK},
	} {
		if w := bearerGet(s, tc.path, tc.tok.secret); w.Code != tc.want {
			t.Errorf("%s on %s after ada's user came disabled: %d %s, want %d", tc.name, tc.path, w.Code, w.Body, tc.want)
		}
	}
	w := bearerGet(s, "/api/v1/reviews", adaAdmin.secret)
	if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "hub user of console account ada") ||
		w.Header().Get("WWW-Authenticate") == "" {
		t.Errorf("ada's admin token: %d %v %s, want 401 with WWW-Authenticate saying her hub user has left", w.Code, w.Header(), w.Body)
	}
	if tok, err := s.st.GetToken(ctx, adaAdmin.tok.ID); err != nil || !tok.Revoked.IsZero() {
		t.Errorf("ada's admin token in the store: %+v, %v; want it not revoked", tok, err)
	}
	out := logs.String()
	if !strings.Contains(out, "admin API token refused") || !strings.Contains(out, adaAdmin.tok.ID) {
		t.Errorf("the refusal is not logged by token ID:\n%s", out)
	}
	if strings.Contains(out, adaAdmin.secret) {
		t.Errorf("the log holds the secret of ada's admin token")
	}

	m.enable(t, u)
	if w := bearerGet(s, "/api/v1/reviews", adaAdmin.secret); w.Code != http.StatusOK {
		t.Errorf("ada's admin token once her user is enabled: %d %s, want 200", w.Code, w.Body)
	}
}
